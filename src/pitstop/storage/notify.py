"""In-process wakeup hub: the :class:`~pitstop.storage.base.Watch` implementation for backends
whose events originate in this process (SQLite) or arrive on a background listener (Redis
pub/sub).

A watch is armed when its ``async with`` block is entered: from then on every
:meth:`Hub.notify` of one of its keys sets a sticky flag, so an event that happens between
the caller's state check and its ``wait`` is never lost. :meth:`Hub.notify` may be called from
any thread; delivery always happens in the event loop that owns the watch
(``loop.call_soon_threadsafe``), because asyncio futures are not thread-safe.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager


class HubWatch:
    """One subscription to a set of keys, owned by the event loop that entered it."""

    __slots__ = ("_fired", "_hub", "_waiter", "keys", "loop")

    def __init__(self, hub: Hub, keys: tuple[str, ...], loop: asyncio.AbstractEventLoop) -> None:
        self._hub = hub
        self.keys = keys
        self.loop = loop
        self._fired = False
        self._waiter: asyncio.Future[None] | None = None

    async def wait(self, timeout: float) -> bool:
        """True once a watched key was notified since entry or the previous wait; else False
        after ``timeout`` seconds (or at once when the hub is closed)."""
        if self._fired:
            self._fired = False
            return True
        if self._hub.closed or timeout <= 0:
            return False
        waiter: asyncio.Future[None] = self.loop.create_future()
        self._waiter = waiter
        timer = self.loop.call_later(timeout, _resolve, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiter = None
        fired, self._fired = self._fired, False
        return fired

    def fire(self) -> None:
        """Mark the watch notified and wake a pending ``wait`` (call in the owning loop)."""
        self._fired = True
        self.wake()

    def wake(self) -> None:
        """Wake a pending ``wait`` without marking it notified (it then returns the flag)."""
        waiter = self._waiter
        if waiter is not None:
            _resolve(waiter)


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


def _fire_all(watches: Iterable[HubWatch]) -> None:
    for watch in watches:
        watch.fire()


def _wake_all(watches: Iterable[HubWatch]) -> None:
    for watch in watches:
        watch.wake()


class Hub:
    """Registry of live watches by key; thread-safe ``notify``, loop-side delivery."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_key: dict[str, set[HubWatch]] = {}
        self.closed = False

    @asynccontextmanager
    async def watch(self, *keys: str) -> AsyncIterator[HubWatch]:
        """Subscribe to ``keys`` for the duration of the block (armed on entry)."""
        watch = HubWatch(self, keys, asyncio.get_running_loop())
        self._add(watch)
        try:
            yield watch
        finally:
            self._remove(watch)

    def notify(self, keys: Iterable[str]) -> None:
        """Fire every watch subscribed to any of ``keys``. Callable from any thread."""
        by_loop = self._select(keys)
        for loop, watches in by_loop.items():
            self._deliver(loop, _fire_all, watches)

    def close(self) -> None:
        """Refuse further waits and wake every pending one (they return their flag)."""
        self.closed = True
        with self._lock:
            every = {w for watches in self._by_key.values() for w in watches}
        by_loop: dict[asyncio.AbstractEventLoop, list[HubWatch]] = {}
        for watch in every:
            by_loop.setdefault(watch.loop, []).append(watch)
        for loop, watches in by_loop.items():
            self._deliver(loop, _wake_all, watches)

    def _add(self, watch: HubWatch) -> None:
        with self._lock:
            for key in watch.keys:
                self._by_key.setdefault(key, set()).add(watch)

    def _remove(self, watch: HubWatch) -> None:
        with self._lock:
            for key in watch.keys:
                watches = self._by_key.get(key)
                if watches is None:
                    continue
                watches.discard(watch)
                if not watches:
                    del self._by_key[key]

    def _select(self, keys: Iterable[str]) -> dict[asyncio.AbstractEventLoop, list[HubWatch]]:
        found: dict[asyncio.AbstractEventLoop, list[HubWatch]] = {}
        seen: set[HubWatch] = set()
        with self._lock:
            for key in keys:
                for watch in self._by_key.get(key, ()):
                    if watch not in seen:
                        seen.add(watch)
                        found.setdefault(watch.loop, []).append(watch)
        return found

    @staticmethod
    def _deliver(
        loop: asyncio.AbstractEventLoop,
        action: Callable[[list[HubWatch]], None],
        watches: list[HubWatch],
    ) -> None:
        if _running_loop() is loop:
            action(watches)
            return
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits on it
            loop.call_soon_threadsafe(action, watches)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
