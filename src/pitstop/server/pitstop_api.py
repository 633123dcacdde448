"""pitstop's own routes under ``/pitstop/v1/`` (never seen by a RunPod client) and ``/metrics``.

Full job records, per-job logs, job lists and the endpoint list, for the CLI and dashboard
(the console's other reads are in :mod:`pitstop.server.console_api`). All need a client key
or a dashboard session, and show only the endpoints it opens
(:func:`pitstop.dashboard.access.access`: an endpoint key sees only its endpoints, other jobs
are 404 and left out of lists); ``/metrics`` needs a key valid for every endpoint.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response

from pitstop.dashboard.access import access, require_endpoint
from pitstop.server.bodies import json_response
from pitstop.server.console_api import add_get_routes, int_param, status_param, visible_job
from pitstop.server.gpus import device_rows
from pitstop.server.limits import check_id
from pitstop.server.state import ServerState
from pitstop.server.views import log_body, record_body, summary_body, webhook_view


def _state(request: Request) -> ServerState:
    state: ServerState = request.app.state.pitstop
    return state


async def get_job(request: Request, job_id: str) -> Response:
    """The full stored record of a job, with its webhook deliveries."""
    state = _state(request)
    record = record_body(await visible_job(request, job_id))
    record["webhooks"] = [webhook_view(d) for d in await state.store.webhook_deliveries(job_id)]
    return json_response(record)


async def get_logs(request: Request, job_id: str) -> Response:
    """Log lines a job's handler printed, after sequence number ``after``."""
    state = _state(request)
    await visible_job(request, job_id)
    after = int_param(request, "after", -1, -1, 2**62)
    lines = await state.store.read_logs(job_id, -1 if after is None else after)
    return json_response(log_body(job_id, lines))


async def list_jobs(request: Request) -> Response:
    """Recent jobs, newest first, optionally by ``endpoint`` and ``status``."""
    state = _state(request)
    endpoint = request.query_params.get("endpoint") or None
    if endpoint is not None:
        check_id(endpoint, "endpoint id")
    seen = access(request)
    limit = int_param(request, "limit", 50, 1, 1000) or 50
    status = status_param(request)
    if endpoint is not None and not seen.may_see(endpoint):
        jobs = []  # another endpoint's jobs are left out, as from every listing
    else:
        jobs = await state.store.recent(endpoint, limit, status)
    return json_response({"jobs": [summary_body(j) for j in jobs if seen.may_see(j.endpoint)]})


async def list_endpoints(request: Request) -> Response:
    """Every endpoint that has jobs or workers."""
    state = _state(request)
    return json_response({"endpoints": access(request).visible(await state.store.endpoints())})


async def list_workers(request: Request, endpoint_id: str) -> Response:
    """The endpoint's workers seen lately (with their GPUs); an unhealthy one with its last
    exit and error."""
    state = _state(request)
    check_id(endpoint_id, "endpoint id")
    require_endpoint(request, endpoint_id)
    since = state.now() - state.config.worker_seen_s
    reports = state.unhealthy_reports(endpoint_id, since)
    rows: dict[str, dict[str, Any]] = {}
    now = state.now()
    for worker in await state.store.workers(endpoint_id, since):
        rows[worker.id] = {
            "id": worker.id,
            "status": "running" if worker.job_ids else "idle",
            "lastSeen": worker.last_seen,
            "jobIds": list(worker.job_ids),
            "gpuDevices": device_rows(worker, now),
        }
    for worker_id, report in reports.items():
        row = rows.setdefault(
            worker_id, {"id": worker_id, "lastSeen": report.at, "jobIds": [], "gpuDevices": []}
        )
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
    state = _state(request)
    state.auth.everything(request)
    since = state.now() - state.config.worker_seen_s
    text = await state.metrics.render(state.store, state.unhealthy_by_endpoint(since), since)
    return Response(text, media_type=CONTENT_TYPE_LATEST)


def add_pitstop_routes(app: FastAPI) -> None:
    """Mount ``/pitstop/v1/...`` and ``/metrics``."""
    routes = (
        ("/pitstop/v1/jobs/{job_id}", get_job),
        ("/pitstop/v1/jobs/{job_id}/logs", get_logs),
        ("/pitstop/v1/jobs", list_jobs),
        ("/pitstop/v1/endpoints", list_endpoints),
        ("/pitstop/v1/endpoints/{endpoint_id}/workers", list_workers),
        ("/metrics", metrics),
    )
    add_get_routes(app, routes, "pitstop")
