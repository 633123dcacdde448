"""The worker pool: one asyncio loop that reacts to events and keeps the right workers alive.

Everything that happens is an event on one queue: a worker exited, the scaler wants a new
count, the handler file changed, a signal arrived. Signal handlers, process watchers, the
scaler and the file watcher only *enqueue*; :meth:`Pool.run` alone changes state (the shape of
uvicorn's multiprocess supervisor). After each event the pool reconciles: too few live workers
and no backoff pending means spawn; too many means SIGTERM the newest surplus ones.

Draining (first Ctrl-C or SIGTERM): every worker gets SIGTERM (it takes no new job, finishes
and reports its in-flight jobs, exits 0); after ``drain_timeout`` the stragglers get SIGKILL.
A second signal kills everything at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from pitstop.config import SupervisorConfig
from pitstop.supervisor.policy import ExitRecord, RestartPolicy
from pitstop.supervisor.process import (
    Sink,
    WorkerProcess,
    default_sink,
    describe_exit,
    spawn,
)

EXIT_DRAINED = 0
EXIT_FORCED = 130
"""Exit code after a second Ctrl-C stopped the workers without draining."""


@dataclass(frozen=True)
class Exited:
    """A worker process ended with ``code`` (negative: killed by that signal)."""

    worker: WorkerProcess
    code: int


@dataclass(frozen=True)
class Scale:
    """The scaler wants ``count`` live workers."""

    count: int


@dataclass(frozen=True)
class Reload:
    """The handler's code changed: replace every worker (gracefully)."""

    paths: tuple[str, ...] = ()


@dataclass(frozen=True)
class Stop:
    """Drain and stop (a signal, or the caller); a second one stops at once."""

    reason: str = "stop requested"


Event = Exited | Scale | Reload | Stop
EnvFactory = Callable[[str], Mapping[str, str]]
"""Builds a worker's environment from its worker id."""
Reporter = Callable[[str, str], Awaitable[None]]
"""Reports a crash loop: ``(worker_id, reason)``; must never raise."""


class Pool:
    """Spawns, replaces, scales and drains the worker processes of one endpoint."""

    def __init__(
        self,
        sup: SupervisorConfig,
        env_for: EnvFactory,
        *,
        sink: Sink = default_sink,
        report_unhealthy: Reporter | None = None,
    ) -> None:
        self.sup = sup
        self.env_for = env_for
        self.sink = sink
        self.report_unhealthy = report_unhealthy
        self.policy = RestartPolicy(
            base=sup.restart_backoff_base,
            max=sup.restart_backoff_max,
            threshold=sup.crash_loop_threshold,
            stable_after=sup.stable_after,
        )
        self.target = max(0, min(sup.min_workers, sup.max_workers))
        self.workers: list[WorkerProcess] = []
        self.exits: list[ExitRecord] = []
        self.spawned = 0
        self.restarts = 0
        """Workers replaced after exiting on their own (crash or refresh); the dashboard shows
        it through ``PITSTOP_WORKER_RESTARTS``."""
        self.events: asyncio.Queue[Event] = asyncio.Queue()
        self._prefix = secrets.token_hex(3)
        self._numbers = itertools.count(1)
        self._next_spawn_at = 0.0
        self._drain_deadline: float | None = None
        self._forced = False
        self._background: set[asyncio.Task[None]] = set()

    # -- called from anywhere on the loop (signal handlers, watchers, scaler) ---------------

    def post(self, event: Event) -> None:
        """Enqueue an event for the loop; never blocks, never changes state itself."""
        self.events.put_nowait(event)

    def log(self, message: str, *, error: bool = False) -> None:
        """A supervisor line, prefixed like worker lines so the output reads as one stream."""
        self.sink(f"pitstop | {message}", error)

    @property
    def live(self) -> list[WorkerProcess]:
        """Workers that are running and not asked to stop."""
        return [w for w in self.workers if not w.retiring]

    # -- the loop --------------------------------------------------------------------------

    async def run(self) -> int:
        """Run until drained (exit 0) or stopped at once by a second signal (130)."""
        try:
            await self._reconcile()
            while not (self._drain_deadline is not None and not self.workers):
                event = await self._next_event()
                if event is not None:
                    await self._handle(event)
                self._enforce_drain_deadline()
                await self._reconcile()
        finally:
            await self._kill_all()
        return EXIT_FORCED if self._forced else EXIT_DRAINED

    async def _next_event(self) -> Event | None:
        timeout = self._wakeup_in()
        try:
            return await asyncio.wait_for(self.events.get(), timeout)
        except asyncio.TimeoutError:
            return None

    def _wakeup_in(self) -> float | None:
        """Seconds until something is due without an event (a backoff ends, drain expires)."""
        now = time.monotonic()
        if self._drain_deadline is not None:
            # Past the deadline the stragglers are killed; their exits arrive as events.
            return self._drain_deadline - now if self._drain_deadline > now else None
        if len(self.live) < self.target and self._next_spawn_at > now:
            return self._next_spawn_at - now
        return None

    async def _handle(self, event: Event) -> None:
        if isinstance(event, Exited):
            self._on_exit(event)
        elif isinstance(event, Scale):
            self._on_scale(event.count)
        elif isinstance(event, Reload):
            self._on_reload(event)
        else:
            self._on_stop(event)

    # -- reactions ---------------------------------------------------------------------------

    def _on_exit(self, event: Exited) -> None:
        worker = event.worker
        if worker in self.workers:
            self.workers.remove(worker)
        record = ExitRecord(worker.label, worker.worker_id, event.code, worker.uptime())
        self.exits.append(record)
        if worker.retiring:
            self.log(f"{worker.label} stopped ({describe_exit(event.code)})")
            return
        self.restarts += 1
        delay = self.policy.record(record)
        self._next_spawn_at = max(self._next_spawn_at, time.monotonic() + delay)
        if record.clean:
            self._on_clean_exit(record, delay)
            return
        self.log(
            f"{worker.label} crashed ({describe_exit(event.code)}) after "
            f"{record.uptime:.1f}s; restarting in {delay:.2f}s",
            error=True,
        )
        if self.policy.crash_loop:
            self._on_crash_loop(record)

    def _on_clean_exit(self, record: ExitRecord, delay: float) -> None:
        if delay <= 0:
            self.log(f"{record.label} exited 0 (refresh or drained); replacing it")
            return
        self.log(
            f"{record.label} exited 0 after only {record.uptime:.2f}s (does the file call "
            f"runpod.serverless.start?); replacing it in {delay:.2f}s",
            error=True,
        )

    def _on_crash_loop(self, record: ExitRecord) -> None:
        summary = self.policy.summary()
        self.log(f"UNHEALTHY: crash loop, {summary}", error=True)
        if self.report_unhealthy is not None:
            self._spawn_background(self.report_unhealthy(record.worker_id, summary))

    def _on_scale(self, count: int) -> None:
        count = max(self.sup.min_workers, min(count, self.sup.max_workers))
        if count != self.target and self._drain_deadline is None:
            self.log(f"scaling {self.target} -> {count} workers")
            self.target = count

    def _on_reload(self, event: Reload) -> None:
        if self._drain_deadline is not None:
            return
        changed = ", ".join(event.paths[:3]) or "code"
        self.log(f"{changed} changed; restarting workers")
        self.policy.reset()
        self._next_spawn_at = 0.0
        for worker in self.live:
            worker.terminate()

    def _on_stop(self, event: Stop) -> None:
        if self._drain_deadline is not None:
            self.log("second stop: killing workers now", error=True)
            self._forced = True
            for worker in self.workers:
                worker.kill()
            self._drain_deadline = time.monotonic()
            return
        self._drain_deadline = time.monotonic() + self.sup.drain_timeout
        self.log(
            f"{event.reason}: draining {len(self.workers)} worker(s) "
            f"(up to {self.sup.drain_timeout:g}s; stop again to quit now)"
        )
        for worker in self.workers:
            worker.terminate()

    def _enforce_drain_deadline(self) -> None:
        if self._drain_deadline is None or time.monotonic() < self._drain_deadline:
            return
        for worker in self.workers:
            if worker.running and not worker.killed:
                self.log(f"{worker.label} did not drain in time; killing it", error=True)
                worker.kill()

    async def _reconcile(self) -> None:
        """Spawn up to the target (unless backing off) or retire the newest surplus workers."""
        if self._drain_deadline is not None:
            return
        live = self.live
        if len(live) > self.target:
            for worker in live[self.target :]:
                worker.terminate()
            return
        if time.monotonic() < self._next_spawn_at:
            return
        for _ in range(self.target - len(live)):
            if not await self._spawn_one():
                break

    async def _spawn_one(self) -> bool:
        number = next(self._numbers)
        label = f"w{number}"
        worker_id = f"{self._prefix}-{label}"
        try:
            worker = await spawn(
                self.sup.handler_path,
                {**self.env_for(worker_id), "PITSTOP_WORKER_RESTARTS": str(self.restarts)},
                worker_id=worker_id,
                label=label,
                sink=self.sink,
            )
        except OSError as exc:
            self._on_spawn_failure(label, exc)
            return False
        self.spawned += 1
        self.workers.append(worker)
        self.log(f"{label} started (pid {worker.pid}, worker id {worker_id})")
        self._spawn_background(self._watch(worker))
        return True

    def _on_spawn_failure(self, label: str, exc: OSError) -> None:
        record = ExitRecord(label, "", 127, 0.0)
        delay = self.policy.record(record)
        self._next_spawn_at = time.monotonic() + delay
        self.log(f"{label} could not start: {exc}; retrying in {delay:.2f}s", error=True)

    async def _watch(self, worker: WorkerProcess) -> None:
        code = await worker.wait()
        self.post(Exited(worker, code))

    def _spawn_background(self, coro: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _kill_all(self) -> None:
        """Last resort on the way out: nothing we started may outlive the supervisor."""
        for worker in self.workers:
            worker.kill()
        for worker in list(self.workers):
            with contextlib.suppress(Exception):
                await worker.wait()
        for task in list(self._background):
            task.cancel()
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
