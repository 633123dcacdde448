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
import contextlib
from collections import deque
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

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
    """Batches the commands of concurrent coroutines (one event loop) onto one connection.

    The connection is taken from the client's pool once and kept: every batch is written
    straight to it (no per-batch pipeline object, pool checkout or reply wait), and a reader
    task hands the replies, which Redis sends in command order, to the waiting callers. A
    batch may go out while earlier replies are still on their way (true pipelining). If the
    connection fails, every waiting caller gets the error and the next call reconnects.
    """

    def __init__(self, client: Any) -> None:
        self._client = client
        self._pending: list[_Call] = []
        self._scheduled = False
        self._sending: set[asyncio.Task[None]] = set()
        self._conn: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._waiting: deque[tuple[str, asyncio.Future[Any]]] = deque()
        self._lock = asyncio.Lock()

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
        """Wait for every command already handed to Redis to be answered (before closing)."""
        while self._pending or self._sending or self._waiting:
            if self._sending:
                await asyncio.gather(*self._sending, return_exceptions=True)
            elif self._waiting and not self._waiting[-1][1].done():
                await asyncio.wait([self._waiting[-1][1]])
            elif self._waiting:  # its caller gave up: wait for the reader to pass its reply
                await asyncio.sleep(0.001)
            else:
                await asyncio.sleep(0)

    async def close(self) -> None:
        """Stop the reader and give the connection back (after :meth:`drain`)."""
        conn, self._conn = self._conn, None
        await self._stop_reader()
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.disconnect()
            with contextlib.suppress(Exception):
                await self._client.connection_pool.release(conn)

    def _flush(self) -> None:
        self._scheduled = False
        batch, self._pending = self._pending, []
        if not batch:
            return
        if self._conn is not None:
            self._write(batch)
            return
        task = asyncio.ensure_future(self._connect_then_write(batch))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _connect_then_write(self, batch: list[_Call]) -> None:
        try:
            async with self._lock:
                if self._conn is None:
                    await self._connect()
        except Exception as exc:
            _fail(batch, exc)
            return
        except asyncio.CancelledError:
            _fail(batch, ConnectionError("the Redis store was closed"))
            raise
        self._write(batch)

    async def _connect(self) -> None:
        conn = await self._client.connection_pool.get_connection()
        try:
            await conn.connect()
        except Exception:
            await self._client.connection_pool.release(conn)
            raise
        self._conn = conn
        self._reader = asyncio.create_task(self._read(conn), name="pitstop-redis-replies")

    def _write(self, batch: list[_Call]) -> None:
        conn = self._conn
        try:
            packed = conn.pack_commands([args for args, _ in batch])
            conn._writer.writelines(packed)
        except Exception as exc:
            _fail(batch, exc)
            self._lost(conn, exc)
            return
        self._waiting.extend((str(args[0]).upper(), future) for args, future in batch)

    async def _read(self, conn: Any) -> None:
        callbacks = self._client.response_callbacks
        while True:
            try:
                reply = await conn.read_response()
            except ResponseError as exc:  # an error reply: it belongs to the next caller
                reply = exc
            except Exception as exc:
                self._lost(conn, exc)
                return
            if not self._waiting:
                self._lost(conn, RedisConnectionError("Redis sent a reply nobody asked for"))
                return
            name, future = self._waiting.popleft()
            if future.done():
                continue  # the caller gave up (cancelled); the command ran anyway
            if isinstance(reply, Exception):
                future.set_exception(reply)
                continue
            callback = callbacks.get(name)
            try:
                future.set_result(reply if callback is None else callback(reply))
            except Exception as exc:
                future.set_exception(exc)

    def _lost(self, conn: Any, exc: BaseException) -> None:
        """The connection failed: fail every waiting caller; the next call reconnects."""
        if self._conn is not conn:
            return
        self._conn = None
        waiting, self._waiting = self._waiting, deque()
        _fail(list(waiting), exc if isinstance(exc, Exception) else RedisConnectionError(str(exc)))
        reader, self._reader = self._reader, None
        if reader is not None and reader is not asyncio.current_task():
            reader.cancel()
        task = asyncio.ensure_future(self._discard(conn))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _discard(self, conn: Any) -> None:
        with contextlib.suppress(Exception):
            await conn.disconnect()
        with contextlib.suppress(Exception):
            await self._client.connection_pool.release(conn)

    async def _stop_reader(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader


def _fail(batch: list[Any], exc: BaseException) -> None:
    for _, future in batch:
        if not future.done():
            future.set_exception(exc)
