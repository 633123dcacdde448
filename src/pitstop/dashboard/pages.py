"""The dashboard's pages: overview, endpoint, job, workers, and sign-in.

Every page handler gets the request's :class:`~pitstop.dashboard.access.Access`; a request
without one is sent to the sign-in page before anything is read, so no job data is ever
rendered for it. ``?part=NAME`` renders one live section (see :mod:`.render`).
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pitstop.dashboard.access import (
    Access,
    access,
    check_same_origin,
    key_scope,
    read_form,
    set_session,
)
from pitstop.dashboard.render import render_page
from pitstop.errors import ApiError, NotFound, Unauthorized
from pitstop.models import Job, JobStatus
from pitstop.server.console_api import int_param, status_param
from pitstop.server.console_views import (
    endpoint_card,
    endpoint_workers,
    page_body,
    timeline_rows,
    workers_of,
)
from pitstop.server.state import ServerState
from pitstop.server.views import log_body

Page = Callable[[Request, Access], Awaitable[Response]]
LOG_LINES = 2000
"""Most log lines a job page shows at first (the newest); the full log is in the JSON API."""
CHUNKS = 200
"""Most stream chunks a job page shows at first (the newest)."""
CURL_INPUT_MAX = 16_384
"""Inputs longer than this (as JSON text) are referenced as a file in copy-as-curl."""


def state_of(request: Request) -> ServerState:
    """The server state of the app."""
    state: ServerState = request.app.state.pitstop
    return state


def page(handler: Page) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a page: sign-in redirect without access, API errors as a message page."""

    async def endpoint(request: Request) -> Response:
        try:
            found = access(request)
        except Unauthorized:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/dashboard/login?next={quote(target)}", 303)
        try:
            return await handler(request, found)
        except ApiError as exc:
            return message(request, found, exc.status, _heading(exc), str(exc))

    endpoint.__name__ = handler.__name__
    endpoint.__doc__ = handler.__doc__
    return endpoint


def _heading(exc: ApiError) -> str:
    return "Not found" if isinstance(exc, NotFound) else "Request refused"


def message(
    request: Request, found: Access | None, status: int, heading: str, text: str, **extra: Any
) -> Response:
    """A page with one message (errors, confirmations)."""
    context: dict[str, Any] = {"heading": heading, "message": text, "back": "/dashboard/"}
    context.update(nav="", confirm_action=None, confirm_label="")
    context.update(extra)
    return render_page(request, "message.html", context, found=found, status_code=status)


# -- overview and workers ----------------------------------------------------------------------


async def overview(request: Request, found: Access) -> Response:
    """Every endpoint at a glance."""
    state = state_of(request)
    names = found.visible(await state.store.endpoints())
    cards = [await endpoint_card(state, name) for name in names]
    return render_page(request, "overview.html", {"cards": cards, "nav": "overview"}, found=found)


async def workers(request: Request, found: Access) -> Response:
    """Every worker seen in the last hour."""
    state = state_of(request)
    rows = await workers_of(state, found.visible(await state.store.endpoints()))
    return render_page(request, "workers.html", {"workers": rows, "nav": "workers"}, found=found)


# -- endpoint ------------------------------------------------------------------------------------


async def endpoint(request: Request, found: Access) -> Response:
    """One endpoint: summary, charts, try-it, job list, workers, purge."""
    name = request.path_params["endpoint"]
    if not found.may_see(name):
        raise NotFound(f"endpoint {name!r} not found")
    state = state_of(request)
    base = f"/dashboard/endpoints/{quote(name, safe='')}"
    search = (request.query_params.get("id") or "").strip()
    if search:
        job = await state.store.get(search)
        if job is not None and job.endpoint == name:
            return RedirectResponse(f"/dashboard/jobs/{quote(search, safe='')}", 303)
    status = status_param(request)
    before = int_param(request, "before", None, 0, 2**62)
    after = int_param(request, "after", None, 0, 2**62)
    part = request.query_params.get("part")
    context: dict[str, Any] = {"endpoint": name, "base": base, "nav": ""}
    if part in (None, "summary"):
        context["card"] = await endpoint_card(state, name)
    if part in (None, "jobs"):
        job_page = await state.store.job_page(name, status, before=before, after=after, limit=50)
        context["page"] = page_body(job_page)
    if part in (None, "workers"):
        context["workers"] = await endpoint_workers(state, name)
    filters = {"status": status.value if status else None}
    context.update(
        status=filters["status"],
        statuses=[s.value for s in JobStatus],
        search=search,
        search_missing=bool(search),
        cursor=before is not None or after is not None,
        live_jobs=before is None and after is None,
        jobs_part_url=f"{base}?{_query(filters, part='jobs')}",
        query=lambda **cursor: _query(filters, **cursor),
        try_input=json.dumps({"prompt": "hello"}, indent=2),
    )
    return render_page(request, "endpoint.html", context, found=found)


def _query(filters: dict[str, Any], **extra: Any) -> str:
    """A query string from the filters plus ``extra`` (None values left out)."""
    merged = {**filters, **extra}
    return urlencode({k: v for k, v in merged.items() if v is not None})


# -- job ------------------------------------------------------------------------------------------


async def job(request: Request, found: Access) -> Response:
    """One job: status, timeline, result, stream, logs, input, actions."""
    job_id = request.path_params["job_id"]
    state = state_of(request)
    record = await state.store.get(job_id)
    if record is None or not found.may_see(record.endpoint):
        raise NotFound(f"job {job_id!r} not found (it never existed or its retention expired)")
    part = request.query_params.get("part")
    base = f"/dashboard/jobs/{quote(job_id, safe='')}"
    context: dict[str, Any] = {"job": record, "base": base, "nav": ""}
    context["final"] = record.status.is_terminal and await _webhooks_settled(state, record)
    if part in (None, "timeline"):
        context["timeline"] = timeline_rows(record, await state.store.events(job_id), state.now())
    if part in (None, "result"):
        context["error"] = error_parts(record.error)
    if part is None:
        context.update(await _stream_and_logs(state, record))
        context["curl"] = curl_command(str(request.base_url), record)
    return render_page(request, "job.html", context, found=found)


async def _webhooks_settled(state: ServerState, record: Job) -> bool:
    """Whether no webhook call of the job is still to come (the timeline can stop)."""
    if record.webhook is None:
        return True
    deliveries = await state.store.webhook_deliveries(record.id)
    limit = state.config.webhook_attempts
    return all(d.delivered or d.attempts >= limit for d in deliveries)


async def _stream_and_logs(state: ServerState, record: Job) -> dict[str, Any]:
    first = max(0, record.chunk_count - CHUNKS)
    found = await state.store.read_stream(record.id, first)
    chunks = found[1] if found else []
    lines = log_body(record.id, await state.store.read_logs(record.id, -1))["lines"]
    return {
        "chunks": chunks,
        "chunk_count": record.chunk_count,
        "chunks_first": first,
        "chunks_next": chunks[-1].seq + 1 if chunks else first,
        "logs": lines[-LOG_LINES:],
        "logs_after": lines[-1]["seq"] if lines else -1,
    }


def error_parts(error: str | None) -> dict[str, str] | None:
    """The message and traceback of a job's error.

    RunPod workers report a JSON object (``error_type``, ``error_message``,
    ``error_traceback``, ...) for a handler that raised, and ``handler: MESSAGE \ntraceback:
    TRACEBACK`` for a generator that raised; anything else is shown as it is.
    """
    if error is None:
        return None
    try:
        parsed = json.loads(error)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and ("error_message" in parsed or "error_traceback" in parsed):
        kind = re.sub(r"^<class '(.*)'>$", r"\1", str(parsed.get("error_type") or ""))
        text = str(parsed.get("error_message") or "")
        return {
            "message": f"{kind}: {text}" if kind else text,
            "traceback": str(parsed.get("error_traceback") or ""),
        }
    head, marker, tail = error.partition(" \ntraceback: ")
    if marker:
        return {"message": head.removeprefix("handler: "), "traceback": tail}
    return {"message": error, "traceback": ""}


def curl_command(base_url: str, record: Job) -> str:
    """A curl command that submits the same input again (the key comes from the shell)."""
    url = f"{base_url.rstrip('/')}/v2/{quote(record.endpoint, safe='')}/run"
    body = json.dumps({"input": record.input}, ensure_ascii=False)
    data = shlex.quote(body)
    if len(body) > CURL_INPUT_MAX:
        data = f"@{record.id}-input.json  # the input is large: download it first"
    return (
        f"curl -X POST {shlex.quote(url)} \\\n"
        "  -H 'Content-Type: application/json' \\\n"
        '  -H "Authorization: Bearer $PITSTOP_API_KEY" \\\n'
        f"  -d {data}"
    )


# -- sign in ---------------------------------------------------------------------------------------


def _next_target(raw: str | None) -> str:
    """Where to go after signing in: a dashboard path only (no open redirect)."""
    if raw and raw.startswith("/dashboard/") and not raw.startswith("//"):
        return raw
    return "/dashboard/"


async def login(request: Request) -> Response:
    """GET: the sign-in form. POST: check the key, set the session, go on."""
    auth = state_of(request).auth
    target = _next_target(request.query_params.get("next"))
    if auth.open_client:
        return RedirectResponse(target, 303)
    if request.method == "GET":
        return render_page(request, "login.html", {"next": target, "error": None, "nav": ""})
    check_same_origin(request)
    form = await read_form(request, 65_536)
    target = _next_target(form.get("next"))
    key = form.get("key", "").strip()
    try:
        key_scope(auth, key)
    except Unauthorized:
        context = {"next": target, "error": "That key is not valid here.", "nav": ""}
        return render_page(request, "login.html", context)
    response = RedirectResponse(target, 303)
    set_session(request, response, key)
    return response


def root(request: Request) -> Response:
    """``/`` leads to the dashboard."""
    return RedirectResponse("/dashboard/", 307)


PAGES: tuple[tuple[str, Callable[[Request], Awaitable[Response]]], ...] = (
    ("/dashboard/", page(overview)),
    ("/dashboard/workers", page(workers)),
    ("/dashboard/endpoints/{endpoint}", page(endpoint)),
    ("/dashboard/jobs/{job_id}", page(job)),
)
