"""Automatic pipelining for the Redis backend: one round trip for many concurrent callers.

A server handles many requests at once, and each store call is one Redis command (mostly an
``EVALSHA``). Sent one by one, every command pays redis-py's full per-call cost (a pooled
connection, a write, a wait for the reply); measured on loopback that caps a process at a few
thousand commands per second, while a pipeline carries tens of thousands. :class:`AutoPipeline`
queues the commands issued during one event-loop iteration and sends them together on one
connection as a non-transactional pipeline; each caller gets its own reply (or error).

Nothing changes for atomicity: every command (script) still runs atomically on its own, and
a caller's next command is only issued after its previous reply arrived.

Outages. Each call waits at most ``timeout`` seconds. A command not yet written when that
runs out is never written; one written on a connection that then fails or stops answering
fails with :class:`InFlightLost`: Redis may or may not have run it. Such a connection's
client id is remembered and killed (``CLIENT KILL``) first thing on the next connection, so a
command still sitting in a hung Redis's buffers can never run after that point: a read on
the new connection then tells for sure whether it ran (see ``RedisStore.enqueue``).

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
from redis.exceptions import TimeoutError as RedisTimeoutError

_Call = tuple[tuple[Any, ...], "asyncio.Future[Any]"]
_PLAIN = frozenset((str, bytes, int))


class InFlightLost(RedisConnectionError):
    """The connection failed after the command was written: it may or may not have run."""


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
            if _PLAIN.issuperset(map(type, args)):
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

    def __init__(self, client: Any, timeout: float | None = None) -> None:
        self._client = client
        self._timeout = timeout
        self._conn_id: int | None = None
        self._doubtful: set[int] = set()
        """Client ids of lost connections that had commands in flight (to kill)."""
        self._pending: list[_Call] = []
        self._scheduled = False
        self._sending: set[asyncio.Task[None]] = set()
        self._conn: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._waiting: deque[tuple[str, asyncio.Future[Any]]] = deque()
        self._lock = asyncio.Lock()
        self._deadlines: deque[tuple[float, asyncio.Future[Any]]] = deque()
        """Every call's (deadline, future), in call order; the timeout is the same for all,
        so the earliest deadline is always the leftmost."""
        self._watchdog: asyncio.TimerHandle | None = None

    async def call(self, *args: Any) -> Any:
        """Run one command (``args`` as for ``execute_command``) in the next batch."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._pending.append((args, future))
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._flush)
        if self._timeout is not None:
            # one watchdog for all calls, not a timer (or wait_for's task) per command
            self._deadlines.append((loop.time() + self._timeout, future))
            if self._watchdog is None:
                period = min(1.0, self._timeout / 4)
                self._watchdog = loop.call_later(period, self._check_deadlines)
        return await future

    def _check_deadlines(self) -> None:
        """Time out the calls past their deadline (oldest first); re-arm while any wait."""
        self._watchdog = None
        assert self._timeout is not None
        loop = asyncio.get_running_loop()
        now = loop.time()
        deadlines = self._deadlines
        while deadlines and (deadlines[0][1].done() or deadlines[0][0] <= now):
            _, future = deadlines.popleft()
            if not future.done():
                self._timed_out(future)
        if deadlines:
            self._watchdog = loop.call_later(min(1.0, self._timeout / 4), self._check_deadlines)

    def _timed_out(self, future: asyncio.Future[Any]) -> None:
        """No reply in time: a written command fails its (hung) connection; one not written
        yet is dropped, so it is never sent (see :meth:`_write`)."""
        if future.done():
            return
        message = f"Redis did not answer within {self._timeout}s"
        if self._conn is not None and any(waiting is future for _, waiting in self._waiting):
            self._lost(self._conn, RedisTimeoutError(message))
        else:
            future.set_exception(RedisTimeoutError(message))

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
            await asyncio.wait_for(self._prepare(conn), self._timeout)
        except BaseException:
            with contextlib.suppress(Exception):
                await conn.disconnect()
            await self._client.connection_pool.release(conn)
            raise
        self._conn = conn
        self._reader = asyncio.create_task(self._read(conn), name="pitstop-redis-replies")

    async def _prepare(self, conn: Any) -> None:
        """Connect, learn the connection's client id, kill the doubtful ones (module doc)."""
        await conn.connect()
        conn.socket_timeout = None  # the reader idles between batches; calls time out alone
        self._conn_id = await _command(conn, "CLIENT", "ID")
        for client_id in sorted(self._doubtful):
            await _command(conn, "CLIENT", "KILL", "ID", client_id)
        self._doubtful.clear()

    def _write(self, batch: list[_Call]) -> None:
        batch = [call for call in batch if not call[1].done()]  # timed out before sending
        if not batch:
            return
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
        if waiting and self._conn_id is not None:
            self._doubtful.add(self._conn_id)
        _fail(list(waiting), InFlightLost(f"{type(exc).__name__}: {exc}"))
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


async def _command(conn: Any, *args: Any) -> int | None:
    """Run one command on a bare connection; its integer reply, or None if refused (a
    Redis where ACLs forbid ``CLIENT`` still works, without the fencing)."""
    await conn.send_command(*args)
    try:
        reply = await conn.read_response()
    except ResponseError:
        return None
    try:
        return int(reply)
    except (TypeError, ValueError):
        return None


def _fail(batch: list[Any], exc: BaseException) -> None:
    for _, future in batch:
        if not future.done():
            future.set_exception(exc)
