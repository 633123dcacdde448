"""RunPod's worker API under ``/v2/{endpoint_id}/``, as the official SDK and pitstop's send it.

``job-take`` / ``job-take-batch`` long-poll on the endpoint's queue key and answer within
milliseconds of an enqueue (:mod:`pitstop.server.take`); ``job-done`` takes a final result or a progress update (JSON
text, even under a form-urlencoded content type, possibly with ``NaN``); ``job-stream``
appends chunks; ``job-stop`` long-polls the worker's stop list; ``ping`` renews leases and
records the worker. pitstop extensions (see ``interfaces.md``): the ``X-Pitstop-Server``
header on take answers, ``X-Pitstop-Attempt`` fencing, ``job-done-batch`` (several results
in one request, :mod:`pitstop.server.results`), ``job-log``, ``job-release`` (a supervisor
saw the worker exit: its jobs are requeued at once instead of after the lease).

The hot routes use no pydantic models: bodies are decoded once with orjson. A result or
chunk the server could not render again (:mod:`pitstop.server.limits`) is refused with 400
and ends the job FAILED with the reason; progress and log lines are only refused.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

from pitstop.errors import BadRequest
from pitstop.models import JSON, Fence, Outcome, WorkerMeta
from pitstop.server.bodies import json_response, query_value, read_json
from pitstop.server.errors import ERROR_RESPONSES, WORKER_RESPONSES
from pitstop.server.limits import check_value, unrenderable
from pitstop.server.results import (
    MAX_ATTEMPT,
    accept,
    check_outcome,
    job_done_batch,
    refuse_result,
)
from pitstop.server.state import ServerState, Unhealthy, state_of
from pitstop.server.take import release, take_payloads
from pitstop.storage.base import stop_key

log = logging.getLogger("pitstop.server")

MAX_BATCH = 256
_OK = b'{"status":"ok"}'
_JSON = "application/json"


def _state(request: Request) -> ServerState:
    state = state_of(request)
    state.auth.worker(request)
    return state


def _attempt(request: Request) -> int | None:
    raw = request.headers.get("x-pitstop-attempt")
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if not 0 <= value <= MAX_ATTEMPT:
        raise BadRequest(f"X-Pitstop-Attempt must be an integer from 0 to {MAX_ATTEMPT}")
    return value


def _check(outcome: Outcome, job_id: str, worker_id: str) -> Response:
    """Map a fenced write's outcome to the answer (409 stale, 404 unknown, else 200)."""
    check_outcome(outcome, job_id, worker_id)
    return json_response({"id": job_id, "outcome": outcome.value})


async def job_take(request: Request, endpoint_id: str, worker_id: str) -> Response:
    """Take one job (200 with the job object) or 204 after ``take_wait`` with none."""
    state = _state(request)
    payloads = await take_payloads(state, request, endpoint_id, worker_id, 1)
    headers = {"X-Pitstop-Server": state.version}
    if not payloads:
        return Response(status_code=204, headers=headers)
    return Response(payloads[0], media_type=_JSON, headers=headers)


async def job_take_batch(request: Request, endpoint_id: str, worker_id: str) -> Response:
    """Take up to ``batch_size`` jobs (200 with a JSON array) or 204 with none."""
    state = _state(request)
    raw = query_value(request, "batch_size", "1")
    try:
        n = min(max(int(raw or ""), 1), MAX_BATCH)
    except ValueError:
        raise BadRequest("batch_size must be an integer") from None
    payloads = await take_payloads(state, request, endpoint_id, worker_id, n)
    headers = {"X-Pitstop-Server": state.version}
    if not payloads:
        return Response(status_code=204, headers=headers)
    return Response(b"[" + b",".join(payloads) + b"]", media_type=_JSON, headers=headers)


async def job_done(request: Request, endpoint_id: str, worker_id: str, job_id: str) -> Response:
    """A final result, or a progress update ``{"status": "IN_PROGRESS", "output": p}``."""
    state = _state(request)
    attempt = _attempt(request)
    body = await read_json(request, state.config.max_worker_body, "job-done body")
    outcome = await accept(state, worker_id, job_id, attempt, body)
    return json_response({"id": job_id, "outcome": outcome.value})


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
    why = unrenderable(outputs, levels=1)
    if why is not None:
        await refuse_result(state, worker_id, job_id, attempt, f"stream output {why}")
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
    ``status=unhealthy&check=&reason=`` marks the worker unhealthy (pitstop's supervisor adds
    ``exit_code=`` and ``error=`` for a crashed worker process)."""
    state = _state(request)
    job_ids = [j for j in (query_value(request, "job_id") or "").split(",") if j]
    now = state.now()
    if query_value(request, "status") == "unhealthy":
        state.unhealthy[worker_id] = _unhealthy(endpoint_id, request.query_params, now)
    else:
        state.unhealthy.pop(worker_id, None)
    if job_ids:
        await state.store.renew(worker_id, job_ids, state.config.lease_s, now)
    await state.note_worker(
        endpoint_id,
        worker_id,
        job_ids,
        query_value(request, "runpod_version"),
        force=True,
        meta=process_meta(request.query_params),
    )
    headers = {"X-Pitstop-Server": state.version}
    return Response(_OK, media_type=_JSON, headers=headers)


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


async def job_release(request: Request, endpoint_id: str, worker_id: str) -> Response:
    """pitstop: the worker is gone; requeue the jobs it holds at once (``{"ids": [...]}``
    limits it to those jobs). Called by supervisors when a worker process exits."""
    state = _state(request)
    body = await read_json(request, state.config.max_worker_body, "job-release body")
    if body is not None and not isinstance(body, dict):
        raise BadRequest('job-release body must be {} or {"ids": ["job id", ...]}')
    ids = body.get("ids") if body is not None else None
    if ids is not None and not (isinstance(ids, list) and all(isinstance(i, str) for i in ids)):
        raise BadRequest('job-release body must be {} or {"ids": ["job id", ...]}')
    released = await release(state, worker_id, ids)
    return json_response({"released": released})


def _unhealthy(endpoint_id: str, params: Mapping[str, str], now: float) -> Unhealthy:
    """An ``unhealthy`` ping's report; text fields are cut short, a bad exit code dropped."""
    raw_code = params.get("exit_code", "")
    exit_code = int(raw_code) if raw_code.lstrip("-").isdigit() and len(raw_code) < 12 else None
    return Unhealthy(
        endpoint_id,
        params.get("check", "")[:64],
        params.get("reason", "")[:512],
        now,
        exit_code=exit_code,
        error=params.get("error", "")[:512],
    )


def _log_lines(body: Any) -> list[tuple[str, str]]:
    """``(stream, text)`` pairs of a job-log body (400 unless every line is well formed)."""
    lines = body.get("lines") if isinstance(body, dict) else None
    if not isinstance(lines, list):
        raise BadRequest('job-log body must be {"lines": [{"stream": ..., "text": ...}]}')
    pairs: list[tuple[str, str]] = []
    for line in lines:
        if not isinstance(line, dict):
            raise BadRequest("each log line must be an object")
        stream, text = line.get("stream"), line.get("text")
        if not isinstance(stream, (str, type(None))) or not isinstance(text, str):
            raise BadRequest("each log line needs a string 'text' (and a string 'stream')")
        pairs.append((stream or "log", text))
    check_value(pairs, "lines")
    return pairs


async def job_log(request: Request, endpoint_id: str, worker_id: str, job_id: str) -> Response:
    """pitstop: append handler log lines ``{"lines": [{"stream", "text"}]}`` to the job
    (fenced like ``job-done``: only the worker holding the job's current attempt)."""
    state = _state(request)
    attempt = _attempt(request)
    body = await read_json(request, state.config.max_worker_body, "job-log body")
    pairs = _log_lines(body)
    if pairs:
        fence = Fence(worker_id, attempt, endpoint_id)
        outcome = await state.store.append_logs(job_id, pairs, state.now(), fence)
        if outcome in (Outcome.STALE, Outcome.UNKNOWN):
            _check(outcome, job_id, worker_id)
    return Response(_OK, media_type=_JSON)


Handler = Callable[..., Awaitable[Response]]

ROUTES: list[tuple[str, Handler, str]] = [
    ("job-take/{worker_id}", job_take, "GET"),
    ("job-take-batch/{worker_id}", job_take_batch, "GET"),
    ("job-done/{worker_id}/{job_id}", job_done, "POST"),
    ("job-done-batch/{worker_id}", job_done_batch, "POST"),
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
