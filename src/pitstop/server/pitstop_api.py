"""pitstop's own routes under ``/pitstop/v1/`` (never seen by a RunPod client) and ``/metrics``.

Full job records, per-job logs, job lists and the endpoint list, for the CLI and dashboard.
All need a client key. An endpoint key sees only its endpoints: other jobs are 404 and left
out of lists; ``/metrics`` (every endpoint at once) needs a global client key.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response

from pitstop.errors import BadRequest, NotFound
from pitstop.models import Job, JobStatus
from pitstop.server.auth import Access
from pitstop.server.bodies import json_response, query_value
from pitstop.server.errors import ERROR_RESPONSES
from pitstop.server.limits import check_id
from pitstop.server.state import ServerState
from pitstop.server.views import log_body, record_body, summary_body, webhook_view


def _state(request: Request) -> tuple[ServerState, Access]:
    state: ServerState = request.app.state.pitstop
    return state, state.auth.client(request)


async def _visible_job(state: ServerState, access: Access, job_id: str) -> Job:
    """The job if the key may see it; 404 otherwise (another endpoint's job is not there)."""
    job = await state.store.get(job_id)
    if job is None or not access.allows(job.endpoint):
        raise NotFound(f"job {job_id!r} not found")
    return job


def _int_param(request: Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = query_value(request, name)
    if raw is None:
        return default
    try:
        return min(max(int(raw), lo), hi)
    except ValueError:
        raise BadRequest(f"query parameter {name!r} must be an integer") from None


async def get_job(request: Request, job_id: str) -> Response:
    """The full stored record of a job, with its webhook deliveries."""
    state, access = _state(request)
    job = await _visible_job(state, access, job_id)
    record = record_body(job)
    record["webhooks"] = [webhook_view(d) for d in await state.store.webhook_deliveries(job_id)]
    return json_response(record)


async def get_logs(request: Request, job_id: str) -> Response:
    """Log lines a job's handler printed, after sequence number ``after``."""
    state, access = _state(request)
    after = _int_param(request, "after", -1, -1, 2**62)
    if not access.everything:
        await _visible_job(state, access, job_id)
    lines = await state.store.read_logs(job_id, after)
    if not lines and await state.store.get(job_id) is None:
        raise NotFound(f"job {job_id!r} not found")
    return json_response(log_body(job_id, lines))


async def list_jobs(request: Request) -> Response:
    """Recent jobs, newest first, optionally by ``endpoint`` and ``status``."""
    state, access = _state(request)
    raw_status = query_value(request, "status")
    try:
        status = JobStatus(raw_status) if raw_status else None
    except ValueError:
        raise BadRequest(f"unknown status {raw_status!r}") from None
    limit = _int_param(request, "limit", 50, 1, 1000)
    endpoint = query_value(request, "endpoint") or None
    if access.everything:
        jobs = await state.store.recent(endpoint, limit, status)
    else:
        wanted = access.endpoints if endpoint is None else access.endpoints & {endpoint}
        jobs = [j for ep in sorted(wanted) for j in await state.store.recent(ep, limit, status)]
        jobs = sorted(jobs, key=lambda j: j.created_at, reverse=True)[:limit]
    return json_response({"jobs": [summary_body(j) for j in jobs]})


async def list_endpoints(request: Request) -> Response:
    """Every endpoint that has jobs or workers (that the key may see)."""
    state, access = _state(request)
    names = [ep for ep in await state.store.endpoints() if access.allows(ep)]
    return json_response({"endpoints": names})


async def list_workers(request: Request, endpoint_id: str) -> Response:
    """The endpoint's workers seen lately; an unhealthy one with its last exit and error."""
    state: ServerState = request.app.state.pitstop
    state.auth.client(request, endpoint_id)
    check_id(endpoint_id, "endpoint id")
    since = state.now() - state.config.worker_seen_s
    reports = state.unhealthy_reports(endpoint_id, since)
    rows: dict[str, dict[str, Any]] = {}
    for worker in await state.store.workers(endpoint_id, since):
        rows[worker.id] = {
            "id": worker.id,
            "status": "running" if worker.job_ids else "idle",
            "lastSeen": worker.last_seen,
            "jobIds": list(worker.job_ids),
        }
    for worker_id, report in reports.items():
        row = rows.setdefault(worker_id, {"id": worker_id, "lastSeen": report.at, "jobIds": []})
        row.update(
            status="unhealthy",
            check=report.check,
            reason=report.reason,
            exitCode=report.exit_code,
            error=report.error,
            reportedAt=report.at,
        )
    return json_response({"endpoint": endpoint_id, "workers": list(rows.values())})


async def metrics(request: Request) -> Response:
    """Prometheus metrics (text exposition format); needs a key valid for every endpoint."""
    state: ServerState = request.app.state.pitstop
    state.auth.everything(request)
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
        ("/pitstop/v1/endpoints/{endpoint_id}/workers", list_workers),
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
