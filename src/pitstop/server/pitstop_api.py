"""pitstop's own routes under ``/pitstop/v1/`` (never seen by a RunPod client) and ``/metrics``.

Full job records, per-job logs, job lists and the endpoint list, for the CLI and dashboard.
All need a client key.
"""

from __future__ import annotations

from fastapi import FastAPI
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response

from pitstop.errors import BadRequest, NotFound
from pitstop.models import JobStatus
from pitstop.server.bodies import json_response, query_value
from pitstop.server.errors import ERROR_RESPONSES
from pitstop.server.state import ServerState
from pitstop.server.views import log_body, record_body, summary_body


def _state(request: Request) -> ServerState:
    state: ServerState = request.app.state.pitstop
    state.auth.client(request)
    return state


def _int_param(request: Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = query_value(request, name)
    if raw is None:
        return default
    try:
        return min(max(int(raw), lo), hi)
    except ValueError:
        raise BadRequest(f"query parameter {name!r} must be an integer") from None


async def get_job(request: Request, job_id: str) -> Response:
    """The full stored record of a job."""
    state = _state(request)
    job = await state.store.get(job_id)
    if job is None:
        raise NotFound(f"job {job_id!r} not found")
    return json_response(record_body(job))


async def get_logs(request: Request, job_id: str) -> Response:
    """Log lines a job's handler printed, after sequence number ``after``."""
    state = _state(request)
    after = _int_param(request, "after", -1, -1, 2**62)
    lines = await state.store.read_logs(job_id, after)
    if not lines and await state.store.get(job_id) is None:
        raise NotFound(f"job {job_id!r} not found")
    return json_response(log_body(job_id, lines))


async def list_jobs(request: Request) -> Response:
    """Recent jobs, newest first, optionally by ``endpoint`` and ``status``."""
    state = _state(request)
    raw_status = query_value(request, "status")
    try:
        status = JobStatus(raw_status) if raw_status else None
    except ValueError:
        raise BadRequest(f"unknown status {raw_status!r}") from None
    limit = _int_param(request, "limit", 50, 1, 1000)
    jobs = await state.store.recent(query_value(request, "endpoint") or None, limit, status)
    return json_response({"jobs": [summary_body(j) for j in jobs]})


async def list_endpoints(request: Request) -> Response:
    """Every endpoint that has jobs or workers."""
    state = _state(request)
    return json_response({"endpoints": await state.store.endpoints()})


async def metrics(request: Request) -> Response:
    """Prometheus metrics (text exposition format)."""
    state = _state(request)
    since = state.now() - state.config.worker_seen_s
    text = await state.metrics.render(state.store, state.unhealthy_by_endpoint(since), since)
    return Response(text, media_type=CONTENT_TYPE_LATEST)


def add_pitstop_routes(app: FastAPI) -> None:
    """Mount ``/pitstop/v1/...`` and ``/metrics``."""
    for path, handler in (
        ("/pitstop/v1/jobs/{job_id}", get_job),
        ("/pitstop/v1/jobs/{job_id}/logs", get_logs),
        ("/pitstop/v1/jobs", list_jobs),
        ("/pitstop/v1/endpoints", list_endpoints),
        ("/metrics", metrics),
    ):
        app.add_api_route(
            path,
            handler,
            methods=["GET"],
            tags=["pitstop"],
            responses=ERROR_RESPONSES,
            summary=(handler.__doc__ or "").split("\n")[0],
            name=f"pitstop_{handler.__name__}",
        )
