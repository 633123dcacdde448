"""The worker pool: one asyncio loop that reacts to events and keeps the right workers alive.

Everything that happens is an event on one queue: a worker exited, the scaler wants a new
count, the handler file changed, a signal arrived. Signal handlers, process watchers, the
scaler and the file watcher only *enqueue*; :meth:`Pool.run` alone changes state (the shape of
uvicorn's multiprocess supervisor). After each event the pool reconciles: too few live workers
and no backoff pending means spawn; too many means SIGTERM the newest surplus ones.

Draining (first Ctrl-C or SIGTERM): every worker gets SIGTERM (it takes no new job, finishes
and reports its in-flight jobs, exits 0); after ``drain_timeout`` the stragglers' process groups
get SIGKILL. A second signal kills everything at once.

Whenever a worker exits (drained, refreshed, crashed, scaled down) whatever its process group
still runs gets SIGTERM, and SIGKILL ``drain_timeout`` later (or at the drain deadline). That
happens in the background: a replacement starts at once, and the pool only finishes once no
process of any worker is left.

Whatever jobs an exited worker still held go back to the queue at once through the server
(``job-release``; attempts counted as for a lost lease) instead of after their lease expires.

A crashed worker is replaced under the same worker id (as RunPod restarts a worker in the same
pod), once its jobs were released (so the release cannot take the replacement's), reported unhealthy to the server with its exit code and error line, and its output is
said once (see :mod:`pitstop.supervisor.transcript`).

With GPUs (a :class:`~pitstop.supervisor.devices.DeviceLease`) every worker is started with
its own device set and only when one is free; the set returns to the lease once the worker's
whole process group is gone (the ``Reaped`` event), so a leftover child never shares a GPU with
the replacement. A crash whose output says a GPU fitness check failed quarantines the set.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import secrets
import time
from collections.abc import Awaitable

from pitstop.config import SupervisorConfig
from pitstop.supervisor.devices import DeviceLease
from pitstop.supervisor.events import (
    CrashReport,
    EnvFactory,
    Event,
    Exited,
    Freed,
    Reaped,
    Releaser,
    Reload,
    Reporter,
    Scale,
    Stop,
)
from pitstop.supervisor.gpus import failed_gpu_check, gpu_environment
from pitstop.supervisor.groups import outlive_group, terminate_group
from pitstop.supervisor.hints import missing_dependency_hint
from pitstop.supervisor.policy import ExitRecord, RestartPolicy
from pitstop.supervisor.process import WorkerProcess, default_sink, describe_exit, spawn
from pitstop.supervisor.transcript import Failure, Sink, Transcript

EXIT_DRAINED = 0
RELEASE_WAIT = 2.0
"""Longest a replacement waits for its worker id's job release before starting anyway."""

EXIT_FORCED = 130
"""Exit code after a second Ctrl-C stopped the workers without draining."""


class Pool:
    """Spawns, replaces, scales and drains the worker processes of one endpoint."""

    def __init__(
        self,
        sup: SupervisorConfig,
        env_for: EnvFactory,
        *,
        sink: Sink = default_sink,
        report_unhealthy: Reporter | None = None,
        release_jobs: Releaser | None = None,
        devices: DeviceLease | None = None,
        name: str = "",
    ) -> None:
        self.sup = sup
        self.env_for = env_for
        self.sink = sink
        self.report_unhealthy = report_unhealthy
        self.release_jobs = release_jobs
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
        self._reaping: set[WorkerProcess] = set()
        self._spare_ids: list[str] = []
        """Worker ids of replaced workers, handed to their replacements."""
        self._releasing: dict[str, asyncio.Task[None]] = {}
        """Job releases in flight, by worker id: a replacement waits for its id's release."""
        self._last_failure: Failure | None = None
        self.devices = devices
        self.name = name
        """The endpoint's name in labels and log lines when one command serves several."""
        if devices is not None:
            devices.allocator.on_free(lambda: self.post(Freed()))

    # -- called from anywhere on the loop (signal handlers, watchers, scaler) ---------------

    def post(self, event: Event) -> None:
        """Enqueue an event for the loop; never blocks, never changes state itself."""
        self.events.put_nowait(event)

    def log(self, message: str, *, error: bool = False) -> None:
        """A supervisor line, prefixed like worker lines so the output reads as one stream."""
        self.sink(
            f"pitstop | {self.name}: {message}" if self.name else f"pitstop | {message}", error
        )

    @property
    def live(self) -> list[WorkerProcess]:
        """Workers that are running and not asked to stop."""
        return [w for w in self.workers if not w.retiring]

    # -- the loop --------------------------------------------------------------------------

    async def run(self) -> int:
        """Run until drained (exit 0) or stopped at once by a second signal (130)."""
        try:
            await self._reconcile()
            while not self._drained():
                event = await self._next_event()
                if event is not None:
                    await self._handle(event)
                self._enforce_drain_deadline()
                await self._reconcile()
        finally:
            await self._kill_all()
        return EXIT_FORCED if self._forced else EXIT_DRAINED

    def _drained(self) -> bool:
        """Stopping, and no process of any worker is left."""
        return self._drain_deadline is not None and not self.workers and not self._reaping

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
        elif isinstance(event, Reaped):
            self._reaping.discard(event.worker)
            self._return_devices(event.worker)
        elif isinstance(event, Freed):
            pass  # the reconcile after every event retries a spawn that waited for devices
        else:
            self._on_stop(event)

    # -- reactions ---------------------------------------------------------------------------

    def _on_exit(self, event: Exited) -> None:
        worker = event.worker
        if worker in self.workers:
            self.workers.remove(worker)
        self._reap(worker)
        self._release(worker.worker_id)
        record = ExitRecord(worker.label, worker.worker_id, event.code, worker.uptime())
        self.exits.append(record)
        if worker.retiring:
            worker.transcript.release()
            self.log(f"{worker.label} stopped ({describe_exit(event.code)})")
            return
        self._spare_ids.append(worker.worker_id)
        self.restarts += 1
        delay = self.policy.record(record)
        self._next_spawn_at = max(self._next_spawn_at, time.monotonic() + delay)
        if record.clean:
            worker.transcript.release()
            self._last_failure = None
            self._on_clean_exit(record, delay)
            return
        self._on_crash(worker, record, delay)

    def _on_clean_exit(self, record: ExitRecord, delay: float) -> None:
        if delay <= 0:
            self.log(f"{record.label} exited 0 (refresh or drained); replacing it")
            return
        self.log(
            f"{record.label} exited 0 after only {record.uptime:.2f}s (does the file call "
            f"runpod.serverless.start?); replacing it in {delay:.2f}s",
            error=True,
        )

    def _on_crash(self, worker: WorkerProcess, record: ExitRecord, delay: float) -> None:
        """Say why once, report it to the server, flag a crash loop when it becomes one."""
        failure = worker.transcript.failure(record.code)
        how = f"({describe_exit(record.code)}) after {record.uptime:.1f}s"
        restart = f"restarting in {delay:.2f}s"
        if worker.transcript.repeated:
            worker.transcript.discard()
            self.log(
                f"{worker.label} (pid {worker.pid}) crashed again {how}, same output; {restart}",
                error=True,
            )
        else:
            worker.transcript.release()
            because = f": {failure.error}" if failure.error else ", no output"
            self.log(f"{worker.label} crashed {how}{because}; {restart}", error=True)
            hint = missing_dependency_hint(failure.error or "")
            if hint:
                self.log(hint, error=True)
        # Only a process that exited by itself with an error repeats it word for word; a
        # signal (OOM killer, kill -9) says nothing about the next run's output.
        self._last_failure = failure if record.code > 0 else None
        check, reason = "crashed", describe_exit(record.code)
        if (gpu_check := self._quarantine_if_gpu_failed(worker, failure)) is not None:
            check = "gpu"
            reason = f"GPU {','.join(worker.devices)} failed {gpu_check}: quarantined"
        if self.policy.crash_loop:
            check, reason = "crash_loop", self.policy.summary()
            if len(self.policy.streak) == self.policy.threshold:
                self.log(f"UNHEALTHY: crash loop, {reason}", error=True)
        if self.report_unhealthy is not None:
            report = CrashReport(worker.worker_id, record.code, failure.error, check, reason)
            self._spawn_background(self.report_unhealthy(report))

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
            for worker in [*self.workers, *self._reaping]:
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
        if self.devices is not None and len(self.live) >= self.target:
            self.devices.satisfied()

    def _take_devices(self) -> tuple[str, ...] | None:
        """A device set for the next worker: ``()`` without GPUs, None when none is free."""
        if self.devices is None:
            return ()
        return self.devices.take(self.target, len(self.live), self.log)

    def _return_devices(self, worker: WorkerProcess) -> None:
        """The worker's process group is gone: its device set may go to a new worker."""
        if self.devices is not None and worker.devices and not worker.quarantined:
            self.devices.release(worker.devices)

    def _quarantine_if_gpu_failed(self, worker: WorkerProcess, failure: Failure) -> str | None:
        """Quarantine the worker's devices when a GPU fitness check failed; its name."""
        check = failed_gpu_check(failure.lines)
        if self.devices is None or not worker.devices or check is None:
            return None
        worker.quarantined = True
        self.devices.quarantine(worker.devices)
        self.log(
            f"UNHEALTHY: GPU {','.join(worker.devices)} failed the fitness check {check}; "
            "quarantined until pitstop restarts",
            error=True,
        )
        return check

    async def _spawn_one(self) -> bool:
        devices = self._take_devices()
        if devices is None:
            return False
        number = next(self._numbers)
        label = f"{self.name}/w{number}" if self.name else f"w{number}"
        worker_id = self._spare_ids.pop(0) if self._spare_ids else f"{self._prefix}-w{number}"
        pending = self._releasing.pop(worker_id, None)
        if pending is not None:
            await asyncio.wait({pending}, timeout=RELEASE_WAIT)
        transcript = Transcript(
            f"{label} | ",
            self.sink,
            replay_of=self._last_failure,
            hold_limit=self.sup.stable_after,
        )
        try:
            env = {**self.env_for(worker_id), **(gpu_environment(devices) if devices else {})}
            worker = await spawn(
                self.sup.handler_path,
                {**env, "PITSTOP_WORKER_RESTARTS": str(self.restarts)},
                worker_id=worker_id,
                label=label,
                transcript=transcript,
                args=self.sup.handler_args,
            )
        except OSError as exc:
            if self.devices is not None:
                self.devices.release(devices)
            transcript.release()
            self._spare_ids.insert(0, worker_id)
            self._on_spawn_failure(label, exc)
            return False
        self.spawned += 1
        worker.devices = devices
        self.workers.append(worker)
        gpus = f", GPU {','.join(devices)}" if devices else ""
        started = f"{label} started (pid {worker.pid}, worker id {worker_id}{gpus})"
        if self._last_failure is None:
            self.log(started)
        else:
            transcript.on_release = lambda: self.log(started)
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

    def _reap(self, worker: WorkerProcess) -> None:
        """End the exited worker's leftover processes in the background (see the docstring)."""
        self._reaping.add(worker)
        self._spawn_background(self._end_leftovers(worker))

    async def _end_leftovers(self, worker: WorkerProcess) -> None:
        exited_at = time.monotonic()

        def deadline() -> float:
            due = exited_at + self.sup.drain_timeout
            return min(due, self._drain_deadline) if self._drain_deadline is not None else due

        try:
            if terminate_group(worker.pid):
                self.log(
                    f"{worker.label} left processes running: SIGTERM to its group "
                    f"(pgid {worker.pid}), SIGKILL in {max(0.0, deadline() - exited_at):.1f}s"
                )
                if await outlive_group(worker.pid, deadline):
                    self.log(f"{worker.label}'s leftover processes outlived SIGTERM: killed")
        finally:
            worker.close()
            self.post(Reaped(worker))

    def _release(self, worker_id: str) -> None:
        """Give the exited worker's jobs back to the queue, in the background."""
        if self.release_jobs is None:
            return
        task: asyncio.Task[None] = asyncio.ensure_future(self.release_jobs(worker_id))
        self._releasing[worker_id] = task
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _spawn_background(self, coro: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _kill_all(self) -> None:
        """Last resort on the way out: nothing we started may outlive the supervisor."""
        for worker in [*self.workers, *self._reaping]:
            worker.kill()
        for worker in list(self.workers):
            with contextlib.suppress(Exception):
                await worker.wait()
        for task in list(self._background):
            task.cancel()
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        for worker in [*self.workers, *self._reaping]:
            worker.transcript.release()
            worker.close()
