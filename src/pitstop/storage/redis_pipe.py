"""Automatic pipelining for the Redis backend: one round trip for many concurrent callers.

A server handles many requests at once, and each store call is one Redis command (mostly an
``EVALSHA``). Sent one by one, every command pays redis-py's full per-call cost (a pooled
connection, a write, a wait for the reply); measured on loopback that caps a process at a few
thousand commands per second, while a pipeline carries tens of thousands. :class:`AutoPipeline`
queues the commands issued during one event-loop iteration and sends them together on one
connection as a non-transactional pipeline; each caller gets its own reply (or error).

Nothing changes for atomicity: every command (script) still runs atomically on its own, and
a caller's next command is only issued after its previous reply arrived.

:func:`connection_class` goes one step further when ``hiredis`` is installed: redis-py's
asyncio connection encodes commands in pure Python (its largest cost in a profile of the
store), hiredis's ``pack_command`` does the same in C.
"""

from __future__ import annotations

import asyncio
from typing import Any

_Call = tuple[tuple[Any, ...], "asyncio.Future[Any]"]
_PLAIN = (str, bytes, int)


def connection_class(url: str) -> type[Any] | None:
    """A redis-py asyncio ``Connection`` that packs commands with hiredis, for plain
    ``redis://`` URLs when hiredis is installed; None otherwise (use redis-py's default)."""
    try:
        import hiredis
        from redis.asyncio.connection import Connection
    except ImportError:
        return None
    if not url.lower().startswith("redis://") or not hasattr(hiredis, "pack_command"):
        return None
    pack = hiredis.pack_command

    class HiredisPackConnection(Connection):
        """Same connection; commands of plain arguments are packed in C."""

        def pack_command(self, *args: Any) -> list[bytes]:
            head = args[0]
            if isinstance(head, str) and " " in head:  # "SCRIPT LOAD": separate words
                args = (*head.split(), *args[1:])
            if all(type(arg) in _PLAIN for arg in args):
                return [pack(args)]
            return list(super().pack_command(*args))

    return HiredisPackConnection


class AutoPipeline:
    """Batches the commands of concurrent coroutines (one event loop) into pipelines."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._pending: list[_Call] = []
        self._scheduled = False
        self._sending: set[asyncio.Task[None]] = set()

    async def call(self, *args: Any) -> Any:
        """Run one command (``args`` as for ``execute_command``) in the next batch."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._pending.append((args, future))
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._flush)
        return await future

    async def drain(self) -> None:
        """Wait for every batch already handed to Redis (used before closing)."""
        while self._pending or self._sending:
            if self._sending:
                await asyncio.gather(*self._sending, return_exceptions=True)
            else:
                await asyncio.sleep(0)

    def _flush(self) -> None:
        self._scheduled = False
        batch, self._pending = self._pending, []
        if not batch:
            return
        task = asyncio.ensure_future(self._send(batch))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, batch: list[_Call]) -> None:
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                for args, _ in batch:
                    pipe.execute_command(*args)
                replies = await pipe.execute(raise_on_error=False)
        except Exception as exc:
            _fail(batch, exc)
            return
        except asyncio.CancelledError:
            _fail(batch, ConnectionError("the Redis store was closed"))
            raise
        for (_, future), reply in zip(batch, replies, strict=True):
            if future.done():
                continue  # the caller gave up (cancelled); the command ran anyway
            if isinstance(reply, Exception):
                future.set_exception(reply)
            else:
                future.set_result(reply)


def _fail(batch: list[_Call], exc: BaseException) -> None:
    for _, future in batch:
        if not future.done():
            future.set_exception(exc)
