"""The Redis store: many servers (and worker hosts) share one queue through one Redis.

Design: every state transition is one server-side Lua script (:mod:`.scripts`),
registered once and called by SHA, so it is atomic across every server process sharing the
Redis; wakeups are published by the same scripts and fanned out locally by one pub/sub
connection per store (:mod:`.wake`). The key layout is in :mod:`.keys`.

A call returns after Redis acknowledged the write. Whether that write survives a Redis crash
is Redis's persistence setting (``appendonly yes`` with ``appendfsync everysec`` or
``always``; see ``docs/scaling.md``). Finished jobs cost bounded memory: their keys get a Redis
expiry (retention plus ``expire_grace_s``) besides the sweeper's :meth:`delete_expired`, and
each job keeps at most ``max_log_lines`` log lines.

Options (keyword arguments, or query parameters of the URL, e.g.
``redis://host:6379/0?prefix=prod``):

* ``prefix``: namespace of every key and channel (default ``pitstop``);
* ``retention_run_s`` / ``retention_sync_s``: how long a job cancelled, purged or failed by
  the sweeper is kept (``finish`` and ``expire_deadlines`` get retention from the caller);
* ``webhook_lease_s``: how long :meth:`due_webhooks` hides an entry from other sweepers;
* ``worker_ttl_s``: workers not seen for this long are forgotten;
* ``expire_grace_s``: how long a finished job's keys outlive its retention in Redis;
* ``max_log_lines``: log lines kept per job (the oldest are dropped);
* ``max_connections`` / ``pool_timeout_s``: connections to Redis per store (calls beyond
  wait up to the timeout for a free one; the pub/sub subscriber needs one more);
* ``timeout_s``: how long one command may wait for Redis (connect or reply) before the call
  fails as unavailable.

Outages (Redis down, restarting, hung, refusing writes) raise
:class:`~pitstop.errors.StoreUnavailable` (see :mod:`.outage`); the connections reconnect by
themselves. A submit is never left half-known when Redis can be asked again: see
:meth:`RedisStore.enqueue`.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pitstop.errors import (
    ConfigError,
    IdempotencyConflict,
    MissingExtraError,
    QueueFull,
    StorageError,
)
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
from pitstop.storage.jsontext import loads
from pitstop.storage.redis import console
from pitstop.storage.redis.keys import (
    QM_PREFIX_LEN,
    attempt_arg,
    decode_delivery,
    decode_flat_job,
    decode_job,
    encode_value,
    flat,
    fnum,
    new_job_fields,
    script_arg,
)
from pitstop.storage.redis.outage import guard_outages, is_outage, unavailable
from pitstop.storage.redis.pipe import AutoPipeline, InFlightLost, connection_class
from pitstop.storage.redis.scripts import SCRIPTS
from pitstop.storage.redis.wake import Wakeups
from pitstop.storage.stats import (
    decode_gpus,
    decode_meta,
    encode_gpus,
    encode_meta,
    short_text,
    webhook_failure,
)

aioredis: Any
try:
    import redis.asyncio as aioredis
    from redis.exceptions import NoScriptError
except ImportError:  # pragma: no cover - exercised only without the extra
    aioredis = None

    class NoScriptError(Exception):  # type: ignore[no-redef]
        """Stand-in so the module imports without redis-py (the store then refuses to build)."""


_OPTIONS: dict[str, Any] = {
    "prefix": "pitstop",
    "retention_run_s": 1800.0,
    "retention_sync_s": 60.0,
    "webhook_lease_s": 30.0,
    "worker_ttl_s": 86400.0,
    "expire_grace_s": 3600.0,
    "max_log_lines": 10_000,
    "max_connections": 64,
    "pool_timeout_s": 30.0,
    "timeout_s": 5.0,
}
_BATCH = 500
"""Most jobs one sweeper script handles (the sweeper methods loop until done)."""


def split_url(url: str, options: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Move pitstop's own query parameters (the option names) out of a Redis URL."""
    parts = urlsplit(url)
    ours: dict[str, Any] = {}
    theirs: list[tuple[str, str]] = []
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name in _OPTIONS:
            ours[name] = value
        else:
            theirs.append((name, value))
    clean = urlunsplit(parts._replace(query=urlencode(theirs)))
    return clean, {**ours, **options}


@guard_outages
class RedisStore(Store):
    """:class:`~pitstop.storage.base.Store` on Redis 6.2+ (see the module docstring)."""

    def __init__(self, url: str, prefix: str = "pitstop", **options: Any) -> None:
        if aioredis is None:
            raise MissingExtraError("redis", "redis")
        unknown = set(options) - set(_OPTIONS)
        if unknown:
            raise ConfigError(
                f"unknown Redis store option(s) {sorted(unknown)}; known: {sorted(_OPTIONS)}"
            )
        if "prefix" in options:
            raise ConfigError("give the Redis key prefix once")
        settings = {**_OPTIONS, **options, "prefix": prefix}
        if not prefix or any(c.isspace() for c in prefix):
            raise ConfigError(f"bad Redis key prefix {prefix!r}")
        self.url = url
        self.prefix = str(settings["prefix"])
        self.retention_run_s = float(settings["retention_run_s"])
        self.retention_sync_s = float(settings["retention_sync_s"])
        self.webhook_lease_s = float(settings["webhook_lease_s"])
        self.worker_ttl_s = float(settings["worker_ttl_s"])
        self.expire_grace_s = float(settings["expire_grace_s"])
        self.max_log_lines = int(settings["max_log_lines"])
        self.max_connections = int(settings["max_connections"])
        self.pool_timeout_s = float(settings["pool_timeout_s"])
        self.timeout_s = float(settings["timeout_s"])
        self._client: Any = None
        self._subscriber: Any = None
        self._shas: dict[str, str] = {}
        self._common: tuple[str, ...] = ()
        self._pipe: AutoPipeline | None = None
        self._wakeups: Wakeups | None = None

    @classmethod
    def from_url(cls, url: str, **options: Any) -> RedisStore:
        """Build a store from ``redis://[:password@]host:port/db[?prefix=NAME&...]``."""
        clean, merged = split_url(url, options)
        prefix = str(merged.pop("prefix", _OPTIONS["prefix"]))
        return cls(clean, prefix, **merged)

    def __repr__(self) -> str:
        return f"RedisStore({self.url!r}, prefix={self.prefix!r})"

    def _key(self, kind: str, name: str | None = None) -> str:
        return f"{self.prefix}:{kind}" if name is None else f"{self.prefix}:{kind}:{name}"

    # -- lifecycle -------------------------------------------------------------------------

    async def open(self) -> None:
        if self._client is not None:
            return
        extra: dict[str, Any] = {}
        fast = connection_class(self.url)
        if fast is not None:
            extra["connection_class"] = fast
        pool = aioredis.BlockingConnectionPool.from_url(
            self.url,
            max_connections=self.max_connections,
            timeout=self.pool_timeout_s,
            socket_timeout=self.timeout_s,
            socket_connect_timeout=self.timeout_s,
            decode_responses=True,
            client_name=f"pitstop:{self.prefix}",
            **extra,
        )
        client = aioredis.Redis.from_pool(pool)
        # The subscriber idles for as long as nothing is published: no read timeout.
        subscriber = aioredis.Redis.from_url(
            self.url,
            socket_connect_timeout=self.timeout_s,
            decode_responses=True,
            client_name=f"pitstop:{self.prefix}",
        )
        try:
            await client.ping()
        except Exception as exc:
            await _close_all(client, subscriber)
            raise StorageError(f"cannot reach Redis at {self.url}: {exc}") from exc
        try:
            self._shas = await _load_scripts(client)
            wakeups = Wakeups(subscriber, self.prefix)
            await wakeups.start()
        except Exception as exc:
            await _close_all(client, subscriber)
            raise StorageError(f"cannot set up the Redis store at {self.url}: {exc}") from exc
        self._pipe = AutoPipeline(client, self.timeout_s)
        self._common = tuple(
            map(
                script_arg,
                (self.prefix, self.expire_grace_s, self.retention_run_s, self.retention_sync_s),
            )
        )
        self._client, self._subscriber, self._wakeups = client, subscriber, wakeups

    async def close(self) -> None:
        wakeups, self._wakeups = self._wakeups, None
        if wakeups is not None:
            await wakeups.stop()
        client, self._client = self._client, None
        if client is not None:
            if self._pipe is not None:
                await self._pipe.drain()
                await self._pipe.close()
            await client.aclose()
        self._pipe = None
        subscriber, self._subscriber = self._subscriber, None
        if subscriber is not None:
            await subscriber.aclose()

    def watch(self, *keys: str) -> AbstractAsyncContextManager[Watch]:
        if self._wakeups is None:
            raise StorageError("the Redis store is not open (call open() first)")
        return self._wakeups.watch(*keys)

    async def _call(self, name: str, *args: Any) -> Any:
        """Run script ``name`` (auto-pipelined) with the shared leading arguments."""
        argv = [*self._common, *map(script_arg, args)]
        try:
            return await self._command("EVALSHA", self._shas[name], 0, *argv)
        except NoScriptError:  # Redis restarted or SCRIPT FLUSH: load again, once
            self._shas = await _load_scripts(self._redis())
            return await self._command("EVALSHA", self._shas[name], 0, *argv)

    async def _command(self, *args: Any) -> Any:
        if self._pipe is None:
            raise StorageError("the Redis store is not open (call open() first)")
        return await self._pipe.call(*args)

    async def _job_call(self, name: str, *args: Any) -> Job | None:
        return decode_flat_job(await self._call(name, *args))

    # -- client side -----------------------------------------------------------------------

    async def enqueue(self, job: NewJob, *, max_queue: int | None = None) -> Job:
        fields = new_job_fields(
            job.id,
            job.endpoint,
            encode_value(job.input, "input"),
            job.webhook,
            job.policy,
            None if job.s3_config is None else encode_value(job.s3_config, "s3Config"),
            job.sync,
            job.created_at,
        )
        limit = "" if max_queue is None else str(max_queue)
        idem = job.idempotency
        marks = ("", "") if idem is None else (idem.key, idem.fingerprint)
        args = (job.id, job.endpoint, limit, *marks, *flat(fields))
        try:
            answer = str(await self._call("enqueue", *args))
        except InFlightLost:
            answer = await self._enqueue_again(job.id, args)
        kind, _, held = answer.partition(":")
        if kind in ("existing", "conflict"):
            return await self._idempotent(job, kind, held, max_queue)
        if answer == "duplicate":
            raise StorageError(f"duplicate job id {job.id!r}")
        if answer == "full":
            raise QueueFull(
                f"endpoint {job.endpoint!r} already has {max_queue} queued jobs (limit {max_queue})"
            )
        return job.queued()

    async def _idempotent(self, job: NewJob, kind: str, held: str, max_queue: int | None) -> Job:
        """The job already holding the submission's idempotency key (409 on another body)."""
        if held == job.id:  # our own submit, answered again after a lost connection
            return job.queued() if (found := await self.get(held)) is None else found
        if kind == "conflict":
            assert job.idempotency is not None
            raise IdempotencyConflict(
                f"Idempotency-Key {job.idempotency.key!r} was used for job {held} "
                "with a different body"
            )
        found = await self.get(held)
        if found is None:  # deleted after its retention a moment ago: the key is free again
            return await self.enqueue(job, max_queue=max_queue)
        return found

    async def _enqueue_again(self, job_id: str, args: tuple[Any, ...]) -> str:
        """Settle a submit whose connection failed after it was sent: send it again.

        The new connection first kills the old one's client (see :mod:`.pipe`), so the first
        send can no longer run afterwards; the script answers ``duplicate`` when it already
        had, which here means "stored". If Redis cannot be asked, the 503 says so:
        ``details = {"jobId": ..., "stored": "unknown"}``, for the client to look it up.
        """
        try:
            answer = str(await self._call("enqueue", *args))
        except Exception as exc:
            if is_outage(exc):
                raise unavailable(exc, {"jobId": job_id, "stored": "unknown"}) from exc
            raise
        return "ok" if answer == "duplicate" else answer

    async def get(self, job_id: str) -> Job | None:
        mapping = await self._command("HGETALL", self._key("job", job_id))
        return decode_job(mapping) if mapping else None

    async def cancel(self, job_id: str, now: float) -> Job | None:
        return await self._job_call("cancel", job_id, now)

    async def retry(self, job_id: str, now: float) -> Job | None:
        return await self._job_call("retry", job_id, now)

    async def purge(self, endpoint: str, now: float) -> int:
        total = 0
        while True:
            purged, seen = await self._call("purge", endpoint, now, _BATCH)
            total += int(purged)
            if int(seen) < _BATCH:
                return total

    async def read_stream(
        self, job_id: str, start: int | None = None, endpoint: str | None = None
    ) -> tuple[Job, list[Chunk]] | None:
        if start is None:
            answer = await self._call("read_cursor", job_id, endpoint or "")
            if not answer:
                return None
            record, first, texts = answer
        else:
            first = max(0, start)
            async with self._redis().pipeline(transaction=True) as pipe:
                pipe.hgetall(self._key("job", job_id))
                pipe.lrange(self._key("chunks", job_id), first, -1)
                mapping, texts = await pipe.execute()
            record = flat(mapping)
        job = decode_flat_job(record)
        if job is None or (endpoint is not None and job.endpoint != endpoint):
            return None
        return job, [Chunk(int(first) + i, loads(text)) for i, text in enumerate(texts)]

    async def set_retention(self, job_id: str, seconds: float, now: float) -> Job | None:
        return await self._job_call("set_retention", job_id, now, seconds)

    async def counts(self, endpoint: str) -> dict[str, int]:
        raw = await self._command("HGETALL", self._key("counts", endpoint))
        result = {status.value: max(0, int(raw.get(status.value, 0))) for status in JobStatus}
        result["retried"] = max(0, int(raw.get("retried", 0)))
        return result

    async def recent(
        self, endpoint: str | None = None, limit: int = 50, status: JobStatus | None = None
    ) -> list[Job]:
        index = self._key("recent", endpoint) if endpoint is not None else self._key("recent")
        wanted = None if status is None else JobStatus(status)
        found: list[Job] = []
        start = 0
        page = max(limit, 1) if wanted is None else max(4 * limit, 200)
        while len(found) < limit:
            members = await self._redis().zrevrange(index, start, start + page - 1)
            if not members:
                break
            start += len(members)
            for job in await self._jobs([m[QM_PREFIX_LEN:] for m in members]):
                if job is not None and (wanted is None or job.status is wanted):
                    found.append(job)
        return found[: max(0, limit)]

    async def endpoints(self) -> list[str]:
        client = self._redis()
        names = sorted(await client.smembers(self._key("endpoints")))
        async with client.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.hgetall(self._key("counts", name))
                pipe.zcard(self._key("wseen", name))
            replies = await pipe.execute()
        live = []
        for i, name in enumerate(names):
            counts, workers = replies[2 * i], replies[2 * i + 1]
            held = sum(int(v) for k, v in counts.items() if k != "retried")
            if held > 0 or workers > 0:
                live.append(name)
        return live

    # -- worker side -----------------------------------------------------------------------

    async def claim(
        self, endpoint: str, worker_id: str, n: int, lease_s: float, now: float
    ) -> list[Job]:
        if n <= 0:
            return []
        rows = await self._call("claim", endpoint, worker_id, n, fnum(now + lease_s), now)
        return [job for job in map(decode_flat_job, rows) if job is not None]

    async def renew(
        self, worker_id: str, job_ids: Sequence[str], lease_s: float, now: float
    ) -> list[str]:
        ids = list(dict.fromkeys(job_ids))
        if not ids:
            return []
        held = set(await self._call("renew", worker_id, fnum(now + lease_s), *ids))
        return [job_id for job_id in ids if job_id in held]

    async def release(self, worker_id: str, job_ids: Sequence[str] | None = None) -> list[str]:
        if job_ids is not None and not job_ids:
            return []
        ids = list(dict.fromkeys(job_ids or ()))
        released: list[str] = await self._call("release", worker_id, *ids)
        return released

    async def set_progress(
        self,
        job_id: str,
        worker_id: str,
        attempt: int | None,
        progress: JSON,
        now: float | None = None,
    ) -> Outcome:
        text = encode_value(progress, "progress")
        answer = await self._call(
            "set_progress",
            job_id,
            worker_id,
            attempt_arg(attempt),
            text,
            _clock(now),
            short_text(text),
        )
        return Outcome(answer)

    async def append_chunk(
        self,
        job_id: str,
        worker_id: str,
        attempt: int | None,
        output: JSON,
        now: float | None = None,
    ) -> Outcome:
        text = encode_value(output, "stream output")
        answer = await self._call(
            "append_chunks", job_id, worker_id, attempt_arg(attempt), _clock(now), text
        )
        return Outcome(answer)

    async def finish(
        self,
        job_id: str,
        worker_id: str,
        attempt: int | None,
        result: Result,
        now: float,
        retention_s: float,
    ) -> Outcome:
        answer = await self._call(
            "finish", job_id, worker_id, attempt_arg(attempt), now, retention_s, *_result(result)
        )
        return Outcome(answer)

    async def finish_many(self, items: Sequence[Finish], now: float) -> list[Outcome]:
        if not items:
            return []
        args: list[Any] = [now]
        for i in items:
            args += (i.job_id, i.worker_id, attempt_arg(i.attempt), i.retention_s)
            args += _result(i.result)
        answers = await self._call("finish_many", *args)
        return [Outcome(answer) for answer in answers]

    async def pop_stops(self, worker_id: str) -> list[str]:
        return sorted(set(await self._call("pop_stops", worker_id)))

    async def record_ping(
        self,
        endpoint: str,
        worker_id: str,
        job_ids: Sequence[str],
        now: float,
        version: str | None,
        meta: WorkerMeta | None = None,
    ) -> None:
        await self._call(
            "record_ping",
            endpoint,
            worker_id,
            now,
            json.dumps(list(job_ids)),
            version is not None,
            version or "",
            self.worker_ttl_s,
            meta is not None,
            encode_meta(meta) or "",
        )

    async def workers(self, endpoint: str, seen_since: float) -> list[WorkerInfo]:
        # Auto-pipelined commands (raw replies), so /metrics' one call per endpoint batches.
        seen = await self._command(
            "ZRANGEBYSCORE", self._key("wseen", endpoint), fnum(seen_since), "+inf", "WITHSCORES"
        )
        if not seen:
            return []
        ids, ats = seen[::2], seen[1::2]
        jobs, versions, metas, gpus = await asyncio.gather(
            self._command("HMGET", self._key("workers", endpoint), *ids),
            self._command("HMGET", self._key("wver", endpoint), *ids),
            self._command("HMGET", self._key("wmeta", endpoint), *ids),
            self._command("HMGET", self._key("wgpus", endpoint), *ids),
        )
        infos = [
            WorkerInfo(
                worker_id,
                endpoint,
                float(at),
                tuple(json.loads(held or "[]")),
                version,
                decode_meta(meta),
                decode_gpus(sample),
            )
            for worker_id, at, held, version, meta, sample in zip(
                ids, ats, jobs, versions, metas, gpus, strict=True
            )
        ]
        return sorted(infos, key=lambda info: info.id)

    async def record_gpus(self, endpoint: str, samples: Mapping[str, GpuSample]) -> list[str]:
        if not samples:
            return []
        pairs = [part for wid, s in samples.items() for part in (wid, encode_gpus(s))]
        recorded: list[str] = await self._call("record_gpus", endpoint, *pairs)
        return recorded

    # -- sweeper -------------------------------------------------------------------------------

    async def expire_leases(self, now: float, max_attempts: int) -> SweepReport:
        report = SweepReport()
        while True:
            requeued, failed, seen = await self._call("expire_leases", now, max_attempts, _BATCH)
            report.requeued.extend(requeued)
            report.failed.extend(failed)
            if int(seen) < _BATCH:
                return report

    async def expire_deadlines(self, now: float, retention_s: float) -> SweepReport:
        report = SweepReport()
        while True:
            timed, seen = await self._call("expire_deadlines", now, retention_s, _BATCH)
            report.timed_out.extend(timed)
            if int(seen) < _BATCH:
                return report

    async def delete_expired(self, now: float) -> int:
        total = 0
        while True:
            deleted, seen = await self._call("delete_expired", now, _BATCH)
            total += int(deleted)
            if int(seen) < _BATCH:
                return total

    # -- webhook outbox --------------------------------------------------------------------

    async def due_webhooks(self, now: float, limit: int) -> list[WebhookDelivery]:
        if limit <= 0:
            return []
        rows = await self._call("due_webhooks", now, limit, fnum(now + self.webhook_lease_s))
        return [decode_delivery(row) for row in rows]

    async def webhook_attempted(
        self,
        delivery_id: str,
        ok: bool,
        error: str | None,
        next_at: float | None,
        now: float | None = None,
    ) -> None:
        await self._call(
            "webhook_attempted",
            delivery_id,
            ok,
            error is not None,
            error or "",
            "" if next_at is None else fnum(next_at),
            _clock(now),
            webhook_failure(error, next_at),
        )

    async def webhook_deliveries(self, job_id: str) -> list[WebhookDelivery]:
        client = self._redis()
        ids = await client.lrange(self._key("whjob", job_id), 0, -1)
        if not ids:
            return []
        async with client.pipeline(transaction=False) as pipe:
            for delivery_id in ids:
                pipe.hgetall(self._key("wh", delivery_id))
            rows = await pipe.execute()
        return [decode_delivery(flat(row)) for row in rows if row]

    # -- per-job logs ---------------------------------------------------------------------------

    async def append_logs(
        self, job_id: str, lines: Sequence[tuple[str, str]], now: float, fence: Fence | None = None
    ) -> Outcome:
        if not lines:
            return Outcome.ACCEPTED
        items = [item for stream, text in lines for item in (stream.replace("|", "/"), text)]
        args = ("", "", "") if fence is None else _fence_args(fence)
        answer = await self._call("append_logs", job_id, now, self.max_log_lines, *args, *items)
        return Outcome(answer)

    async def read_logs(self, job_id: str, after_seq: int = -1) -> list[LogLine]:
        rows = await self._call("read_logs", job_id, after_seq)
        lines = []
        for row in rows:
            seq, at, stream, text = row.split("|", 3)
            if int(seq) > after_seq:
                lines.append(LogLine(int(seq), float(at), stream, text))
        return lines

    # -- helpers ---------------------------------------------------------------------------

    def _redis(self) -> Any:
        if self._client is None:
            raise StorageError("the Redis store is not open (call open() first)")
        return self._client

    async def _jobs(self, job_ids: list[str]) -> list[Job | None]:
        async with self._redis().pipeline(transaction=False) as pipe:
            for job_id in job_ids:
                pipe.hgetall(self._key("job", job_id))
            rows = await pipe.execute()
        return [decode_job(row) if row else None for row in rows]

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
        return await console.job_page(
            self._redis(), self.prefix, endpoint, status, before, after, limit
        )

    async def events(self, job_id: str) -> list[JobEvent]:
        return await console.events(self._redis(), self.prefix, job_id)

    async def stats(
        self, endpoint: str, since: float, until: float, step: int = 60
    ) -> list[StatBucket]:
        return await console.stats(self._redis(), self.prefix, endpoint, since, until, step)


def _result(result: Result) -> tuple[Any, ...]:
    """A result's script arguments: status, has/output, has/error, stopPod."""
    output = encode_value(result.output, "output") if result.has_output else ""
    error = result.error or ""
    return (result.status.value, result.has_output, output, bool(error), error, result.stop_pod)


def _clock(now: float | None) -> float:
    """The caller's time, or the wall clock (for primitives whose ``now`` is optional)."""
    return time.time() if now is None else now


async def _close_all(*clients: Any) -> None:
    for client in clients:
        await client.aclose()


def _fence_args(fence: Fence) -> tuple[str, str, str]:
    """A fence as the script arguments worker, attempt, endpoint ("" for any)."""
    return fence.worker_id, attempt_arg(fence.attempt), fence.endpoint or ""


async def _load_scripts(client: Any) -> dict[str, str]:
    """``SCRIPT LOAD`` every script; return name -> SHA1."""
    return {name: str(await client.script_load(src)) for name, src in SCRIPTS.items()}
