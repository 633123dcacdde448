"""RunPod's worker API under ``/v2/{endpoint_id}/``, as the official SDK and pitstop's send it.

``job-take`` / ``job-take-batch`` long-poll on the endpoint's queue key and answer within
milliseconds of an enqueue; ``job-done`` takes a final result or a progress update (JSON
text, even under a form-urlencoded content type, possibly with ``NaN``); ``job-stream``
appends chunks; ``job-stop`` long-polls the worker's stop list; ``ping`` renews leases and
records the worker. pitstop extensions (see ``interfaces.md``): the ``X-Pitstop-Server``
header on take answers, ``X-Pitstop-Attempt`` fencing, ``job-log``, ``job-release`` (a
supervisor saw the worker exit: its jobs are requeued at once instead of after the lease).

The hot routes use no pydantic models: bodies are decoded once with orjson.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

from pitstop.errors import BadRequest, NotFound, StaleAttempt
from pitstop.models import JSON, Job, Outcome, Result, WorkerMeta
from pitstop.server.bodies import json_response, read_json
from pitstop.server.errors import ERROR_RESPONSES, WORKER_RESPONSES
from pitstop.server.state import ServerState, Unhealthy
from pitstop.storage.base import queue_key, stop_key

log = logging.getLogger("pitstop.server")

MAX_BATCH = 256
_OK = b'{"status":"ok"}'


def _state(request: Request) -> ServerState:
    state: ServerState = request.app.state.pitstop
    state.auth.worker(request)
    return state


def _attempt(request: Request) -> int | None:
    raw = request.headers.get("x-pitstop-attempt")
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        raise BadRequest("X-Pitstop-Attempt must be an integer") from None


def _check(outcome: Outcome, job_id: str, worker_id: str) -> Response:
    """Map a fenced write's outcome to the answer (409 stale, 404 unknown, else 200)."""
    if outcome is Outcome.STALE:
        raise StaleAttempt(f"worker {worker_id} no longer holds this attempt of job {job_id}")
    if outcome is Outcome.UNKNOWN:
        raise NotFound(f"job {job_id!r} not found")
    return json_response({"id": job_id, "outcome": outcome.value})


async def _claim(
    state: ServerState, request: Request, endpoint: str, worker_id: str, n: int, idle: bool
) -> list[Job]:
    """Claim up to ``n`` jobs, long-polling the queue key for ``take_wait`` when empty.

    The watch is entered before the first claim, so an empty queue costs one claim, not two
    (a claim before the watch would have to be repeated inside it, or miss a wakeup); the
    Redis store keeps the subscription between a worker's takes, so entering is cheap. An
    ``idle`` worker is recorded idle once a claim found nothing: a take that gets jobs at
    once is only recorded busy (one registry write instead of two).
    """
    store, cfg = state.store, state.config
    if cfg.take_wait <= 0:
        jobs = await store.claim(endpoint, worker_id, n, cfg.lease_s, state.now())
        if not jobs and idle:
            state.note_worker_soon(endpoint, worker_id, [])
        return jobs
    deadline = time.monotonic() + cfg.take_wait
    async with store.watch(queue_key(endpoint)) as watch:
        jobs = await store.claim(endpoint, worker_id, n, cfg.lease_s, state.now())
        if not jobs and idle:
            # Known idle from now on, not only once this long-poll answers.
            state.note_worker_soon(endpoint, worker_id, [])
        while not jobs:
            if await state.wait_until(watch, deadline) is not True:
                return []
            if await request.is_disconnected():
                return []
            jobs = await store.claim(endpoint, worker_id, n, cfg.lease_s, state.now())
        return jobs


async def _take(
    request: Request, endpoint: str, worker_id: str, n: int
) -> tuple[ServerState, list[Job]]:
    state = _state(request)
    idle = request.query_params.get("job_in_progress") != "1"
    jobs = await _claim(state, request, endpoint, worker_id, n, idle)
    if jobs and await request.is_disconnected():
        # Nobody will receive these jobs: give them back now rather than after the lease.
        await release(state, worker_id, [j.id for j in jobs])
        return state, []
    now = state.now()
    for job in jobs:
        state.metrics.taken(endpoint, job.id, job.created_at, now)
    if jobs:
        # A busy worker's empty take says nothing about what it runs: its pings do.
        state.note_worker_soon(endpoint, worker_id, [j.id for j in jobs])
    return state, jobs


async def job_take(request: Request, endpoint_id: str, worker_id: str) -> Response:
    """Take one job (200 with the job object) or 204 after ``take_wait`` with none."""
    state, jobs = await _take(request, endpoint_id, worker_id, 1)
    headers = {"X-Pitstop-Server": state.version}
    if not jobs:
        return Response(status_code=204, headers=headers)
    return json_response(jobs[0].worker_payload(), headers=headers)


async def job_take_batch(request: Request, endpoint_id: str, worker_id: str) -> Response:
    """Take up to ``batch_size`` jobs (200 with a JSON array) or 204 with none."""
    raw = request.query_params.get("batch_size", "1")
    try:
        n = min(max(int(raw), 1), MAX_BATCH)
    except ValueError:
        raise BadRequest("batch_size must be an integer") from None
    state, jobs = await _take(request, endpoint_id, worker_id, n)
    headers = {"X-Pitstop-Server": state.version}
    if not jobs:
        return Response(status_code=204, headers=headers)
    return json_response([j.worker_payload() for j in jobs], headers=headers)


def _error_text(value: JSON) -> str | None:
    """RunPod's ``error`` is always a string: falsy drops it, non-strings are JSON-encoded."""
    if not value:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str)


def parse_result(body: Any) -> Result:
    """A final ``job-done`` body (worker-protocol §2.3): ``output``/``error``/``stopPod``."""
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise BadRequest("job-done body must be a JSON object")
    return Result(
        output=body.get("output"),
        has_output="output" in body,
        error=_error_text(body.get("error")),
        stop_pod=bool(body.get("stopPod")),
    )


def _retention(state: ServerState, job_id: str) -> float:
    cfg = state.config
    return cfg.retention_sync_s if job_id.startswith("sync-") else cfg.retention_run_s


async def job_done(request: Request, endpoint_id: str, worker_id: str, job_id: str) -> Response:
    """A final result, or a progress update ``{"status": "IN_PROGRESS", "output": p}``."""
    state = _state(request)
    attempt = _attempt(request)
    body = await read_json(request, state.config.max_worker_body, "job-done body")
    store = state.store
    if isinstance(body, dict) and body.get("status") == "IN_PROGRESS":
        outcome = await store.set_progress(job_id, worker_id, attempt, body.get("output"))
        return _check(outcome, job_id, worker_id)
    result = parse_result(body)
    now = state.now()
    outcome = await store.finish(job_id, worker_id, attempt, result, now, _retention(state, job_id))
    if outcome is Outcome.ACCEPTED:
        state.metrics.done(job_id, result.status, now)
    return _check(outcome, job_id, worker_id)


async def job_stream(request: Request, endpoint_id: str, worker_id: str, job_id: str) -> Response:
    """Append stream chunks: RunPod's ``{"output": v}`` or pitstop's ``{"outputs": [...]}``."""
    state = _state(request)
    attempt = _attempt(request)
    body = await read_json(request, state.config.max_worker_body, "job-stream body")
    if isinstance(body, dict) and isinstance(body.get("outputs"), list):
        outputs: list[JSON] = body["outputs"]
    elif isinstance(body, dict) and "output" in body:
        outputs = [body["output"]]
    else:
        raise BadRequest('job-stream body must be {"output": value} or {"outputs": [values]}')
    outcome = Outcome.ACCEPTED
    for output in outputs:
        outcome = await state.store.append_chunk(job_id, worker_id, attempt, output)
        if outcome is not Outcome.ACCEPTED:
            break
    return _check(outcome, job_id, worker_id)


async def job_stop(request: Request, endpoint_id: str, worker_id: str) -> Response:
    """Long-poll the worker's stop list: 200 ``{"jobsToStop": [...]}`` or 204."""
    state = _state(request)
    store = state.store
    deadline = time.monotonic() + state.config.stop_wait
    async with store.watch(stop_key(worker_id)) as watch:
        while True:
            ids = await store.pop_stops(worker_id)
            if ids:
                return json_response({"jobsToStop": ids})
            if await state.wait_until(watch, deadline) is not True:
                return Response(status_code=204)
            if await request.is_disconnected():
                return Response(status_code=204)


async def ping(request: Request, endpoint_id: str, worker_id: str) -> Response:
    """Heartbeat: renew the leases of ``job_id`` (comma list), record the worker;
    ``status=unhealthy&check=&reason=`` marks the worker unhealthy."""
    state = _state(request)
    params = request.query_params
    job_ids = [j for j in params.get("job_id", "").split(",") if j]
    now = state.now()
    if params.get("status") == "unhealthy":
        state.unhealthy[worker_id] = Unhealthy(
            endpoint_id, params.get("check", ""), params.get("reason", ""), now
        )
    else:
        state.unhealthy.pop(worker_id, None)
    if job_ids:
        await state.store.renew(worker_id, job_ids, state.config.lease_s, now)
    await state.note_worker(
        endpoint_id,
        worker_id,
        job_ids,
        params.get("runpod_version"),
        force=True,
        meta=process_meta(params),
    )
    headers = {"X-Pitstop-Server": state.version}
    return Response(_OK, media_type="application/json", headers=headers)


def process_meta(params: Mapping[str, str]) -> WorkerMeta | None:
    """What a pitstop worker's ping says about its process (``pitstop_*``), or None."""
    if "pitstop_pid" not in params:
        return None

    def number(name: str, kind: type[int] | type[float]) -> Any:
        try:
            return kind(params[name]) if name in params else None
        except ValueError:
            return None

    return WorkerMeta(
        pid=number("pitstop_pid", int),
        host=(params.get("pitstop_host") or "")[:255] or None,
        started_at=number("pitstop_started", float),
        restarts=number("pitstop_restarts", int),
        gpus=(params.get("pitstop_gpus") or "")[:255] or None,
    )


async def release(state: ServerState, worker_id: str, job_ids: list[str] | None) -> list[str]:
    """Give up ``worker_id``'s leases (all, or ``job_ids``) and requeue those jobs at once.

    The requeue is the sweeper's lease-expiry pass run now: attempts are counted and a job
    whose attempts are used up fails, exactly as for a lease that ran out.
    """
    released = await state.store.release(worker_id, job_ids)
    if released:
        await state.store.expire_leases(state.now(), state.config.max_attempts)
        log.info("released %d job(s) of worker %s: %s", len(released), worker_id, released)
    return released


async def job_release(request: Request, endpoint_id: str, worker_id: str) -> Response:
    """pitstop: the worker is gone; requeue the jobs it holds at once (``{"ids": [...]}``
    limits it to those jobs). Called by supervisors when a worker process exits."""
    state = _state(request)
    body = await read_json(request, state.config.max_worker_body, "job-release body")
    ids = body.get("ids") if isinstance(body, dict) else None
    if ids is not None and not (isinstance(ids, list) and all(isinstance(i, str) for i in ids)):
        raise BadRequest('job-release body must be {} or {"ids": ["job id", ...]}')
    released = await release(state, worker_id, ids)
    return json_response({"released": released})


async def job_log(request: Request, endpoint_id: str, worker_id: str, job_id: str) -> Response:
    """pitstop: append handler log lines ``{"lines": [{"stream", "text"}]}`` to the job."""
    state = _state(request)
    body = await read_json(request, state.config.max_worker_body, "job-log body")
    lines = body.get("lines") if isinstance(body, dict) else None
    if not isinstance(lines, list):
        raise BadRequest('job-log body must be {"lines": [{"stream": ..., "text": ...}]}')
    pairs: list[tuple[str, str]] = []
    for line in lines:
        if not isinstance(line, dict) or not isinstance(line.get("text"), str):
            raise BadRequest("each log line must be an object with a string 'text'")
        pairs.append((str(line.get("stream") or "log"), line["text"]))
    if pairs:
        await state.store.append_logs(job_id, pairs, state.now())
    return Response(_OK, media_type="application/json")


Handler = Callable[..., Awaitable[Response]]

ROUTES: list[tuple[str, Handler, str]] = [
    ("job-take/{worker_id}", job_take, "GET"),
    ("job-take-batch/{worker_id}", job_take_batch, "GET"),
    ("job-done/{worker_id}/{job_id}", job_done, "POST"),
    ("job-stream/{worker_id}/{job_id}", job_stream, "POST"),
    ("job-stop/{worker_id}", job_stop, "GET"),
    ("ping/{worker_id}", ping, "GET"),
    ("job-log/{worker_id}/{job_id}", job_log, "POST"),
    ("job-release/{worker_id}", job_release, "POST"),
]


def add_worker_routes(app: FastAPI) -> None:
    """Mount the worker API under ``/v2/{endpoint_id}/``."""
    responses = {**ERROR_RESPONSES, **WORKER_RESPONSES}
    for path, handler, method in ROUTES:
        app.add_api_route(
            f"/v2/{{endpoint_id}}/{path}",
            handler,
            methods=[method],
            tags=["worker"],
            summary=(handler.__doc__ or "").split("\n")[0],
            responses=responses,
            name=f"worker_{handler.__name__}",
        )
