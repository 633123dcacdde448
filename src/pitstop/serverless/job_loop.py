"""The production worker loop: take jobs, run them concurrently, deliver, stop cleanly.

One take loop keeps ``concurrency - running`` job slots filled (batch take when more than one
is free), re-reading ``concurrency_modifier`` at every iteration, so a change takes effect at
once without draining. A job's slot is freed when its handler finishes, so the next take
overlaps the result POST; the job stays in the heartbeat's id list until it is delivered.
The take is written before the finished jobs' result POSTs (the platform hands out the next
jobs first), and the jobs a take returns start inside the take's own task.

Stopping (a signal or a refresh) sets one event: the open take long-poll is cancelled, and a
job a take returned anyway is still run and delivered (RunPod's SDK loses it). In-flight jobs
finish and are delivered: without a deadline after a refresh, within ``shutdown_grace``
after a signal (jobs still running then are abandoned, unreported; the platform's lease
brings them back).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pitstop.errors import ConfigError
from pitstop.serverless import capture
from pitstop.serverless.handler import Kind, Stream, call, classify
from pitstop.serverless.handler_error import report_raised
from pitstop.serverless.jobs_progress import jobs_in_progress
from pitstop.serverless.logger import get_logger, reset_batch_id, set_batch_id
from pitstop.serverless.outbox import Outbox
from pitstop.serverless.result import chunk_error, encode, generator_error, shape_return
from pitstop.serverless.transport import Transport
from pitstop.serverless.version import runpod_version

CAPACITY_RECHECK_S = 0.5
"""While all slots are busy, ``concurrency_modifier`` is re-read at least this often."""
TAKE_FIRST_S = 0.002
"""How long a finished job's result may wait for the take its freed slot triggered (only
while takes return jobs), so the next jobs start before the results are sent."""


@dataclass
class JobRun:
    """A job held by this worker: running its handler, or delivering its result."""

    job: dict[str, Any]
    task: asyncio.Task[None] | None = None
    running: bool = True
    stopped: bool = False


@dataclass
class Outcome:
    """A finished handler's final body and whether it asked for a refresh."""

    body: dict[str, Any]
    refresh: bool = False
    is_stream: bool = False


@dataclass
class Scaler:
    """State and loops of one production worker (see the module docstring)."""

    config: dict[str, Any]
    transport: Transport
    exit_on_refresh: bool = True
    jobs: dict[str, JobRun] = field(default_factory=dict)
    concurrency: int = 1
    reason: str | None = None

    def __post_init__(self) -> None:
        if not callable(self.config.get("handler")):
            raise ConfigError("start() needs a callable 'handler' in its config dict")
        self.handler: Callable[..., Any] = self.config["handler"]
        self.kind = classify(self.handler)
        self.aggregate = bool(self.config.get("return_aggregate_stream"))
        self.refresh_always = bool(self.config.get("refresh_worker"))
        self.stopping = asyncio.Event()
        self._slot_freed: asyncio.Future[None] | None = None
        self._take_settled: asyncio.Future[None] | None = None
        self._busy_queue = False
        self.idle = asyncio.Event()
        self.idle.set()
        get_logger().debug(f"Handler kind: {self.kind.value}")

    # -- state changes -------------------------------------------------------------------
    def request_stop(self, reason: str) -> None:
        """Stop taking jobs (first reason wins); in-flight jobs are still delivered."""
        if self.reason is None:
            self.reason = reason
        self.stopping.set()
        self._notify_capacity()

    def running_count(self) -> int:
        """Jobs whose handler is still running (each occupies a concurrency slot)."""
        return sum(1 for run in self.jobs.values() if run.running)

    def job_ids(self) -> list[str]:
        """Ids of every job this worker holds (for the heartbeat)."""
        return list(self.jobs)

    def stop_job(self, job_id: str) -> None:
        """Stop a running job: cancel its handler; the job is not reported."""
        run = self.jobs.get(job_id)
        if run is None or not run.running or run.task is None:
            get_logger().debug(f"Stop for unknown or finished job {job_id}; ignored.")
            return
        get_logger().info("Stopping job.", job_id)
        run.stopped = True
        run.task.cancel()

    # -- take loop -----------------------------------------------------------------------
    async def _target(self) -> int:
        modifier = self.config.get("concurrency_modifier")
        if modifier is None:
            return self.concurrency
        try:
            value = modifier(self.concurrency)
            if inspect.isawaitable(value):
                value = await value
            self.concurrency = int(value)
        except Exception as exc:
            get_logger().error(f"concurrency_modifier failed: {exc!r}; keeping {self.concurrency}.")
        return self.concurrency

    async def take_loop(self) -> None:
        """Fill free slots until stopping; jobs returned by a cancelled take still run."""
        waiter = asyncio.ensure_future(self.stopping.wait())
        try:
            while not self.stopping.is_set():
                free = await self._target() - self.running_count()
                if free <= 0:
                    await self._wait_capacity()
                    continue
                await self._take_once(free, waiter)
        finally:
            waiter.cancel()

    async def _take_and_start(self, free: int) -> float:
        """One take; its jobs start at once (before this loop wakes); the pause to keep."""
        try:
            result = await self.transport.take(free, self.running_count() > 0)
            self._busy_queue = bool(result.jobs)
            for job in result.jobs:
                self.start_job(job)
        finally:
            settled, self._take_settled = self._take_settled, None
            if settled is not None:  # results held back for this take may go now
                _resolve(settled)
        return result.wait

    async def _take_once(self, free: int, waiter: asyncio.Future[Any]) -> None:
        if self._busy_queue:
            loop = asyncio.get_running_loop()
            settled = self._take_settled = loop.create_future()
            loop.call_later(TAKE_FIRST_S, _resolve, settled)
        take = asyncio.ensure_future(self._take_and_start(free))
        try:
            await asyncio.wait({take, waiter}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not take.done():
                take.cancel()
        if not take.done():
            with contextlib.suppress(asyncio.CancelledError):
                await take
        if take.cancelled():
            return
        wait = take.result()
        if wait > 0:
            await self._pause(wait)

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), seconds)

    async def _wait_capacity(self) -> None:
        """Sleep until a slot frees (or the recheck interval passes).

        A bare future, resolved directly by the job that frees the slot, wakes this loop in
        one event-loop hop (an Event behind ``wait_for`` needs three), so the next take
        goes out before the finished jobs' result POSTs (see ``_deliver``).
        """
        loop = asyncio.get_running_loop()
        freed = self._slot_freed = loop.create_future()
        timer = loop.call_later(CAPACITY_RECHECK_S, _resolve, freed)
        try:
            await freed
        finally:
            timer.cancel()
            self._slot_freed = None

    def _notify_capacity(self) -> None:
        if self._slot_freed is not None:
            _resolve(self._slot_freed)

    # -- one job ---------------------------------------------------------------------------
    def start_job(self, job: dict[str, Any]) -> None:
        """Run a taken job in its own task (a duplicate id is ignored)."""
        job_id = str(job["id"])
        if job_id in self.jobs:
            get_logger().warn("Job is already running here; duplicate ignored.", job_id)
            return
        run = JobRun(job)
        self.jobs[job_id] = run
        jobs_in_progress().add(job)
        self.idle.clear()
        run.task = asyncio.get_running_loop().create_task(self._job_task(run, job_id))

    async def _job_task(self, run: JobRun, job_id: str) -> None:
        box = Outbox(self.transport, run.job)
        batch_token = set_batch_id(run.job.get("batchId"))
        job_token = capture.current_job.set(job_id)
        try:
            get_logger().info("Started.", job_id)
            outcome = await self._execute(run.job, box)
            await self._deliver(run, box, outcome)
        except asyncio.CancelledError:
            box.abandon()
            if not run.stopped:
                raise
            get_logger().info("Job stopped.", job_id)
        except Exception as exc:  # a bug of ours must not kill the worker or vanish silently
            box.abandon()
            get_logger().error(f"Error handling job: {exc!r}", job_id)
        finally:
            capture.current_job.reset(job_token)
            reset_batch_id(batch_token)
            self._release(run, job_id)

    async def _deliver(self, run: JobRun, box: Outbox, outcome: Outcome) -> None:
        job_id = box.job_id
        run.running = False
        capture.flush_job(job_id)
        refresh = outcome.refresh or self.refresh_always
        if refresh:
            outcome.body["stopPod"] = True
            get_logger().info("refresh_worker flag set, stopping pod after job.", job_id)
            if self.exit_on_refresh:
                self.request_stop("refresh")
        if self._slot_freed is not None and not self.stopping.is_set():
            self._notify_capacity()
            # Two hops let the woken take loop write its job-take first: the platform then
            # hands out the next job while this result (and others finishing now) is sent.
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            if self._take_settled is not None:
                await self._take_settled
        attach_debugger(self.config, outcome.body)
        body, failure = encode(outcome.body)
        if failure:
            get_logger().error(f"Error while returning job result. | {failure}", job_id)
        await box.finish(body, outcome.is_stream, refresh)
        get_logger().info("Finished.", job_id)

    def _release(self, run: JobRun, job_id: str) -> None:
        if self.jobs.get(job_id) is run:
            del self.jobs[job_id]
            jobs_in_progress().remove(job_id)
        self._notify_capacity()
        if not self.jobs:
            self.idle.set()

    async def _execute(self, job: dict[str, Any], box: Outbox) -> Outcome:
        if self.kind.streams:
            return await self._execute_stream(job, box)
        try:
            value = await call(self.handler, self.kind, job)
        except Exception as exc:
            return self._raised(exc, box.job_id)
        shaped = shape_return(value)
        return Outcome(shaped.body, shaped.refresh)

    def _raised(self, exc: Exception, job_id: str) -> Outcome:
        return Outcome(report_raised(exc, self.transport.cfg, runpod_version, job_id))

    async def _execute_stream(self, job: dict[str, Any], box: Outbox) -> Outcome:
        stream = Stream(self.handler, self.kind, job)
        collected: list[Any] = []
        refresh = False
        try:
            await stream.open()
            async for value in stream:
                chunk = _strip_refresh(value)
                failed = chunk_error(chunk)
                if failed is None and not await box.stream(chunk):
                    failed = {"error": box.stream_failure}
                if failed is not None:
                    await stream.close()
                    return Outcome(failed, refresh, is_stream=True)
                refresh = refresh or _asked_refresh(value)
                if self.aggregate:
                    collected.append(chunk)
        except asyncio.CancelledError:
            await stream.close()
            raise
        except Exception as exc:
            get_logger().error(str(exc), box.job_id)
            return Outcome(generator_error(exc), refresh, is_stream=True)
        return Outcome({"output": collected}, refresh, is_stream=True)

    # -- shutdown ----------------------------------------------------------------------------
    async def drain(self, deadline: float | None) -> None:
        """Wait for held jobs to be delivered; after ``deadline`` s abandon the rest."""
        if not self.jobs:
            return
        get_logger().info(f"Waiting for {len(self.jobs)} job(s) to finish.")
        try:
            await asyncio.wait_for(self.idle.wait(), deadline)
        except asyncio.TimeoutError:
            await self.abandon_all("Shutdown grace over")

    async def abandon_all(self, why: str) -> None:
        """Cancel every held job; none of them is reported (the platform's lease expires)."""
        tasks = []
        for job_id, run in list(self.jobs.items()):
            get_logger().error(f"{why}; job abandoned, not reported.", job_id)
            run.stopped = True
            if run.task is not None:
                run.task.cancel()
                tasks.append(run.task)
        await asyncio.gather(*tasks, return_exceptions=True)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def attach_debugger(config: dict[str, Any], body: dict[str, Any]) -> None:
    """``--rp_debugger``: add ``rp_debugger`` to a dict output (other outputs are left alone,
    where RunPod's SDK crashes and loses the job); without the flag, clear checkpoints."""
    enabled = bool((config.get("rp_args") or {}).get("rp_debugger"))
    if not enabled and "pitstop.serverless.utils.debugger" not in sys.modules:
        return
    from pitstop.serverless import IMPORTED_AT
    from pitstop.serverless.utils import debugger

    if not enabled:
        debugger.clear_debugger_output()
        return
    output = body.get("output")
    if not isinstance(output, dict):
        debugger.clear_debugger_output()
        return
    started = config.get("reference_counter_start", IMPORTED_AT)
    output["rp_debugger"] = {
        **debugger.get_debugger_output(),
        "ready_delay_ms": round((started - IMPORTED_AT) * 1000, 3),
    }


def _asked_refresh(value: Any) -> bool:
    return isinstance(value, dict) and bool(value.get("refresh_worker"))


def _strip_refresh(value: Any) -> Any:
    """A yielded dict's ``refresh_worker`` key is a worker instruction, not output."""
    if isinstance(value, dict) and "refresh_worker" in value:
        return {k: v for k, v in value.items() if k != "refresh_worker"}
    return value


__all__ = ["Kind", "Scaler"]
