"""The console's JSON under ``/pitstop/v1``: what the dashboard and the CLI read.

* ``GET /pitstop/v1/overview``: every visible endpoint's card (queue, running, last hour,
  workers by state, the last hour's series);
* ``GET /pitstop/v1/endpoints/{endpoint}``: one card;
* ``GET /pitstop/v1/endpoints/{endpoint}/jobs?status=&before=&after=&limit=``: a keyset page
  of jobs, newest first, with ``older``/``newer`` cursors;
* ``GET /pitstop/v1/endpoints/{endpoint}/stats?window=hour|day``: chart series;
* ``GET /pitstop/v1/jobs/{id}/timeline``: the job's events with offsets and durations;
* ``GET /pitstop/v1/jobs/{id}/chunks?from=N``: stream chunks from ``N`` (a replay: the
  ``/stream`` cursor of RunPod's clients is left alone);
* ``GET /pitstop/v1/jobs/{id}/input`` and ``/output``: the full value as a JSON download;
* ``GET /pitstop/v1/workers?endpoint=``: workers with state, jobs, process and host.

Access (a key, or the dashboard's session) is decided by
:func:`pitstop.dashboard.access.access`; what a request may not see answers 404.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

from pitstop.dashboard.access import access, require_endpoint
from pitstop.errors import BadRequest, NotFound
from pitstop.models import Job, JobStatus
from pitstop.server.bodies import dumps, json_response
from pitstop.server.console_views import (
    WINDOWS,
    endpoint_card,
    endpoint_stats,
    page_body,
    timeline_rows,
    workers_of,
)
from pitstop.server.errors import ERROR_RESPONSES
from pitstop.server.state import ServerState

PAGE_MAX = 500


def _state(request: Request) -> ServerState:
    state: ServerState = request.app.state.pitstop
    return state


def int_param(request: Request, name: str, default: int | None, lo: int, hi: int) -> int | None:
    """An integer query parameter clamped to ``[lo, hi]`` (400 when not an integer)."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return min(max(int(raw), lo), hi)
    except ValueError:
        raise BadRequest(f"query parameter {name!r} must be an integer") from None


def status_param(request: Request) -> JobStatus | None:
    """The ``status`` query parameter (400 for an unknown one)."""
    raw = request.query_params.get("status")
    try:
        return JobStatus(raw) if raw else None
    except ValueError:
        raise BadRequest(f"unknown status {raw!r}") from None


async def visible_job(request: Request, job_id: str) -> Job:
    """The job if it exists and the request may see its endpoint (404 otherwise)."""
    found = access(request)
    job = await _state(request).store.get(job_id)
    if job is None or not found.may_see(job.endpoint):
        raise NotFound(f"job {job_id!r} not found")
    return job


async def visible_endpoints_list(request: Request) -> list[str]:
    """Endpoints the store knows that the request may see."""
    return access(request).visible(await _state(request).store.endpoints())


async def overview(request: Request) -> Response:
    """Every visible endpoint's card."""
    state = _state(request)
    cards = [await endpoint_card(state, ep) for ep in await visible_endpoints_list(request)]
    return json_response({"now": state.now(), "endpoints": cards})


async def endpoint(request: Request, endpoint_id: str) -> Response:
    """One endpoint's card."""
    require_endpoint(request, endpoint_id)
    return json_response(await endpoint_card(_state(request), endpoint_id))


async def endpoint_jobs(request: Request, endpoint_id: str) -> Response:
    """A page of the endpoint's jobs, newest first (``before``/``after`` cursors)."""
    require_endpoint(request, endpoint_id)
    page = await _state(request).store.job_page(
        endpoint_id,
        status_param(request),
        before=int_param(request, "before", None, 0, 2**62),
        after=int_param(request, "after", None, 0, 2**62),
        limit=int_param(request, "limit", 50, 1, PAGE_MAX) or 50,
    )
    return json_response({"endpoint": endpoint_id, **page_body(page)})


async def endpoint_stats_route(request: Request, endpoint_id: str) -> Response:
    """Chart series of ended jobs and latencies (``window=hour`` or ``day``)."""
    require_endpoint(request, endpoint_id)
    window = request.query_params.get("window") or "hour"
    if window not in WINDOWS:
        raise BadRequest(f"window must be one of {sorted(WINDOWS)}")
    return json_response(await endpoint_stats(_state(request), endpoint_id, window))


async def timeline(request: Request, job_id: str) -> Response:
    """The job's timeline."""
    job = await visible_job(request, job_id)
    state = _state(request)
    rows = timeline_rows(job, await state.store.events(job_id), state.now())
    return json_response({"id": job.id, "status": job.status.value, "events": rows})


async def chunks(request: Request, job_id: str) -> Response:
    """Stream chunks with ``seq >= from`` (the RunPod stream cursor is not moved)."""
    await visible_job(request, job_id)
    start = int_param(request, "from", 0, 0, 2**62) or 0
    found = await _state(request).store.read_stream(job_id, start)
    if found is None:
        raise NotFound(f"job {job_id!r} not found")
    job, items = found
    return json_response(
        {
            "id": job.id,
            "status": job.status.value,
            "chunks": [{"seq": c.seq, "output": c.output} for c in items],
            "next": items[-1].seq + 1 if items else start,
        }
    )


def download(job: Job, what: str, value: Any) -> Response:
    """``value`` as a JSON file named after the job."""
    return Response(
        dumps(value),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{job.id}-{what}.json"'},
    )


async def job_input(request: Request, job_id: str) -> Response:
    """The job's full input as a JSON download."""
    job = await visible_job(request, job_id)
    return download(job, "input", job.input)


async def job_output(request: Request, job_id: str) -> Response:
    """The job's full output (404 before it has one) as a JSON download."""
    job = await visible_job(request, job_id)
    if not job.has_output:
        raise NotFound(f"job {job_id!r} has no output")
    return download(job, "output", job.output)


async def workers(request: Request) -> Response:
    """Workers seen in the last hour (``endpoint=`` for one endpoint)."""
    wanted = request.query_params.get("endpoint")
    if wanted:
        require_endpoint(request, wanted)
        names = [wanted]
    else:
        names = await visible_endpoints_list(request)
    return json_response({"workers": await workers_of(_state(request), names)})


ROUTES = (
    ("/pitstop/v1/overview", overview),
    ("/pitstop/v1/endpoints/{endpoint_id}", endpoint),
    ("/pitstop/v1/endpoints/{endpoint_id}/jobs", endpoint_jobs),
    ("/pitstop/v1/endpoints/{endpoint_id}/stats", endpoint_stats_route),
    ("/pitstop/v1/jobs/{job_id}/timeline", timeline),
    ("/pitstop/v1/jobs/{job_id}/chunks", chunks),
    ("/pitstop/v1/jobs/{job_id}/input", job_input),
    ("/pitstop/v1/jobs/{job_id}/output", job_output),
    ("/pitstop/v1/workers", workers),
)


def add_get_routes(app: FastAPI, routes: Sequence[tuple[str, Any]], tag: str) -> None:
    """Mount GET routes documented by their handlers' first docstring line."""
    for path, handler in routes:
        app.add_api_route(
            path,
            handler,
            methods=["GET"],
            tags=[tag],
            responses=ERROR_RESPONSES,
            summary=(handler.__doc__ or "").split("\n")[0],
            name=f"{tag}_{handler.__name__}",
        )


def add_console_routes(app: FastAPI) -> None:
    """Mount the console JSON routes (see the module docstring)."""
    add_get_routes(app, ROUTES, "console")
