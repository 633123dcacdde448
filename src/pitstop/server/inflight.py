"""A bound on request body bytes held at once, across all requests (``max_inflight_bytes``).

Per-request limits (413) do not bound memory: 48 parallel 20 MB ``/runsync`` bodies are
within every limit and still took a server to 2.9 GB, since a body (and what it is decoded
into) stays in memory while its request runs. :func:`counted` wraps an ASGI request: body
bytes are counted as they arrive and released when the request ends, and a request whose
declared ``Content-Length`` cannot fit now is refused before anything is read. Past the
budget the answer is ``503 unavailable`` with ``Retry-After`` (nothing was done); one
request alone is always admitted (its route's body limit bounds it), so a budget below a
route's limit cannot starve that route.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.types import Message, Receive, Scope, Send

from pitstop.errors import Unavailable
from pitstop.server.errors import error_response

RETRY_AFTER_S = 1.0


class ByteBudget:
    """Bytes of request bodies currently held, against a limit."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def admit(self, n: int, own: int = 0) -> None:
        """Raise 503 unless ``n`` more bytes fit now, for a request already holding ``own``
        (a request alone always fits). Nothing is reserved."""
        if self.used > own and self.used + n > self.limit:
            raise Unavailable(
                f"too many request bytes in flight (limit {self.limit}); retry shortly",
                retry_after=RETRY_AFTER_S,
            )

    def take(self, n: int, own: int = 0) -> None:
        """Hold ``n`` more bytes (see :meth:`admit`), or raise 503."""
        self.admit(n, own)
        self.used += n

    def give(self, n: int) -> None:
        """Release ``n`` reserved bytes."""
        self.used = max(0, self.used - n)


def _declared(scope: Scope) -> int:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return int(value) if value.isdigit() else 0
    return 0


async def counted(
    budget: ByteBudget,
    scope: Scope,
    receive: Receive,
    send: Send,
    app: Callable[[Scope, Receive, Send], Awaitable[None]],
) -> None:
    """Run the ASGI ``app`` with this request's body bytes held in ``budget`` (see the
    module docstring): a body that cannot fit now is answered 503 before ``app`` runs."""
    try:
        budget.admit(_declared(scope))
    except Unavailable as exc:
        await error_response(exc)(scope, receive, send)
        return
    held = 0

    async def receive_counted() -> Message:
        nonlocal held
        message = await receive()
        if message["type"] == "http.request":
            size = len(message.get("body", b""))
            budget.take(size, held)
            held += size
        return message

    try:
        await app(scope, receive_counted, send)
    finally:
        budget.give(held)
