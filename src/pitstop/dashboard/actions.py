"""The dashboard's actions: run, run sync, cancel, retry, purge, sign out. All POST + CSRF.

An action is the matching RunPod API call made on the user's behalf: after the CSRF and
access checks the request is handed to the ``/v2`` handler of :mod:`pitstop.server.client_api`
with the session's key, so validation, limits, metrics and answers are exactly the API's.
A form (no script) gets a redirect to the page showing the result; the page's script asks
for JSON (``Accept: application/json``) and gets the API's answer.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.types import Message

from pitstop.dashboard.access import (
    CSRF_FIELD,
    CSRF_HEADER,
    Access,
    access,
    check_csrf,
    check_same_origin,
    clear_session,
    read_form,
)
from pitstop.dashboard.pages import message, state_of
from pitstop.errors import ApiError, BadRequest, NotFound
from pitstop.models import JobStatus
from pitstop.server import client_api
from pitstop.server.bodies import dumps, read_body
from pitstop.server.errors import error_response

Handler = Callable[..., Awaitable[Response]]


def wants_json(request: Request) -> bool:
    """Whether the caller is the page's script (JSON) rather than a plain form."""
    return "application/json" in request.headers.get("accept", "")


async def _form_or_json(request: Request) -> tuple[dict[str, str], bytes | None]:
    """``(form fields, raw JSON body)``: a script sends JSON, a plain form sends fields."""
    if request.headers.get("content-type", "").startswith("application/json"):
        return {}, await read_body(request, state_of(request).config.max_runsync_body)
    return await read_form(request, state_of(request).config.max_runsync_body), None


def as_api_call(request: Request, found: Access, body: bytes | None) -> Request:
    """The request as the ``/v2`` handler should see it: the session's key, ``body``."""
    drop = {b"authorization", b"content-type", b"content-length", b"cookie"}
    headers = [(k, v) for k, v in request.scope["headers"] if k not in drop]
    if found.key is not None:
        headers.append((b"authorization", b"Bearer " + found.key.encode()))
    payload = body or b""
    headers += [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(payload))]
    scope = {**request.scope, "headers": headers, "query_string": b""}
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": payload, "more_body": False}
        return await request.receive()

    return Request(scope, receive)


async def _checked(request: Request, endpoint: str) -> tuple[Access, dict[str, str], bytes | None]:
    """CSRF and access checks; ``(access, form fields, raw JSON body)``."""
    fields, raw = await _form_or_json(request)
    found = check_csrf(request, request.headers.get(CSRF_HEADER) or fields.get(CSRF_FIELD))
    if not found.may_see(endpoint):
        raise NotFound(f"endpoint {endpoint!r} not found")
    return found, fields, raw


async def _act(
    request: Request, endpoint: str, handler: Handler, *args: str
) -> tuple[Any, Response]:
    """Checks, then ``handler`` as the API would run it; ``(decoded answer, response)``."""
    found, fields, raw = await _checked(request, endpoint)
    body = raw
    if body is None and "input" in fields:
        try:
            body = dumps({"input": json.loads(fields["input"] or "null")})
        except ValueError as exc:
            raise BadRequest(f"the input is not valid JSON: {exc}") from None
    answer = await handler(as_api_call(request, found, body), *args)
    return json.loads(bytes(answer.body)), answer


def action(
    run: Callable[[Request], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    """Errors as JSON for the script, as a message page for a form."""

    async def endpoint(request: Request) -> Response:
        try:
            return await run(request)
        except ApiError as exc:
            if wants_json(request):
                return error_response(exc)
            return message(request, None, exc.status, "Action refused", str(exc))

    endpoint.__name__ = run.__name__
    return endpoint


def _job_url(job_id: str) -> str:
    return f"/dashboard/jobs/{quote(job_id, safe='')}"


async def _submit(request: Request, handler: Handler) -> Response:
    name = request.path_params["endpoint"]
    answer, raw = await _act(request, name, handler, name)
    if wants_json(request):
        return raw
    return RedirectResponse(_job_url(answer["id"]), 303)


@action
async def run(request: Request) -> Response:
    """Queue a job (the try-it panel's Run)."""
    return await _submit(request, client_api.run)


@action
async def runsync(request: Request) -> Response:
    """Queue a job and wait for its result (Run sync)."""
    return await _submit(request, client_api.runsync)


async def _job_action(request: Request, handler: Handler) -> Response:
    job_id = request.path_params["job_id"]
    job = await state_of(request).store.get(job_id)
    if job is None or not access(request).may_see(job.endpoint):
        raise NotFound(f"job {job_id!r} not found")  # the same answer: nothing is told
    _answer, raw = await _act(request, job.endpoint, handler, job.endpoint, job_id)
    return raw if wants_json(request) else RedirectResponse(_job_url(job_id), 303)


@action
async def cancel(request: Request) -> Response:
    """Cancel a queued or running job."""
    return await _job_action(request, client_api.cancel)


@action
async def retry(request: Request) -> Response:
    """Retry a FAILED or TIMED_OUT job."""
    return await _job_action(request, client_api.retry)


@action
async def purge(request: Request) -> Response:
    """Cancel every queued job, after a confirmation (a script asks in a dialog; without
    one the server shows a confirmation page first)."""
    name = request.path_params["endpoint"]
    base = f"/dashboard/endpoints/{quote(name, safe='')}"
    found, fields, _raw = await _checked(request, name)
    if fields.get("confirm") != "1" and not wants_json(request):
        queued = (await state_of(request).store.counts(name)).get(JobStatus.IN_QUEUE.value, 0)
        text = f"Cancel the {queued} queued job(s) of {name}? Running jobs go on."
        return message(
            request,
            found,
            200,
            "Purge the queue?",
            text,
            confirm_action=f"{base}/purge",
            confirm_label="Purge queue",
            back=base,
        )
    answer = await client_api.purge_queue(as_api_call(request, found, None), name)
    return answer if wants_json(request) else RedirectResponse(base, 303)


@action
async def logout(request: Request) -> Response:
    """End the session (same-origin POST only)."""
    check_same_origin(request)
    response = RedirectResponse("/dashboard/login", 303)
    clear_session(request, response)
    return response


ACTIONS: tuple[tuple[str, Callable[[Request], Awaitable[Response]]], ...] = (
    ("/dashboard/endpoints/{endpoint}/run", run),
    ("/dashboard/endpoints/{endpoint}/runsync", runsync),
    ("/dashboard/endpoints/{endpoint}/purge", purge),
    ("/dashboard/jobs/{job_id}/cancel", cancel),
    ("/dashboard/jobs/{job_id}/retry", retry),
    ("/dashboard/logout", logout),
)
