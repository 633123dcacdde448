"""Connections that send nothing cannot lock the server out: a header deadline and a cap.

uvicorn's httptools protocol has no deadline for a request head and accepts connections
until the process runs out of file descriptors, after which nobody (client or worker) gets
in while the idle ones stay open. :func:`guarded_protocol` builds a protocol class that:

* closes a connection whose request head is not complete ``header_timeout`` seconds after
  it opened, or after the first byte of its next request on a kept-alive connection
  (idle keep-alive connections are closed by uvicorn after ``keep_alive_timeout``); a
  head trickling in byte by byte does not extend the deadline;
* answers ``503 unavailable`` (``Retry-After: 1``) and closes at once any connection beyond
  ``max_connections``, which :func:`connection_cap` keeps below the file descriptor limit
  (``RLIMIT_NOFILE``) with a reserve for the store, webhooks and logs.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from pitstop.errors import Unavailable
from pitstop.server.bodies import dumps

log = logging.getLogger("pitstop.server")

RESERVE_MAX = 256
RESERVE_MIN = 32


def connection_cap(configured: int | None = None) -> int:
    """Open connections allowed: ``configured``, at most the fd limit minus a reserve
    (a quarter of the limit, between 32 and 256 descriptors)."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        soft = 1 << 20
    reserve = max(RESERVE_MIN, min(RESERVE_MAX, soft // 4))
    ceiling = max(1, soft - reserve)
    if configured is not None and configured > ceiling:
        log.warning(
            "max connections %d is above what %d file descriptors allow; using %d",
            configured,
            soft,
            ceiling,
        )
    return ceiling if configured is None else max(1, min(configured, ceiling))


def _refusal() -> bytes:
    error = Unavailable("too many open connections; retry shortly", retry_after=1)
    body = dumps(error.to_body())
    head = (
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n"
        f"retry-after: 1\r\nconnection: close\r\ncontent-length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


_REFUSAL = _refusal()


def guarded_protocol(header_timeout: float, max_connections: int) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol with the header deadline and connection cap above.

    A connection notes when its pending request head started, and when it went idle after
    a response (a float per request each); one sweep per server, every quarter of the
    shorter of ``header_timeout`` and the keep-alive timeout while connections are open,
    closes those past either deadline. uvicorn's own keep-alive timer is not armed: a timer
    armed and cancelled per request (a libuv handle each under uvloop) cost more than the
    rest of this module's work on a small request.
    """

    class GuardedProtocol(HttpToolsProtocol):
        """One HTTP connection (see the module docstring)."""

        _head_since: float | None = None
        _idle_since: float | None = None
        _sweep: asyncio.TimerHandle | None = None  # one per server (this class), shared

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            if len(self.connections) > max_connections:
                transport.write(_REFUSAL)
                transport.close()
                return
            self._head_since = self.loop.time()
            if GuardedProtocol._sweep is None:
                GuardedProtocol._sweep = self.loop.call_later(self._period(), self._sweep_heads)

        def data_received(self, data: bytes) -> None:
            self._idle_since = None
            if self._head_since is None and (self.cycle is None or self.cycle.response_complete):
                self._head_since = self.loop.time()  # the next request on a kept-alive one
            super().data_received(data)

        def on_response_complete(self) -> None:
            if self.pipeline or self.transport.is_closing():
                super().on_response_complete()
                return
            # uvicorn's steps, with the idle time noted instead of its keep-alive timer armed
            self.server_state.total_requests += 1
            self._unset_keepalive_if_required()
            self.flow.resume_reading()
            self._idle_since = self.loop.time()

        def _period(self) -> float:
            return max(0.01, min(header_timeout, self.timeout_keep_alive) / 4)

        def on_headers_complete(self) -> None:
            self._head_since = None
            super().on_headers_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._head_since = self._idle_since = None
            super().connection_lost(exc)

        def _sweep_heads(self) -> None:
            """Close every connection of this server whose request head is overdue or that
            has been idle longer than the keep-alive timeout."""
            GuardedProtocol._sweep = None
            now = self.loop.time()
            for conn in list(self.connections):
                if not isinstance(conn, GuardedProtocol):
                    continue
                head, idle = conn._head_since, conn._idle_since
                late = head is not None and now - head >= header_timeout
                if late or (idle is not None and now - idle >= conn.timeout_keep_alive):
                    conn._head_since = conn._idle_since = None
                    if not conn.transport.is_closing():
                        conn.transport.close()
            if self.connections:
                GuardedProtocol._sweep = self.loop.call_later(self._period(), self._sweep_heads)

    return GuardedProtocol


def protocol_options(header_timeout: float, configured_cap: int | None) -> dict[str, Any]:
    """The ``uvicorn.Config`` options that install the guarded protocol."""
    cap = connection_cap(configured_cap)
    log.info("accepting at most %d connections (header timeout %.1fs)", cap, header_timeout)
    return {"http": guarded_protocol(header_timeout, cap)}
