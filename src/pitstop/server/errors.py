"""Every error the server answers has one shape: ``{"error": {"code", "message"}}``.

Installed on the app by :func:`install_error_handlers`: pitstop's :class:`ApiError` tree keeps
its status; FastAPI's validation errors become 400 (never 422); Starlette's HTTP errors (404
unknown route, 405 wrong method) keep their status in pitstop's shape; anything unexpected is
logged and answered as a JSON 500. :data:`ERROR_RESPONSES` documents them in the OpenAPI.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match

from pitstop.errors import (
    ApiError,
    BadRequest,
    NotFound,
    PayloadTooLarge,
    ServerError,
    StaleAttempt,
    Unauthorized,
)
from pitstop.server.bodies import json_response

log = logging.getLogger("pitstop.server")

_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {},
            },
            "required": ["code", "message"],
        }
    },
    "required": ["error"],
}


def _doc(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ERROR_SCHEMA}}}


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _doc("Malformed JSON, missing or mistyped fields, bad query parameters."),
    401: _doc("Missing or wrong API key (`Authorization: Bearer KEY` or bare `KEY`)."),
    404: _doc("Unknown job (never existed or retention expired) or unknown route."),
    500: _doc("Unexpected server failure."),
    503: _doc(
        "`store_unavailable`: the store is down, timing out, full or read-only; "
        "`unavailable`: too many connections or request bytes in flight. Nothing was "
        "stored: send again after `Retry-After` seconds."
    ),
}
"""Errors any route may answer (added to every route's OpenAPI entry)."""

SUBMIT_RESPONSES: dict[int | str, dict[str, Any]] = {
    413: _doc("Body over the limit (10 MB for run, 20 MB for runsync by default)."),
    429: _doc("The endpoint's queue is over `max_queue`; retry after `Retry-After` seconds."),
    409: _doc("`idempotency_conflict`: the Idempotency-Key names a job with another body."),
}
WORKER_RESPONSES: dict[int | str, dict[str, Any]] = {
    409: _doc("The worker reported on an attempt of the job it no longer holds (fencing)."),
    413: _doc("Body over the worker body limit."),
}

_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    404: NotFound,
    409: StaleAttempt,
    413: PayloadTooLarge,
}


def error_response(error: ApiError) -> Response:
    """The JSON response for an :class:`ApiError` (``Retry-After`` for 429 and 503)."""
    headers = None
    retry_after = getattr(error, "retry_after", None)
    if retry_after is not None:
        headers = {"Retry-After": str(max(1, math.ceil(retry_after)))}
    return json_response(error.to_body(), status_code=error.status, headers=headers)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = "; ".join(
        f"{'.'.join(str(p) for p in err.get('loc', ()))}: {err.get('msg', 'invalid')}"
        for err in exc.errors()
    )
    return error_response(BadRequest(f"invalid request: {problems}"))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    cls = _BY_STATUS.get(exc.status_code)
    if cls is not None:
        error: ApiError = cls(str(exc.detail))
    else:
        error = ServerError(str(exc.detail))
        error.status = exc.status_code
        error.code = "method_not_allowed" if exc.status_code == 405 else "http_error"
    response = error_response(error)
    response.headers.update(exc.headers or {})
    if exc.status_code == 405:
        response.headers["Allow"] = ", ".join(_allowed(request))
    return response


def _allowed(request: Request) -> list[str]:
    """Every method some route serves at this path (Starlette's 405 names only the methods
    of the first route matching the path, and pitstop mounts one route per method)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches({**request.scope, "method": "GET"})
        if match is not Match.NONE:
            methods.update(getattr(route, "methods", None) or ())
    return sorted(methods)


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return error_response(ServerError(f"internal server error: {type(exc).__name__}"))


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers above on ``app``."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
