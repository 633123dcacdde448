"""Cross-server wakeups for the Redis backend: one pub/sub connection, local fan-out.

The scripts ``PUBLISH`` on ``{prefix}:wake:{key}`` for every wakeup key they affect (see
:mod:`pitstop.storage.redis.scripts`). Each store owns one :class:`Wakeups`: a single
subscriber connection shared by all of the process's watches, subscribed to a channel while
at least one watch needs it (reference counted, and kept for :data:`_LINGER` seconds after
the last watch ended, so a long-poll that re-watches the same key at once -- a worker's
next ``job-take`` -- costs no SUBSCRIBE/UNSUBSCRIBE round trip), with a reader task handing each message to
the in-process :class:`~pitstop.storage.notify.Hub`.

A watch returns from ``__aenter__`` only after Redis confirmed the ``SUBSCRIBE``, so a
publish that follows the caller's state check can never be missed. If the connection drops,
the reader reconnects (every 0.2 s while Redis is down) and redis-py resubscribes; every
watch is woken when the connection drops and again once it is back (spurious wakeups, which
callers tolerate by re-checking), because messages published meanwhile are gone. A watch
entered while Redis is unreachable raises :class:`~pitstop.errors.StoreUnavailable`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

from pitstop.errors import StorageError
from pitstop.storage.notify import Hub, HubWatch
from pitstop.storage.redis.outage import is_outage, unavailable

log = logging.getLogger("pitstop.storage.redis")

_IDLE_CHANNEL = "_"
"""Always subscribed, so the reader has a connection to read from before any watch."""

_LINGER = 1.0
"""Seconds a channel stays subscribed after its last watch ended (then it is dropped)."""


class Wakeups:
    """Shared pub/sub subscriber plus local fan-out for one store (one event loop)."""

    def __init__(self, client: Any, prefix: str, confirm_timeout: float = 10.0) -> None:
        self._client = client
        self._channel_prefix = f"{prefix}:wake:"
        self._confirm_timeout = confirm_timeout
        self.hub = Hub()
        self._pubsub: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._refs: dict[str, int] = {}
        self._ready: dict[str, asyncio.Future[None]] = {}
        self._pending: dict[str, deque[asyncio.Future[None]]] = {}
        self._idle: dict[str, float] = {}
        self._idle_timer: asyncio.TimerHandle | None = None
        self._dropping: set[asyncio.Task[None]] = set()
        self._down = False

    def channel(self, key: str) -> str:
        """The pub/sub channel of a wakeup key."""
        return self._channel_prefix + key

    async def start(self) -> None:
        """Open the subscriber connection and start the reader."""
        self._pubsub = self._client.pubsub()
        idle = self.channel(_IDLE_CHANNEL)
        confirmed = self._expect(idle)
        await self._pubsub.subscribe(idle)
        self._reader = asyncio.create_task(self._read(), name="pitstop-redis-wakeups")
        await self._confirmed(confirmed, idle)

    async def stop(self) -> None:
        """Stop the reader, close the connection, wake every watch."""
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
        self._idle.clear()
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            with contextlib.suppress(Exception):
                await pubsub.aclose()
        for futures in self._pending.values():
            for future in futures:
                future.cancel()
        self._pending.clear()
        self._ready.clear()
        self._refs.clear()
        self.hub.close()

    @contextlib.asynccontextmanager
    async def watch(self, *keys: str) -> AsyncIterator[HubWatch]:
        """A hub watch on ``keys``, entered only once Redis confirmed every subscription."""
        channels = [self.channel(key) for key in dict.fromkeys(keys)]
        async with self.hub.watch(*keys) as watch:
            try:
                await self._acquire(channels)
                yield watch
            finally:
                self._release(channels)

    # -- subscriptions -------------------------------------------------------------------------

    async def _acquire(self, channels: list[str]) -> None:
        if self._pubsub is None:
            raise StorageError("the Redis store is not open (call open() first)")
        waits: list[tuple[asyncio.Future[None], str]] = []
        fresh: list[str] = []
        for channel in channels:
            self._refs[channel] = self._refs.get(channel, 0) + 1
            self._idle.pop(channel, None)
            if channel not in self._ready:
                self._ready[channel] = self._expect(channel)
                fresh.append(channel)
            waits.append((self._ready[channel], channel))
        try:
            if fresh:
                await self._pubsub.subscribe(*fresh)
            for future, channel in waits:
                await self._confirmed(future, channel)
        except Exception as exc:
            for channel in fresh:  # not subscribed: the next watch must subscribe again
                self._forget(channel)
            if is_outage(exc):
                raise unavailable(exc) from exc
            raise

    def _forget(self, channel: str) -> None:
        future = self._ready.pop(channel, None)
        pending = self._pending.get(channel)
        if future is not None and pending is not None and future in pending:
            pending.remove(future)
            if not pending:
                del self._pending[channel]
        if future is not None:
            future.cancel()

    def _release(self, channels: list[str]) -> None:
        """Drop one reference per channel; unreferenced ones linger, see :meth:`_drop_idle`."""
        now = asyncio.get_running_loop().time()
        for channel in channels:
            count = self._refs.get(channel, 0) - 1
            self._refs[channel] = max(count, 0)
            if count <= 0:
                self._idle[channel] = now
        if self._idle and self._idle_timer is None:
            self._idle_timer = asyncio.get_running_loop().call_later(_LINGER, self._drop_idle)

    def _drop_idle(self) -> None:
        """Unsubscribe the channels unreferenced for :data:`_LINGER` seconds."""
        self._idle_timer = None
        loop = asyncio.get_running_loop()
        now = loop.time()
        gone = [c for c, since in self._idle.items() if now - since >= _LINGER]
        for channel in gone:
            del self._idle[channel]
            self._refs.pop(channel, None)
            self._ready.pop(channel, None)
        if self._idle:
            self._idle_timer = loop.call_later(_LINGER, self._drop_idle)
        if gone and self._pubsub is not None:
            task = asyncio.ensure_future(self._unsubscribe(self._pubsub, gone))
            self._dropping.add(task)
            task.add_done_callback(self._dropping.discard)

    @staticmethod
    async def _unsubscribe(pubsub: Any, channels: list[str]) -> None:
        with contextlib.suppress(Exception):
            await pubsub.unsubscribe(*channels)

    def _expect(self, channel: str) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.setdefault(channel, deque()).append(future)
        return future

    async def _confirmed(self, future: asyncio.Future[None], channel: str) -> None:
        try:
            await asyncio.wait_for(asyncio.shield(future), self._confirm_timeout)
        except asyncio.TimeoutError:
            message = f"Redis did not confirm the subscription to {channel!r}"
            raise unavailable(TimeoutError(message)) from None

    # -- reader ----------------------------------------------------------------------------------

    async def _read(self) -> None:
        while True:
            try:
                message = await self._pubsub.get_message(timeout=None)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                await self._connection_lost(exc)
                continue
            if message is not None:
                self._dispatch(message)

    def _dispatch(self, message: dict[str, Any]) -> None:
        if self._down:
            self._restored()
        kind = message.get("type")
        channel = _text(message.get("channel"))
        if kind == "message":
            self.hub.notify([channel[len(self._channel_prefix) :]])
        elif kind == "subscribe":
            futures = self._pending.get(channel)
            while futures:
                future = futures.popleft()
                if not future.done():
                    future.set_result(None)
                    break
            if futures is not None and not futures:
                del self._pending[channel]

    async def _connection_lost(self, exc: Exception) -> None:
        if not self._down:
            log.warning("Redis wakeup connection failed (%s); reconnecting", exc)
            self._down = True
            self._wake_all()
        await asyncio.sleep(0.2)

    def _restored(self) -> None:
        """Back after a loss: wake every watch, since what was published meanwhile is gone."""
        log.warning("Redis wakeup connection restored")
        self._down = False
        self._wake_all()

    def _wake_all(self) -> None:
        prefix = len(self._channel_prefix)
        self.hub.notify([channel[prefix:] for channel in self._refs])


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
