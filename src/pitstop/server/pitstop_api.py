"""pitstop's own routes under ``/pitstop/v1/`` (never seen by a RunPod client) and ``/metrics``.

Full job records, per-job logs, job lists and the endpoint list, for the CLI and dashboard
(the console's other reads are in :mod:`pitstop.server.console_api`). All need a client key
or a dashboard session, and show only the endpoints it opens
(:func:`pitstop.dashboard.access.access`); ``/metrics`` needs a client key.
"""

from __future__ import annotations

from fastapi import FastAPI
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response

from pitstop.dashboard.access import access, require_endpoint
from pitstop.server.bodies import json_response
from pitstop.server.console_api import add_get_routes, int_param, status_param, visible_job
from pitstop.server.state import ServerState
from pitstop.server.views import log_body, record_body, summary_body


def _state(request: Request) -> ServerState:
    state: ServerState = request.app.state.pitstop
    return state


async def get_job(request: Request, job_id: str) -> Response:
    """The full stored record of a job."""
    return json_response(record_body(await visible_job(request, job_id)))


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
    seen = access(request) if endpoint is None else require_endpoint(request, endpoint)
    limit = int_param(request, "limit", 50, 1, 1000) or 50
    jobs = await state.store.recent(endpoint, limit, status_param(request))
    return json_response({"jobs": [summary_body(j) for j in jobs if seen.may_see(j.endpoint)]})


async def list_endpoints(request: Request) -> Response:
    """Every endpoint that has jobs or workers."""
    state = _state(request)
    return json_response({"endpoints": access(request).visible(await state.store.endpoints())})


async def metrics(request: Request) -> Response:
    """Prometheus metrics (text exposition format)."""
    state = _state(request)
    state.auth.client(request)
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
        ("/metrics", metrics),
    )
    add_get_routes(app, routes, "pitstop")
