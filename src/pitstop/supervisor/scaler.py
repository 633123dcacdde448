"""The desired worker count: follow the backlog up at once, come down after idleness.

``desired = ceil((inQueue + inProgress) / concurrency)``, clamped to ``[min, max]``. A higher
count is posted at once; a lower one only after the demand stayed below the current count for
``idle_timeout`` seconds (the surplus workers then get SIGTERM and finish what they hold). With
``min_workers = 0`` this scales to zero, and the next job cold-starts a worker.

Where the demand comes from is a seam: the store itself when the server runs in-process (and
a wakeup on the endpoint's queue key, so a backlog is seen within milliseconds), or the
server's ``/v2/{endpoint}/health`` over HTTP for ``pitstop worker``.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

import httpx

from pitstop.config import SupervisorConfig
from pitstop.errors import StorageError
from pitstop.models import JobStatus
from pitstop.storage.base import Store, queue_key


class Demand(Protocol):
    """Where the scaler reads the endpoint's backlog."""

    async def pending(self) -> int | None:
        """Jobs queued plus jobs running; None when unknown right now (keep the count)."""
        ...

    def ticks(self, interval: float) -> contextlib.AbstractAsyncContextManager[Tick]:
        """A waiter that returns after ``interval`` or earlier when new work may have arrived."""
        ...


class Tick(Protocol):
    async def wait(self, timeout: float) -> object: ...


def desired_workers(pending: int, sup: SupervisorConfig) -> int:
    """Workers needed for ``pending`` jobs at ``sup.concurrency`` each, within min and max."""
    per_worker = max(1, sup.concurrency)
    wanted = math.ceil(max(0, pending) / per_worker)
    return max(sup.min_workers, min(wanted, sup.max_workers))


class StoreDemand:
    """Demand read straight from the in-process server's store (no HTTP, instant wakeups)."""

    def __init__(self, store: Store, endpoint_id: str, log: Callable[[str], None]) -> None:
        self.store = store
        self.endpoint_id = endpoint_id
        self.log = log

    async def pending(self) -> int | None:
        try:
            counts = await self.store.counts(self.endpoint_id)
        except StorageError as exc:
            self.log(f"cannot read the queue depth for scaling ({exc}); keeping the worker count")
            return None
        return counts.get(JobStatus.IN_QUEUE.value, 0) + counts.get(JobStatus.IN_PROGRESS.value, 0)

    def ticks(self, interval: float) -> contextlib.AbstractAsyncContextManager[Tick]:
        return self.store.watch(queue_key(self.endpoint_id))


class _Sleeper:
    async def wait(self, timeout: float) -> object:
        await asyncio.sleep(timeout)
        return False


class HttpDemand:
    """Demand read from a remote server's ``/v2/{endpoint}/health`` every interval."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        base_url: str,
        endpoint_id: str,
        log: Callable[[str], None],
    ) -> None:
        self.client = client
        self.url = f"{base_url.rstrip('/')}/v2/{endpoint_id}/health"
        self.log = log
        self._warned = False

    async def pending(self) -> int | None:
        try:
            response = await self.client.get(self.url)
            response.raise_for_status()
            jobs: dict[str, Any] = response.json().get("jobs", {})
            return int(jobs.get("inQueue", 0)) + int(jobs.get("inProgress", 0))
        except (httpx.HTTPError, ValueError, AttributeError, TypeError) as exc:
            self._warn(exc)
            return None

    def _warn(self, exc: Exception) -> None:
        if not self._warned:
            self._warned = True
            self.log(f"cannot read {self.url} for scaling ({exc}); keeping the worker count")

    @contextlib.asynccontextmanager
    async def _ticks(self) -> AsyncIterator[Tick]:
        yield _Sleeper()

    def ticks(self, interval: float) -> contextlib.AbstractAsyncContextManager[Tick]:
        return self._ticks()


class Scaler:
    """Posts the desired worker count whenever it changes (see the module docstring).

    Coming down, the count is the highest need seen during the last ``idle_timeout`` seconds
    (a sliding-window maximum), so every worker stopped has been surplus for that long.
    """

    def __init__(
        self,
        sup: SupervisorConfig,
        demand: Demand,
        post: Callable[[int], None],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sup = sup
        self.demand = demand
        self.post = post
        self.clock = clock
        self.current = max(0, min(sup.min_workers, sup.max_workers))
        self._window: deque[tuple[float, int]] = deque()
        """(time, wanted) readings of the last idle_timeout, wanted decreasing front to back."""

    def observe(self, pending: int) -> int | None:
        """Feed one reading; return a new count to post, or None to keep the current one."""
        now = self.clock()
        wanted = desired_workers(pending, self.sup)
        while self._window and self._window[-1][1] <= wanted:
            self._window.pop()
        self._window.append((now, wanted))
        while self._window[0][0] < now - self.sup.idle_timeout:
            self._window.popleft()
        needed = self._window[0][1]
        if wanted > self.current or needed < self.current:
            self.current = needed
            return needed
        return None

    async def run(self) -> None:
        """Read the demand every ``scale_interval`` (or on a queue wakeup) until cancelled."""
        async with self.demand.ticks(self.sup.scale_interval) as tick:
            while True:
                pending = await self.demand.pending()
                if pending is not None and (count := self.observe(pending)) is not None:
                    self.post(count)
                await tick.wait(self._interval())

    def _interval(self) -> float:
        """Poll at the scale interval, but wake in time to honour the idle timeout."""
        if self.current > self.sup.min_workers and self._window:
            expires = self._window[0][0] + self.sup.idle_timeout - self.clock()
            return max(0.001, min(self.sup.scale_interval, expires))
        return self.sup.scale_interval
