"""The embedded default store: one SQLite file in WAL mode behind an async facade.

Design: a dedicated writer thread owns the only connection and runs every operation
serially, batching whatever is queued into one transaction (group commit, see
:mod:`pitstop.storage.sqlite.writer`). An awaited call returns after its transaction
committed with ``synchronous=NORMAL``, which survives a SIGKILL of the server process.
Wakeups are in-process (:mod:`pitstop.storage.notify`), so one SQLite file serves one server
process; use Redis to share a queue between servers.

Options (keyword arguments, also accepted by :meth:`SqliteStore.from_url`):

* ``retention_run_s`` / ``retention_sync_s``: how long a job cancelled, purged or failed by
  the sweeper is kept (``finish`` and ``expire_deadlines`` get retention from the caller);
* ``webhook_lease_s``: how long :meth:`due_webhooks` hides an entry from other sweepers;
* ``worker_ttl_s``: workers not seen for this long are forgotten by ``delete_expired``;
* ``max_batch``: most operations committed in one transaction;
* ``max_log_lines``: log lines kept per job (the oldest are dropped), as on Redis.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

from pitstop.errors import BadRequest, ConfigError, StorageError
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
from pitstop.storage.base import Store, Watch
from pitstop.storage.jsontext import dumps
from pitstop.storage.notify import Hub
from pitstop.storage.sqlite import events, ops, sweep
from pitstop.storage.sqlite.writer import Writer
from pitstop.storage.stats import encode_gpus, encode_meta

T = TypeVar("T")

_OPTIONS = {
    "retention_run_s": 1800.0,
    "retention_sync_s": 60.0,
    "webhook_lease_s": 30.0,
    "worker_ttl_s": 86400.0,
    "max_batch": 256,
    "max_log_lines": 10_000,
}


def path_from_url(url: str) -> str:
    """``sqlite:///rel/path`` → ``rel/path``; ``sqlite:////abs/path`` → ``/abs/path``;
    ``sqlite://:memory:`` (or ``sqlite:///:memory:``) → ``:memory:``."""
    scheme, sep, rest = url.partition("://")
    if scheme.lower() != "sqlite" or not sep:
        raise ConfigError(f"not a SQLite store URL: {url!r} (use sqlite:///PATH)")
    rest = rest.split("?", 1)[0]
    if rest in (":memory:", "/:memory:"):
        return ":memory:"
    if not rest.startswith("/") or rest == "/":
        raise ConfigError(
            f"bad SQLite store URL {url!r}: use sqlite:///relative/path.db or "
            "sqlite:////absolute/path.db"
        )
    return rest[1:]


def _finish_args(item: Finish, now: float) -> tuple[Any, ...]:
    """:func:`ops.finish`'s arguments for one result (the output encoded)."""
    result = item.result
    output = _encode(result.output, "output") if result.has_output else None
    return (
        item.job_id,
        item.worker_id,
        item.attempt,
        output,
        result.error,
        result.stop_pod,
        now,
        item.retention_s,
    )


def _encode(value: JSON, what: str) -> str:
    """JSON text for a value a client or worker sent; unencodable values are a 400."""
    try:
        return dumps(value)
    except (TypeError, ValueError) as exc:
        raise BadRequest(f"{what} is not JSON-serialisable: {exc}") from exc


class SqliteStore(Store):
    """:class:`~pitstop.storage.base.Store` on a SQLite file (see the module docstring)."""

    def __init__(self, path: str, **options: Any) -> None:
        unknown = set(options) - set(_OPTIONS)
        if unknown:
            raise ConfigError(
                f"unknown SQLite store option(s) {sorted(unknown)}; known: {sorted(_OPTIONS)}"
            )
        settings = {**_OPTIONS, **options}
        self.path = path if path == ":memory:" else os.path.abspath(path)
        self.retention_run_s = float(settings["retention_run_s"])
        self.retention_sync_s = float(settings["retention_sync_s"])
        self.webhook_lease_s = float(settings["webhook_lease_s"])
        self.worker_ttl_s = float(settings["worker_ttl_s"])
        self.max_batch = int(settings["max_batch"])
        self.max_log_lines = int(settings["max_log_lines"])
        self.schema_version = 0
        self._hub = Hub()
        self._writer: Writer | None = None

    @classmethod
    def from_url(cls, url: str, **options: Any) -> SqliteStore:
        """Build a store from ``sqlite:///PATH`` (see :func:`path_from_url`)."""
        return cls(path_from_url(url), **options)

    def __repr__(self) -> str:
        return f"SqliteStore({self.path!r})"

    # -- lifecycle -------------------------------------------------------------------------

    async def open(self) -> None:
        if self._writer is not None:
            return
        if self._hub.closed:
            self._hub = Hub()
        writer = Writer(self.path, self._hub.notify, self.max_batch)
        self.schema_version = await writer.start()
        self._writer = writer

    async def close(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            await writer.stop()
        self._hub.close()

    def watch(self, *keys: str) -> AbstractAsyncContextManager[Watch]:
        return self._hub.watch(*keys)

    async def _run(self, fn: Any, *args: Any) -> Any:
        writer = self._writer
        if writer is None:
            raise StorageError("the SQLite store is not open (call open() first)")
        return await writer.submit(fn, *args)

    def _retentions(self) -> tuple[float, float]:
        return self.retention_run_s, self.retention_sync_s

    # -- client side -----------------------------------------------------------------------

    async def enqueue(self, job: NewJob, *, max_queue: int | None = None) -> Job:
        input_text = _encode(job.input, "input")
        s3_text = None if job.s3_config is None else _encode(job.s3_config, "s3Config")
        result: Job = await self._run(ops.enqueue, job, input_text, s3_text, max_queue)
        return result

    async def get(self, job_id: str) -> Job | None:
        result: Job | None = await self._run(ops.get, job_id)
        return result

    async def cancel(self, job_id: str, now: float) -> Job | None:
        result: Job | None = await self._run(ops.cancel, job_id, now, *self._retentions())
        return result

    async def retry(self, job_id: str, now: float) -> Job | None:
        result: Job | None = await self._run(ops.retry, job_id, now)
        return result

    async def purge(self, endpoint: str, now: float) -> int:
        result: int = await self._run(ops.purge, endpoint, now, *self._retentions())
        return result

    async def read_stream(
        self, job_id: str, start: int | None = None, endpoint: str | None = None
    ) -> tuple[Job, list[Chunk]] | None:
        result: tuple[Job, list[Chunk]] | None = await self._run(
            ops.read_stream, job_id, start, endpoint
        )
        return result

    async def set_retention(self, job_id: str, seconds: float, now: float) -> Job | None:
        result: Job | None = await self._run(ops.set_retention, job_id, seconds, now)
        return result

    async def counts(self, endpoint: str) -> dict[str, int]:
        result: dict[str, int] = await self._run(ops.counts, endpoint)
        return result

    async def recent(
        self, endpoint: str | None = None, limit: int = 50, status: JobStatus | None = None
    ) -> list[Job]:
        result: list[Job] = await self._run(ops.recent, endpoint, limit, status)
        return result

    async def endpoints(self) -> list[str]:
        result: list[str] = await self._run(ops.endpoints)
        return result

    # -- worker side -----------------------------------------------------------------------

    async def claim(
        self, endpoint: str, worker_id: str, n: int, lease_s: float, now: float
    ) -> list[Job]:
        result: list[Job] = await self._run(ops.claim, endpoint, worker_id, n, lease_s, now)
        return result

    async def renew(
        self, worker_id: str, job_ids: Sequence[str], lease_s: float, now: float
    ) -> list[str]:
        result: list[str] = await self._run(ops.renew, worker_id, list(job_ids), lease_s, now)
        return result

    async def release(self, worker_id: str, job_ids: Sequence[str] | None = None) -> list[str]:
        ids = None if job_ids is None else list(dict.fromkeys(job_ids))
        result: list[str] = await self._run(ops.release, worker_id, ids)
        return result

    async def set_progress(
        self,
        job_id: str,
        worker_id: str,
        attempt: int | None,
        progress: JSON,
        now: float | None = None,
    ) -> Outcome:
        text = _encode(progress, "progress")
        result: Outcome = await self._run(
            ops.set_progress, job_id, worker_id, attempt, text, _clock(now)
        )
        return result

    async def append_chunk(
        self,
        job_id: str,
        worker_id: str,
        attempt: int | None,
        output: JSON,
        now: float | None = None,
    ) -> Outcome:
        text = _encode(output, "stream output")
        result: Outcome = await self._run(
            ops.append_chunk, job_id, worker_id, attempt, text, _clock(now)
        )
        return result

    async def finish(
        self,
        job_id: str,
        worker_id: str,
        attempt: int | None,
        result: Result,
        now: float,
        retention_s: float,
    ) -> Outcome:
        item = Finish(job_id, worker_id, attempt, result, retention_s)
        outcome: Outcome = await self._run(ops.finish, *_finish_args(item, now))
        return outcome

    async def finish_many(self, items: Sequence[Finish], now: float) -> list[Outcome]:
        rows = [_finish_args(item, now) for item in items]
        outcomes: list[Outcome] = await self._run(ops.finish_many, rows)
        return outcomes

    async def pop_stops(self, worker_id: str) -> list[str]:
        result: list[str] = await self._run(ops.pop_stops, worker_id)
        return result

    async def record_ping(
        self,
        endpoint: str,
        worker_id: str,
        job_ids: Sequence[str],
        now: float,
        version: str | None,
        meta: WorkerMeta | None = None,
    ) -> None:
        await self._run(
            sweep.record_ping,
            endpoint,
            worker_id,
            list(job_ids),
            now,
            version,
            encode_meta(meta),
        )

    async def workers(self, endpoint: str, seen_since: float) -> list[WorkerInfo]:
        result: list[WorkerInfo] = await self._run(sweep.workers, endpoint, seen_since)
        return result

    async def record_gpus(self, endpoint: str, samples: Mapping[str, GpuSample]) -> list[str]:
        encoded = [(worker_id, encode_gpus(sample)) for worker_id, sample in samples.items()]
        result: list[str] = await self._run(sweep.record_gpus, endpoint, encoded)
        return result

    # -- sweeper ---------------------------------------------------------------------------

    async def expire_leases(self, now: float, max_attempts: int) -> SweepReport:
        result: SweepReport = await self._run(
            sweep.expire_leases, now, max_attempts, *self._retentions()
        )
        return result

    async def expire_deadlines(self, now: float, retention_s: float) -> SweepReport:
        result: SweepReport = await self._run(sweep.expire_deadlines, now, retention_s)
        return result

    async def delete_expired(self, now: float) -> int:
        result: int = await self._run(sweep.delete_expired, now, self.worker_ttl_s)
        return result

    # -- webhook outbox --------------------------------------------------------------------

    async def due_webhooks(self, now: float, limit: int) -> list[WebhookDelivery]:
        result: list[WebhookDelivery] = await self._run(
            sweep.due_webhooks, now, limit, self.webhook_lease_s
        )
        return result

    async def webhook_attempted(
        self,
        delivery_id: str,
        ok: bool,
        error: str | None,
        next_at: float | None,
        now: float | None = None,
    ) -> None:
        await self._run(sweep.webhook_attempted, delivery_id, ok, error, next_at, _clock(now))

    async def webhook_deliveries(self, job_id: str) -> list[WebhookDelivery]:
        result: list[WebhookDelivery] = await self._run(sweep.webhook_deliveries, job_id)
        return result

    # -- per-job logs ----------------------------------------------------------------------

    async def append_logs(
        self, job_id: str, lines: Sequence[tuple[str, str]], now: float, fence: Fence | None = None
    ) -> Outcome:
        if not lines:
            return Outcome.ACCEPTED
        pairs = [tuple(line) for line in lines]
        result: Outcome = await self._run(
            sweep.append_logs, job_id, pairs, now, self.max_log_lines, fence
        )
        return result

    async def read_logs(self, job_id: str, after_seq: int = -1) -> list[LogLine]:
        result: list[LogLine] = await self._run(sweep.read_logs, job_id, after_seq)
        return result

    # -- console -----------------------------------------------------------------------------

    async def job_page(
        self,
        endpoint: str,
        status: JobStatus | None = None,
        *,
        before: int | None = None,
        after: int | None = None,
        limit: int = 50,
    ) -> JobPage:
        result: JobPage = await self._run(events.job_page, endpoint, status, before, after, limit)
        return result

    async def events(self, job_id: str) -> list[JobEvent]:
        result: list[JobEvent] = await self._run(events.events, job_id)
        return result

    async def stats(
        self, endpoint: str, since: float, until: float, step: int = 60
    ) -> list[StatBucket]:
        result: list[StatBucket] = await self._run(events.stats, endpoint, since, until, step)
        return result


def _clock(now: float | None) -> float:
    """The caller's time, or the wall clock (for primitives whose ``now`` is optional)."""
    return time.time() if now is None else now
