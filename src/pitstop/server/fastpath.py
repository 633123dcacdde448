"""A direct dispatcher for the ``/v2/{endpoint}/...`` routes, in front of FastAPI.

FastAPI's routing, dependency solving and middleware cost about 200 µs per request, as much
as a store round trip; the worker and client hot paths (``run``, ``job-take``, ``job-done``,
...) are called several times per job. This app class matches those paths by
splitting the path and calls the same handler functions FastAPI would, with the same error
handling (:func:`pitstop.server.errors.error_response`). Anything it does not recognise
(wrong method, extra segments, other paths) goes on to FastAPI, which also serves the
OpenAPI description of every route.

Both paths pass through :meth:`FastPathApp.__call__` first, so that is where the endpoint and
worker ids of every ``/v2`` path are validated (:func:`check_path_ids`): a bad id is a 400
before any handler or store sees it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from pitstop.errors import ApiError, ServerError
from pitstop.server import client_api, worker_api
from pitstop.server.errors import error_response
from pitstop.server.inflight import counted
from pitstop.server.limits import check_id
from pitstop.server.state import ServerState
from pitstop.server.urls import repair_query_in_path

log = logging.getLogger("pitstop.server")

Handler = Callable[..., Awaitable[Response]]


def _table() -> dict[tuple[str, str, int], Handler]:
    """(operation, method, number of path arguments after it) -> handler."""
    table: dict[tuple[str, str, int], Handler] = {}
    for path, handler, methods, _ in client_api.ROUTES:
        op, *rest = path.split("/")
        for method in methods:
            table[(op, method, len(rest))] = handler
    for path, handler, method in worker_api.ROUTES:
        op, *rest = path.split("/")
        table[(op, method, len(rest))] = handler
    return table


_WORKER_OPS = frozenset(path.split("/")[0] for path, _, _ in worker_api.ROUTES)


def check_path_ids(path: str) -> None:
    """Raise BadRequest when a ``/v2/{endpoint}/...`` path has an invalid endpoint id, or a
    worker route an invalid worker id (the segment after the operation)."""
    if not path.startswith("/v2/"):
        return
    parts = path.split("/", 5)  # ["", "v2", endpoint, op, worker, ...]
    check_id(parts[2], "endpoint id")
    if len(parts) > 4 and parts[3] in _WORKER_OPS:
        check_id(parts[4], "worker id")


class FastPathApp(FastAPI):
    """FastAPI, except that known ``/v2`` routes are dispatched directly (see module doc).

    Dispatching before ``FastAPI.__call__`` also skips its middleware stack (error, telemetry
    and body-limit layers), so the fast path handles its own errors the same way. Every
    HTTP request's body bytes count against the server's in-flight budget
    (:mod:`pitstop.server.inflight`).
    """

    pitstop: ServerState
    """Set by :func:`pitstop.server.app.create_app` (see :func:`~pitstop.server.state.state_of`)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fast_routes = _table()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        repair_query_in_path(scope)
        try:
            check_path_ids(scope["path"])
        except ApiError as exc:
            await error_response(exc)(scope, receive, send)
            return
        await counted(self.pitstop.inflight, scope, receive, send, self._dispatch)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler, args = self._match(scope)
        if handler is None:
            await super().__call__(scope, receive, send)
            return
        scope["app"] = self
        request = Request(scope, receive)
        try:
            response = await handler(request, *args)
        except ApiError as exc:
            response = error_response(exc)
        except Exception as exc:
            response = _unexpected(request, exc)
        await response(scope, receive, send)

    def _match(self, scope: Scope) -> tuple[Handler | None, list[str]]:
        if scope["type"] != "http":
            return None, []
        path: str = scope["path"]
        if not path.startswith("/v2/"):
            return None, []
        parts = path.split("/")  # ["", "v2", endpoint, op, *args]
        if len(parts) < 4 or not parts[2] or not all(parts[4:]):
            return None, []
        handler = self.fast_routes.get((parts[3], scope["method"], len(parts) - 4))
        return handler, [parts[2], *parts[4:]]


def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return error_response(ServerError(f"internal server error: {type(exc).__name__}"))
