"""The storage contract: every backend implements :class:`Store`, nothing more is assumed.

The server owns the job state machine; the store makes each transition atomic and durable.
Every mutating primitive below documents its atomicity guarantee. Backends: ``sqlite.py``
(embedded default: one process, transactions in WAL mode) and ``redis.py`` (many servers:
server-side Lua scripts). One contract test suite (``tests/storage``) runs against both.

Fencing. A worker names itself in every report (``worker_id``) and may name the attempt it
was given (``attempt``; the official SDK never does, ours does). A report is accepted only
while the job is ``IN_PROGRESS`` and leased to that worker (and, when given, on that attempt).
So a zombie worker whose lease expired can never overwrite a newer attempt.

Wakeups. Long-polls (``job-take``, ``job-stop``, ``/runsync``, ``/stream?wait=``,
``/status-sync``) wait on *keys* with :meth:`Store.watch`. Every mutating primitive notifies
the keys it affects, on every server sharing the store, within milliseconds:

* :func:`queue_key` (endpoint): a job became claimable (enqueue, retry, lease requeue);
* :func:`job_key` (job id): the job changed (claim, progress, chunk, finish, cancel, timeout);
* :func:`stop_key` (worker id): a stop id was queued for that worker.

The watch must be entered *before* the state is checked, so an event between the check and
the wait is never lost::

    async with store.watch(queue_key(ep)) as watch:
        while not (jobs := await store.claim(...)):
            if not await watch.wait(remaining):
                break

Times are UNIX seconds passed in by the caller (``now``) so tests control the clock;
durations (leases, retention) are seconds.

Timelines. Each transition appends a :class:`~pitstop.models.JobEvent` to the job's timeline
in the same transaction (SQLite) or script (Redis) as the transition itself: ``enqueue``
(submitted), ``claim`` (taken, with worker and attempt), ``set_progress`` (progress),
``append_chunk`` (first_chunk, for chunk 0), ``finish`` (finished), ``cancel`` and ``purge``
(cancelled), ``retry`` (retried), ``expire_leases`` (requeued or lost), ``expire_deadlines``
(timed_out) and ``webhook_attempted`` (webhook). A job keeps at most
:data:`pitstop.storage.stats.MAX_EVENTS` events (progress events only while it has fewer
than ``MAX_PROGRESS_EVENTS``); they are deleted with the job.

Statistics. Every transition to a terminal state also adds the job to its endpoint's
per-minute bucket (status count, queue-delay and execution-time histograms; see
:mod:`pitstop.storage.stats`), so :meth:`Store.stats` reads counters and never scans jobs.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from pitstop.models import (
    JSON,
    Chunk,
    Fence,
    Finish,
    GpuSample,
    Job,
    JobEvent,
    JobPage,
    JobStatus,
    LogLine,
    NewJob,
    Outcome,
    Result,
    StatBucket,
    SweepReport,
    WebhookDelivery,
    WorkerInfo,
    WorkerMeta,
)


def queue_key(endpoint: str) -> str:
    """Wakeup key notified when a job of ``endpoint`` may have become claimable."""
    return f"queue:{endpoint}"


def job_key(job_id: str) -> str:
    """Wakeup key notified whenever job ``job_id`` changes."""
    return f"job:{job_id}"


def stop_key(worker_id: str) -> str:
    """Wakeup key notified when a stop id is queued for ``worker_id``."""
    return f"stop:{worker_id}"


class Watch(Protocol):
    """A subscription to wakeup keys, armed from the moment it was entered."""

    async def wait(self, timeout: float) -> bool:
        """Wait until a watched key is notified (True) or ``timeout`` seconds pass (False).

        A notification that arrived since the watch was entered, or since the previous
        ``wait`` returned, makes this return True at once. Spurious wakeups are allowed:
        callers always re-check the state.
        """
        ...


class Store(abc.ABC):
    """Durable job storage with atomic transitions. One instance per server process."""

    # -- lifecycle -----------------------------------------------------------------------

    @abc.abstractmethod
    async def open(self) -> None:
        """Connect and create or migrate the schema. Idempotent."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release connections and wake every pending watch (they return False or True)."""

    @abc.abstractmethod
    def watch(self, *keys: str) -> AbstractAsyncContextManager[Watch]:
        """Subscribe to wakeup keys (see the module docstring)."""

    # -- client side -----------------------------------------------------------------------

    @abc.abstractmethod
    async def enqueue(self, job: NewJob, *, max_queue: int | None = None) -> Job:
        """Persist a new ``IN_QUEUE`` job and notify its queue key.

        Atomic and durable on return (the caller hands the id out only afterwards). With
        ``max_queue``, raises :class:`pitstop.errors.QueueFull` instead when the endpoint
        already has that many ``IN_QUEUE`` jobs. A duplicate id raises ``StorageError``.

        Idempotency: when ``job.idempotency`` is set and a retained job of the same endpoint
        was enqueued with the same key, nothing is written and that job is returned as it is
        now (its id differs from ``job.id``); with another fingerprint,
        :class:`pitstop.errors.IdempotencyConflict` is raised. The check and the insert are
        one atomic step, so concurrent submissions with one key create one job. A key lives as
        long as its job's record (it is forgotten when the job is deleted after retention).
        """

    @abc.abstractmethod
    async def get(self, job_id: str) -> Job | None:
        """The job, or None if it never existed or was deleted after its retention."""

    @abc.abstractmethod
    async def cancel(self, job_id: str, now: float) -> Job | None:
        """Cancel a job; return it as it is afterwards (None if unknown).

        Atomic. ``IN_QUEUE`` → ``CANCELLED`` at once. ``IN_PROGRESS`` → ``CANCELLED``, and
        the id is queued on the lease owner's stop list (``pop_stops``). A terminal job is
        returned unchanged. Retention starts at ``now``.
        """

    @abc.abstractmethod
    async def retry(self, job_id: str, now: float) -> Job | None:
        """Put a ``FAILED`` or ``TIMED_OUT`` job back to ``IN_QUEUE`` with the same id and input.

        Atomic. Clears output, error, progress and chunks; ``retries += 1``. A job in any
        other state is returned unchanged (the caller answers 400); None if unknown.
        """

    @abc.abstractmethod
    async def purge(self, endpoint: str, now: float) -> int:
        """Cancel every ``IN_QUEUE`` job of the endpoint (running ones go on); return how many.

        Each job is removed from the queue atomically; purged jobs become ``CANCELLED``.
        """

    @abc.abstractmethod
    async def read_stream(
        self, job_id: str, start: int | None = None, endpoint: str | None = None
    ) -> tuple[Job, list[Chunk]] | None:
        """Chunks of a job and the job itself (None if unknown).

        With ``start=None`` this is RunPod's cursor read: return the chunks not returned by
        an earlier cursor read and advance the job's cursor past them, atomically, so two
        concurrent readers never get the same chunk. With an int, return every chunk with
        ``seq >= start`` and leave the cursor alone (replay). With ``endpoint``, a job of
        another endpoint is None too, and its cursor is left alone.
        """

    @abc.abstractmethod
    async def set_retention(self, job_id: str, seconds: float, now: float) -> Job | None:
        """Keep a job's record for ``seconds`` from now (``/status?ttl=``); None if unknown."""

    @abc.abstractmethod
    async def counts(self, endpoint: str) -> dict[str, int]:
        """Job counts for ``/health``: one key per :class:`JobStatus` value plus ``retried``
        (sum of ``retries`` over the endpoint's retained jobs)."""

    @abc.abstractmethod
    async def recent(
        self, endpoint: str | None = None, limit: int = 50, status: JobStatus | None = None
    ) -> list[Job]:
        """Most recently created jobs first, optionally filtered (dashboard, CLI)."""

    @abc.abstractmethod
    async def endpoints(self) -> list[str]:
        """Every endpoint that has jobs or workers, sorted."""

    # -- worker side -----------------------------------------------------------------------

    @abc.abstractmethod
    async def claim(
        self, endpoint: str, worker_id: str, n: int, lease_s: float, now: float
    ) -> list[Job]:
        """Lease up to ``n`` claimable jobs to ``worker_id``; return them (maybe none).

        Atomic per job: ``IN_QUEUE`` → ``IN_PROGRESS``, ``attempt += 1``, lease owner and
        expiry set, ``started_at = now``. Normal jobs before ``lowPriority`` ones, oldest
        first. Jobs whose queue TTL has passed are not handed out. Two concurrent claims
        never get the same job.
        """

    @abc.abstractmethod
    async def renew(
        self, worker_id: str, job_ids: Sequence[str], lease_s: float, now: float
    ) -> list[str]:
        """Extend the leases of the listed jobs that ``worker_id`` still holds; return those ids."""

    @abc.abstractmethod
    async def release(self, worker_id: str, job_ids: Sequence[str] | None = None) -> list[str]:
        """Give up the leases ``worker_id`` holds (all, or only ``job_ids``); return those ids.

        Atomic. Each lease is made already expired, so the next :meth:`expire_leases` pass
        requeues the job (attempt counted, fenced as usual) or fails it once its attempts are
        used up, exactly as for a worker whose heartbeat stopped. Called when a worker is known
        to be gone (its process exited) or a take's answer never reached it.
        """

    @abc.abstractmethod
    async def set_progress(
        self,
        job_id: str,
        worker_id: str,
        attempt: int | None,
        progress: JSON,
        now: float | None = None,
    ) -> Outcome:
        """Record the latest ``progress_update`` value (fenced; ignored once terminal).

        ``now`` stamps the progress event (the store's clock when None)."""

    @abc.abstractmethod
    async def append_chunk(
        self,
        job_id: str,
        worker_id: str,
        attempt: int | None,
        output: JSON,
        now: float | None = None,
    ) -> Outcome:
        """Append one stream chunk in order (fenced). Sequence numbers are dense from 0.

        ``now`` stamps the first chunk's event (the store's clock when None)."""

    @abc.abstractmethod
    async def finish(
        self,
        job_id: str,
        worker_id: str,
        attempt: int | None,
        result: Result,
        now: float,
        retention_s: float,
    ) -> Outcome:
        """Store a worker's final result and move the job to COMPLETED or FAILED.

        Atomic and once: the transition, the result, the retention deadline and (if the job
        has a webhook) the outbox entry are written together. A repeat by the same worker
        and attempt after success is ``DUPLICATE``; a job already cancelled or timed out is
        ``IGNORED``; a report from a worker or attempt that no longer holds the job is
        ``STALE``; an unknown id is ``UNKNOWN``.
        """

    async def finish_many(self, items: Sequence[Finish], now: float) -> list[Outcome]:
        """:meth:`finish` for each item, in order; the outcomes in the same order.

        Each item is atomic and once exactly as its own ``finish`` would be; backends write
        them together (one SQLite operation, one Redis script) so a worker's batch of results
        costs one store call. If the call raises, any prefix of the items may have been
        stored: finishing them again is safe (the holder's repeat is ``DUPLICATE``). This
        default calls :meth:`finish` once per item.
        """
        return [
            await self.finish(i.job_id, i.worker_id, i.attempt, i.result, now, i.retention_s)
            for i in items
        ]

    @abc.abstractmethod
    async def pop_stops(self, worker_id: str) -> list[str]:
        """Take (and remove) the job ids queued on ``worker_id``'s stop list. Atomic."""

    @abc.abstractmethod
    async def record_ping(
        self,
        endpoint: str,
        worker_id: str,
        job_ids: Sequence[str],
        now: float,
        version: str | None,
        meta: WorkerMeta | None = None,
    ) -> None:
        """Remember that a worker is alive and what it is running (worker registry).

        ``meta`` (what a pitstop worker says about its process) replaces the stored one when
        given; None keeps it."""

    @abc.abstractmethod
    async def workers(self, endpoint: str, seen_since: float) -> list[WorkerInfo]:
        """Workers of the endpoint seen at or after ``seen_since``."""

    @abc.abstractmethod
    async def record_gpus(self, endpoint: str, samples: Mapping[str, GpuSample]) -> list[str]:
        """Keep each worker's latest GPU sample with its registry entry (replacing the one
        before); returns the ids recorded. A worker the registry does not hold (never seen,
        or forgotten) is left out: telemetry never makes a worker appear."""

    # -- sweeper -------------------------------------------------------------------------------

    @abc.abstractmethod
    async def expire_leases(self, now: float, max_attempts: int) -> SweepReport:
        """Handle ``IN_PROGRESS`` jobs whose lease expired before ``now``.

        Each job atomically goes back to ``IN_QUEUE`` (``retries += 1``, lease cleared,
        queue key notified) or, when ``attempt >= max_attempts``, to ``FAILED`` with an
        error saying the worker was lost. Safe with several sweepers running at once.
        """

    @abc.abstractmethod
    async def expire_deadlines(self, now: float, retention_s: float) -> SweepReport:
        """Time out jobs past their policy limits; each transition atomic, once.

        ``IN_QUEUE`` past ``created_at + ttl`` → ``TIMED_OUT``. ``IN_PROGRESS`` past
        ``started_at + executionTimeout`` → ``TIMED_OUT`` and the id goes on the worker's
        stop list. A running job is never deleted. Webhooks are queued as for ``finish``.
        """

    @abc.abstractmethod
    async def delete_expired(self, now: float) -> int:
        """Delete terminal jobs whose retention passed (record, chunks, logs); return count."""

    # -- webhook outbox -----------------------------------------------------------------------

    @abc.abstractmethod
    async def due_webhooks(self, now: float, limit: int) -> list[WebhookDelivery]:
        """Undelivered outbox entries whose ``next_at <= now``, oldest first.

        The entries returned are leased to the caller briefly (``next_at`` pushed forward)
        so concurrent sweepers do not send the same delivery at the same time.
        """

    @abc.abstractmethod
    async def webhook_attempted(
        self,
        delivery_id: str,
        ok: bool,
        error: str | None,
        next_at: float | None,
        now: float | None = None,
    ) -> None:
        """Record a delivery attempt: delivered, retry at ``next_at``, or given up (None).

        Also appends a webhook event to the job's timeline, stamped ``now`` (the store's
        clock when None)."""

    @abc.abstractmethod
    async def webhook_deliveries(self, job_id: str) -> list[WebhookDelivery]:
        """Every outbox entry of a job, with its outcome (for status and tests)."""

    # -- per-job logs ---------------------------------------------------------------------------

    @abc.abstractmethod
    async def append_logs(
        self, job_id: str, lines: Sequence[tuple[str, str]], now: float, fence: Fence | None = None
    ) -> Outcome:
        """Append ``(stream, text)`` lines a handler produced while running the job.

        With a ``fence`` the write is fenced like :meth:`append_chunk` (and a job of another
        endpoint is ``UNKNOWN``); without, any retained job takes them. Only the newest
        ``max_log_lines`` lines of a job are kept (a backend option, 10,000 by default).
        ``UNKNOWN`` for no such job.
        """

    @abc.abstractmethod
    async def read_logs(self, job_id: str, after_seq: int = -1) -> list[LogLine]:
        """Log lines of a job with ``seq > after_seq``, in order."""

    # -- console: job lists, timelines, statistics (dashboard, CLI) -----------------------

    @abc.abstractmethod
    async def job_page(
        self,
        endpoint: str,
        status: JobStatus | None = None,
        *,
        before: int | None = None,
        after: int | None = None,
        limit: int = 50,
    ) -> JobPage:
        """One page of the endpoint's retained jobs, newest first, optionally of one status.

        Keyset paging on :attr:`~pitstop.models.JobSummary.seq` (never an offset), so every
        page costs the same however many jobs are retained: ``before`` gives the ``limit``
        jobs just older than that seq, ``after`` the ``limit`` jobs just newer (still listed
        newest first), neither the newest. The page's ``older`` / ``newer`` cursors are set
        when a page in that direction may exist.
        """

    @abc.abstractmethod
    async def events(self, job_id: str) -> list[JobEvent]:
        """The job's timeline, oldest first (empty for an unknown job)."""

    @abc.abstractmethod
    async def stats(
        self, endpoint: str, since: float, until: float, step: int = 60
    ) -> list[StatBucket]:
        """The endpoint's non-empty buckets from ``since`` to ``until``, oldest first.

        ``step`` (a multiple of 60 seconds) merges the minutes into buckets that start at
        multiples of ``step`` (the first one holds ``since``). Reading a day at
        :data:`~pitstop.storage.stats.ROLLUP_S` costs about a hundred buckets, not 1,440.
        """
