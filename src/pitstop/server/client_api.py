"""RunPod's client API under ``/v2/{endpoint_id}/``: run, runsync, status, stream, cancel, ...

Handlers take the Starlette request and answer with orjson responses directly; request
bodies are read with a size bound (413) and validated by :mod:`pitstop.server.submit`.
Long-polls (``runsync``, ``status-sync``, ``stream?wait=``) enter the job's watch before
looking at the job, so a change between the look and the wait is never missed.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

from pitstop.errors import BadRequest, NotFound
from pitstop.models import RETRYABLE_STATES, Job, NewJob
from pitstop.server.bodies import json_response, query_ms, query_value, read_json
from pitstop.server.errors import ERROR_RESPONSES, SUBMIT_RESPONSES
from pitstop.server.gpus import health_gpus
from pitstop.server.limits import describe
from pitstop.server.sse import event_stream, resume_after, wants_events
from pitstop.server.state import ServerState, state_of
from pitstop.server.submit import IDEMPOTENCY_HEADER, parse_submit
from pitstop.server.views import health_body, status_body, stream_body
from pitstop.storage.base import job_key

WAIT_MIN_MS, WAIT_MAX_MS = 1000.0, 300_000.0
TTL_MAX_MS = 10 * 365 * 86_400_000.0
"""Longest ``/status?ttl=`` (ten years; longer values are clamped to it)."""
_LOCAL_PATHS = ("run", "runsync", "status", "stream")


_state = state_of


def _missing(job_id: str) -> NotFound:
    return NotFound(f"job {job_id!r} not found (it never existed or its retention expired)")


def _owned(job: Job | None, endpoint: str, job_id: str) -> Job:
    """The job if it exists on ``endpoint``; a job of another endpoint is a 404 here."""
    if job is None or job.endpoint != endpoint:
        raise _missing(job_id)
    return job


def job_answer(body: dict[str, Any]) -> Response:
    """A status or stream body. A result stored before unrenderable ones were refused (by an
    older server) is replaced by an error naming why, so reads never fail on it."""
    try:
        return json_response(body)
    except TypeError as exc:  # orjson.JSONEncodeError
        body.pop("output", None)
        if "stream" in body:
            body["stream"] = []
        body["error"] = f"the stored result cannot be rendered: it {describe(exc)}"
        return json_response(body)


async def _get(state: ServerState, endpoint: str, job_id: str) -> Job:
    return _owned(await state.store.get(job_id), endpoint, job_id)


async def _wait_terminal(state: ServerState, endpoint: str, job_id: str, wait_s: float) -> Job:
    """The job once terminal, or as it is when ``wait_s`` runs out (the watch is armed first)."""
    deadline = time.monotonic() + wait_s
    async with state.store.watch(job_key(job_id)) as watch:
        while True:
            job = await _get(state, endpoint, job_id)
            if job.status.is_terminal:
                return job
            if await state.wait_until(watch, deadline) is not True:
                return await _get(state, endpoint, job_id)


async def _parse_submit(request: Request, endpoint_id: str, *, sync: bool) -> NewJob:
    """Authorise, read the (bounded) body and validate it into a new job."""
    state = _state(request)
    state.auth.client(request, endpoint_id)
    cfg = state.config
    body = await read_json(request, cfg.max_runsync_body if sync else cfg.max_run_body)
    key = request.headers.get(IDEMPOTENCY_HEADER)
    return parse_submit(body, endpoint_id, cfg, sync=sync, now=state.now(), idempotency_key=key)


async def _enqueue(state: ServerState, new: NewJob) -> Job:
    """Persist the job (429 when the queue is over ``max_queue``)."""
    job = await state.store.enqueue(new, max_queue=state.config.max_queue)
    if job.id == new.id:  # not an earlier job returned for a repeated Idempotency-Key
        state.metrics.submitted_one(new.endpoint)
    return job


async def run(request: Request, endpoint_id: str) -> Response:
    """Submit a job; answers ``{"id", "status": "IN_QUEUE"}`` once the job is durable."""
    new = await _parse_submit(request, endpoint_id, sync=False)
    job = await _enqueue(_state(request), new)
    return json_response({"id": job.id, "status": job.status.value})


async def runsync(request: Request, endpoint_id: str) -> Response:
    """Submit and wait (``?wait=`` ms, 1000-300000); on timeout the non-terminal status."""
    state = _state(request)
    new = await _parse_submit(request, endpoint_id, sync=True)
    wait_s = query_ms(request, "wait", state.config.runsync_wait * 1000, WAIT_MIN_MS, WAIT_MAX_MS)
    deadline = time.monotonic() + wait_s
    if new.idempotency is not None:  # the job may be an earlier one: wait for whichever
        job = await _enqueue(state, new)
        return json_response(status_body(await _wait_terminal(state, endpoint_id, job.id, wait_s)))
    async with state.store.watch(job_key(new.id)) as watch:
        job = await _enqueue(state, new)
        while not job.status.is_terminal:
            woken = await state.wait_until(watch, deadline)
            job = await _get(state, endpoint_id, new.id)
            if woken is not True:
                break
    return job_answer(status_body(job))


async def status(request: Request, endpoint_id: str, job_id: str) -> Response:
    """The job's status body; ``?ttl=`` (ms) keeps its record that long from now."""
    state = _state(request)
    state.auth.client(request, endpoint_id)
    if query_value(request, "ttl") is not None:
        seconds = query_ms(request, "ttl", 0, 0, TTL_MAX_MS)
        await _get(state, endpoint_id, job_id)
        job = _owned(
            await state.store.set_retention(job_id, seconds, state.now()), endpoint_id, job_id
        )
    else:
        job = await _get(state, endpoint_id, job_id)
    return job_answer(status_body(job))


async def status_sync(request: Request, endpoint_id: str, job_id: str) -> Response:
    """Like ``status`` but waits (``?wait=`` ms) until the job is terminal."""
    state = _state(request)
    state.auth.client(request, endpoint_id)
    wait_s = query_ms(request, "wait", state.config.runsync_wait * 1000, WAIT_MIN_MS, WAIT_MAX_MS)
    return job_answer(status_body(await _wait_terminal(state, endpoint_id, job_id, wait_s)))


async def stream(request: Request, endpoint_id: str, job_id: str) -> Response:
    """Chunks not yet read (cursor); ``?wait=`` ms long-polls until a chunk or terminal.
    With ``Accept: text/event-stream``: every chunk as Server-Sent Events (resumable)."""
    state = _state(request)
    state.auth.client(request, endpoint_id)
    if wants_events(request):
        job = await _get(state, endpoint_id, job_id)
        return event_stream(state, job, resume_after(request), state.config.sse_heartbeat)
    wait_s = query_ms(request, "wait", 0, 0, WAIT_MAX_MS)
    deadline = time.monotonic() + wait_s
    async with state.store.watch(job_key(job_id)) as watch:
        while True:
            found = await state.store.read_stream(job_id, endpoint=endpoint_id)
            if found is None:
                raise _missing(job_id)
            job, chunks = found
            if chunks or job.status.is_terminal:
                break
            if await state.wait_until(watch, deadline) is not True:
                break
    return job_answer(stream_body(job, chunks))


async def cancel(request: Request, endpoint_id: str, job_id: str) -> Response:
    """Cancel a queued or running job (a running one is stopped on its worker)."""
    state = _state(request)
    state.auth.client(request, endpoint_id)
    await _get(state, endpoint_id, job_id)
    job = _owned(await state.store.cancel(job_id, state.now()), endpoint_id, job_id)
    return json_response({"id": job.id, "status": job.status.value})


async def retry(request: Request, endpoint_id: str, job_id: str) -> Response:
    """Requeue a FAILED or TIMED_OUT job with the same id and input (400 otherwise)."""
    state = _state(request)
    state.auth.client(request, endpoint_id)
    job = await _get(state, endpoint_id, job_id)
    if job.status not in RETRYABLE_STATES:
        raise BadRequest(
            f"job {job_id} is {job.status.value}; only FAILED or TIMED_OUT jobs can be retried"
        )
    again = _owned(await state.store.retry(job_id, state.now()), endpoint_id, job_id)
    return json_response({"id": again.id, "status": again.status.value})


async def purge_queue(request: Request, endpoint_id: str) -> Response:
    """Cancel every queued job of the endpoint (running ones go on)."""
    state = _state(request)
    state.auth.client(request, endpoint_id)
    removed = await state.store.purge(endpoint_id, state.now())
    return json_response({"removed": removed, "status": "completed"})


async def health(request: Request, endpoint_id: str) -> Response:
    """Job counters and worker counters of the endpoint."""
    state = _state(request)
    state.auth.client(request, endpoint_id)
    since = state.now() - state.config.worker_seen_s
    counts = await state.store.counts(endpoint_id)
    workers = await state.store.workers(endpoint_id, since)
    body = health_body(counts, workers, state.unhealthy_ids(endpoint_id, since))
    gpus = health_gpus(workers, state.now())
    if gpus:
        body["gpus"] = gpus  # pitstop's addition; RunPod's keys stay as they are
    return json_response(body)


Handler = Callable[..., Awaitable[Response]]

# (path, handler, methods, has a job id)
ROUTES: list[tuple[str, Handler, list[str], bool]] = [
    ("run", run, ["POST"], False),
    ("runsync", runsync, ["POST"], False),
    ("status/{job_id}", status, ["GET", "POST"], True),
    ("status-sync/{job_id}", status_sync, ["GET", "POST"], True),
    ("stream/{job_id}", stream, ["GET", "POST"], True),
    ("cancel/{job_id}", cancel, ["POST"], True),
    ("retry/{job_id}", retry, ["POST"], True),
    ("purge-queue", purge_queue, ["POST"], False),
    ("health", health, ["GET"], False),
]


def _responses(path: str) -> dict[int | str, dict[str, Any]]:
    responses = dict(ERROR_RESPONSES)
    if path in ("run", "runsync"):
        responses.update(SUBMIT_RESPONSES)
    return responses


def _bind(handler: Handler, endpoint: str, with_job: bool) -> Handler:
    """The handler with a fixed endpoint (RunPod's un-prefixed local routes)."""
    if with_job:

        async def bound_job(request: Request, job_id: str) -> Response:
            return await handler(request, endpoint, job_id)

        return bound_job

    async def bound(request: Request) -> Response:
        return await handler(request, endpoint)

    return bound


def add_client_routes(app: FastAPI, local_endpoint: str | None = None) -> None:
    """Mount the client API under ``/v2/{endpoint_id}/``; with ``local_endpoint`` also at
    ``/run``, ``/runsync``, ``/status/{id}``, ``/stream/{id}`` (RunPod's local server paths)."""
    for path, handler, methods, with_job in ROUTES:
        summary = (handler.__doc__ or "").split("\n")[0]
        local = local_endpoint is not None and path.split("/")[0] in _LOCAL_PATHS
        for method in methods:
            op = f"{handler.__name__}_{method.lower()}"
            app.add_api_route(
                f"/v2/{{endpoint_id}}/{path}",
                handler,
                methods=[method],
                tags=["client"],
                summary=summary,
                responses=_responses(path),
                name=f"client_{op}",
                operation_id=f"client_{op}",
            )
            if local and local_endpoint is not None:
                app.add_api_route(
                    f"/{path}",
                    _bind(handler, local_endpoint, with_job),
                    methods=[method],
                    tags=["local"],
                    summary=f"{summary} (local endpoint)",
                    responses=_responses(path),
                    name=f"local_{op}",
                    operation_id=f"local_{op}",
                )
