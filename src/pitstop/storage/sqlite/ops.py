"""The job operations of the SQLite store, as plain functions run by the writer thread.

Each function gets a :class:`~pitstop.storage.sqlite.writer.Tx` and runs inside the batch
transaction; if it raises, its writes are undone alone, so every function here is atomic as
a whole. JSON values
arrive already encoded as text (the async facade encodes them in the caller's thread).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from pitstop.errors import IdempotencyConflict, QueueFull, StorageError
from pitstop.models import (
    RETRYABLE_STATES,
    Chunk,
    EventKind,
    Idempotency,
    Job,
    JobStatus,
    NewJob,
    Outcome,
)
from pitstop.storage.base import job_key, queue_key, stop_key
from pitstop.storage.jsontext import loads
from pitstop.storage.sqlite.events import add_event, job_ended
from pitstop.storage.sqlite.rows import (
    JOB_COLUMNS,
    end_job,
    fetch_job,
    queue_webhook,
    row_to_job,
)
from pitstop.storage.sqlite.writer import Tx

IN_QUEUE = JobStatus.IN_QUEUE.value
IN_PROGRESS = JobStatus.IN_PROGRESS.value


# -- client side ------------------------------------------------------------------------------


def enqueue(
    tx: Tx, job: NewJob, input_text: str, s3_text: str | None, max_queue: int | None
) -> Job:
    """Insert a new IN_QUEUE job (refusing it when the queue is at ``max_queue``), or return
    the job that already holds the submission's idempotency key."""
    if job.idempotency is not None:
        existing = _idempotent_job(tx, job.endpoint, job.idempotency)
        if existing is not None:
            return existing
    if max_queue is not None:
        row = tx.one(
            "SELECT n FROM job_counts WHERE endpoint = ? AND status = 'IN_QUEUE'", (job.endpoint,)
        )
        if row is not None and row[0] >= max_queue:
            raise QueueFull(
                f"endpoint {job.endpoint!r} already has {row[0]} queued jobs (limit {max_queue})"
            )
    policy = job.policy
    deadline = job.queue_deadline
    try:
        tx.conn.execute(
            "INSERT INTO jobs (id, endpoint, status, input, webhook, exec_timeout_ms, ttl_ms, "
            "low_priority, s3_config, sync, created_at, queue_deadline) "
            "VALUES (?, ?, 'IN_QUEUE', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                job.id,
                job.endpoint,
                input_text,
                job.webhook,
                policy.execution_timeout_ms,
                policy.ttl_ms,
                int(policy.low_priority),
                s3_text,
                int(job.sync),
                job.created_at,
                deadline,
            ),
        )
    except sqlite3.IntegrityError as exc:
        raise StorageError(f"duplicate job id {job.id!r}") from exc
    if job.idempotency is not None:
        tx.conn.execute(
            "INSERT OR REPLACE INTO idempotency (endpoint, key, job_id, fingerprint) "
            "VALUES (?, ?, ?, ?)",
            (job.endpoint, job.idempotency.key, job.id, job.idempotency.fingerprint),
        )
    add_event(
        tx, job.id, EventKind.SUBMITTED, job.created_at, detail="runsync" if job.sync else None
    )
    tx.notify(queue_key(job.endpoint), job_key(job.id))
    return job.queued()


def _idempotent_job(tx: Tx, endpoint: str, idem: Idempotency) -> Job | None:
    """The retained job holding ``idem.key`` on ``endpoint`` (409 on another fingerprint)."""
    row = tx.one(
        "SELECT job_id, fingerprint FROM idempotency WHERE endpoint = ? AND key = ?",
        (endpoint, idem.key),
    )
    if row is None:
        return None
    existing = fetch_job(tx, row[0])
    if existing is None:
        return None
    if row[1] != idem.fingerprint:
        raise IdempotencyConflict(
            f"Idempotency-Key {idem.key!r} was used for job {row[0]} with a different body"
        )
    return existing


def get(tx: Tx, job_id: str) -> Job | None:
    """The job, or None."""
    return fetch_job(tx, job_id)


def cancel(
    tx: Tx, job_id: str, now: float, retention_s: float, sync_retention_s: float
) -> Job | None:
    """Cancel an active job (queueing a stop for its worker if it runs); terminal: unchanged."""
    row = tx.one("SELECT status, worker_id, webhook, sync FROM jobs WHERE id = ?", (job_id,))
    if row is None:
        return None
    status, worker_id, webhook, sync = row
    if status in (IN_QUEUE, IN_PROGRESS):
        keep = sync_retention_s if sync else retention_s
        end_job(tx, job_id, JobStatus.CANCELLED, now, keep, "cancel", None, webhook is not None)
        if status == IN_PROGRESS and worker_id is not None:
            queue_stop(tx, worker_id, job_id)
    return fetch_job(tx, job_id)


def retry(tx: Tx, job_id: str, now: float) -> Job | None:
    """Requeue a FAILED/TIMED_OUT job under the same id with its output and chunks cleared.

    The attempt counter keeps counting (so reports of older attempts stay fenced out) but
    ``attempt_base`` restarts the ``max_attempts`` budget; the queue TTL restarts at ``now``.
    """
    row = tx.one("SELECT status, endpoint FROM jobs WHERE id = ?", (job_id,))
    if row is None:
        return None
    if JobStatus(row[0]) not in RETRYABLE_STATES:
        return fetch_job(tx, job_id)
    tx.conn.execute("DELETE FROM chunks WHERE job_id = ?", (job_id,))
    tx.conn.execute(
        "UPDATE jobs SET status = 'IN_QUEUE', retries = retries + 1, attempt_base = attempt, "
        "worker_id = NULL, lease_expires_at = NULL, started_at = NULL, finished_at = NULL, "
        "output = NULL, has_output = 0, error = NULL, progress = NULL, has_progress = 0, "
        "stop_pod = 0, chunk_count = 0, stream_cursor = 0, run_deadline = NULL, "
        "retain_until = NULL, end_reason = NULL, queue_deadline = CASE WHEN ttl_ms IS NULL "
        "THEN NULL ELSE ? + ttl_ms / 1000.0 END WHERE id = ?",
        (now, job_id),
    )
    add_event(tx, job_id, EventKind.RETRIED, now)
    tx.notify(queue_key(row[1]), job_key(job_id))
    return fetch_job(tx, job_id)


def purge(tx: Tx, endpoint: str, now: float, retention_s: float, sync_retention_s: float) -> int:
    """Cancel every queued job of the endpoint; return how many."""
    rows = tx.all(
        "SELECT id, webhook, sync FROM jobs WHERE status = 'IN_QUEUE' AND endpoint = ?",
        (endpoint,),
    )
    for job_id, webhook, sync in rows:
        keep = sync_retention_s if sync else retention_s
        end_job(tx, job_id, JobStatus.CANCELLED, now, keep, "purge", None, webhook is not None)
    return len(rows)


def read_stream(
    tx: Tx, job_id: str, start: int | None, endpoint: str | None
) -> tuple[Job, list[Chunk]] | None:
    """Cursor read (``start=None``, advances the cursor) or replay from ``start``; a job of
    another ``endpoint`` (when given) is None and its cursor stays."""
    job = fetch_job(tx, job_id)
    if job is None or (endpoint is not None and job.endpoint != endpoint):
        return None
    if start is None:
        (cursor,) = tx.one("SELECT stream_cursor FROM jobs WHERE id = ?", (job_id,))
    else:
        cursor = max(0, start)
    rows = tx.all(
        "SELECT seq, output FROM chunks WHERE job_id = ? AND seq >= ? ORDER BY seq",
        (job_id, cursor),
    )
    if start is None and rows:
        tx.conn.execute("UPDATE jobs SET stream_cursor = ? WHERE id = ?", (rows[-1][0] + 1, job_id))
    return job, [Chunk(seq, loads(text)) for seq, text in rows]


def set_retention(tx: Tx, job_id: str, seconds: float, now: float) -> Job | None:
    """Keep the record until ``now + seconds``."""
    tx.conn.execute("UPDATE jobs SET retain_until = ? WHERE id = ?", (now + seconds, job_id))
    return fetch_job(tx, job_id)


def counts(tx: Tx, endpoint: str) -> dict[str, int]:
    """Per-status counts and the ``retried`` total, from the trigger-maintained table."""
    result = {status.value: 0 for status in JobStatus}
    retried = 0
    for status, n, retries in tx.all(
        "SELECT status, n, retries FROM job_counts WHERE endpoint = ?", (endpoint,)
    ):
        result[status] = n
        retried += retries
    result["retried"] = retried
    return result


def recent(tx: Tx, endpoint: str | None, limit: int, status: JobStatus | None) -> list[Job]:
    """Newest jobs first (insertion order), optionally filtered by endpoint and status."""
    where: list[str] = []
    params: list[Any] = []
    if endpoint is not None:
        where.append("endpoint = ?")
        params.append(endpoint)
    if status is not None:
        where.append("status = ?")
        params.append(JobStatus(status).value)
    clause = f"WHERE {' AND '.join(where)} " if where else ""
    params.append(max(0, limit))
    rows = tx.all(
        f"SELECT {JOB_COLUMNS} FROM jobs {clause}ORDER BY seq DESC LIMIT ?",
        params,
    )
    return [row_to_job(row) for row in rows]


def endpoints(tx: Tx) -> list[str]:
    """Endpoints with retained jobs or known workers, sorted."""
    rows = tx.all(
        "SELECT endpoint FROM job_counts WHERE n > 0 UNION SELECT endpoint FROM workers ORDER BY 1"
    )
    return [row[0] for row in rows]


# -- worker side ------------------------------------------------------------------------------


def claim(tx: Tx, endpoint: str, worker_id: str, n: int, lease_s: float, now: float) -> list[Job]:
    """Lease up to ``n`` claimable jobs: normal before lowPriority, oldest first, TTL honoured."""
    if n <= 0:
        return []
    seqs = [
        row[0]
        for row in tx.all(
            "SELECT seq FROM jobs WHERE status = 'IN_QUEUE' AND endpoint = ? "
            "AND (queue_deadline IS NULL OR queue_deadline > ?) "
            "ORDER BY low_priority, created_at, seq LIMIT ?",
            (endpoint, now, n),
        )
    ]
    if not seqs:
        return []
    marks = ",".join("?" * len(seqs))
    rows = tx.all(
        "UPDATE jobs SET status = 'IN_PROGRESS', attempt = attempt + 1, worker_id = ?, "
        "lease_expires_at = ?, started_at = ?, run_deadline = CASE WHEN exec_timeout_ms IS NULL "
        "THEN NULL ELSE ? + exec_timeout_ms / 1000.0 END "
        f"WHERE seq IN ({marks}) RETURNING seq, {JOB_COLUMNS}",
        (worker_id, now + lease_s, now, now, *seqs),
    )
    order = {seq: i for i, seq in enumerate(seqs)}
    rows.sort(key=lambda row: order[row[0]])
    jobs = [row_to_job(row[1:]) for row in rows]
    for job in jobs:
        add_event(tx, job.id, EventKind.TAKEN, now, worker_id, job.attempt)
    tx.notify(*(job_key(job.id) for job in jobs))
    return jobs


def renew(tx: Tx, worker_id: str, job_ids: Sequence[str], lease_s: float, now: float) -> list[str]:
    """Extend the leases ``worker_id`` still holds; return those ids in the given order."""
    if not job_ids:
        return []
    marks = ",".join("?" * len(job_ids))
    rows = tx.all(
        f"UPDATE jobs SET lease_expires_at = ? WHERE id IN ({marks}) "
        "AND status = 'IN_PROGRESS' AND worker_id = ? RETURNING id",
        (now + lease_s, *job_ids, worker_id),
    )
    held = {row[0] for row in rows}
    return [job_id for job_id in dict.fromkeys(job_ids) if job_id in held]


def release(tx: Tx, worker_id: str, job_ids: Sequence[str] | None) -> list[str]:
    """Expire the leases ``worker_id`` holds (all, or the listed ones); return those ids."""
    only = ""
    if job_ids is not None:
        if not job_ids:
            return []
        only = f" AND id IN ({','.join('?' * len(job_ids))})"
    rows = tx.all(
        "UPDATE jobs SET lease_expires_at = 0 WHERE status = 'IN_PROGRESS' AND worker_id = ?"
        f"{only} RETURNING id",
        (worker_id, *(job_ids or ())),
    )
    return [row[0] for row in rows]


HELD = "WHERE id = ? AND status = 'IN_PROGRESS' AND worker_id = ? AND (? IS NULL OR attempt = ?)"
"""The fence: the job runs, leased to this worker (and on this attempt when one is named)."""


def held(job_id: str, worker_id: str, attempt: int | None) -> tuple[Any, ...]:
    return (job_id, worker_id, attempt, attempt)


def refusal(tx: Tx, job_id: str, worker_id: str, attempt: int | None, finishing: bool) -> Outcome:
    """Why a fenced write matched nothing.

    UNKNOWN for no such job; STALE when the reporter does not hold it (another worker, an
    older attempt, a requeued job); otherwise the holder's job is already terminal: IGNORED,
    or DUPLICATE for a repeated ``finish`` of a job that ``finish`` ended.
    """
    row = tx.one("SELECT worker_id, attempt, end_reason FROM jobs WHERE id = ?", (job_id,))
    if row is None:
        return Outcome.UNKNOWN
    holder, current, reason = row
    if holder != worker_id or (attempt is not None and attempt != current):
        return Outcome.STALE
    if finishing and reason == "finish":
        return Outcome.DUPLICATE
    return Outcome.IGNORED


def set_progress(
    tx: Tx, job_id: str, worker_id: str, attempt: int | None, text: str, now: float
) -> Outcome:
    """Record the latest progress value of the running attempt."""
    row = tx.one(
        f"UPDATE jobs SET progress = ?, has_progress = 1 {HELD} RETURNING attempt",
        (text, *held(job_id, worker_id, attempt)),
    )
    if row is None:
        return refusal(tx, job_id, worker_id, attempt, False)
    add_event(tx, job_id, EventKind.PROGRESS, now, worker_id, row[0], text)
    tx.notify(job_key(job_id))
    return Outcome.ACCEPTED


def append_chunk(
    tx: Tx, job_id: str, worker_id: str, attempt: int | None, text: str, now: float
) -> Outcome:
    """Append one stream chunk with the next dense sequence number."""
    row = tx.one(
        f"UPDATE jobs SET chunk_count = chunk_count + 1 {HELD} RETURNING chunk_count - 1, attempt",
        held(job_id, worker_id, attempt),
    )
    if row is None:
        return refusal(tx, job_id, worker_id, attempt, False)
    tx.conn.execute(
        "INSERT INTO chunks (job_id, seq, output) VALUES (?, ?, ?)", (job_id, row[0], text)
    )
    if row[0] == 0:
        add_event(tx, job_id, EventKind.FIRST_CHUNK, now, worker_id, row[1])
    tx.notify(job_key(job_id))
    return Outcome.ACCEPTED


def finish(
    tx: Tx,
    job_id: str,
    worker_id: str,
    attempt: int | None,
    output_text: str | None,
    error: str | None,
    stop_pod: bool,
    now: float,
    retention_s: float,
) -> Outcome:
    """Store the result, the terminal state, retention and the webhook entry together."""
    status = JobStatus.FAILED if error else JobStatus.COMPLETED
    row = tx.one(
        "UPDATE jobs SET status = ?, output = ?, has_output = ?, error = ?, stop_pod = ?, "
        "finished_at = ?, lease_expires_at = NULL, run_deadline = NULL, end_reason = 'finish', "
        f"retain_until = MAX(COALESCE(retain_until, 0), ?) {HELD} "
        "RETURNING webhook, endpoint, created_at, started_at, attempt",
        (
            status.value,
            output_text,
            int(output_text is not None),
            error or None,
            int(stop_pod),
            now,
            now + retention_s,
            *held(job_id, worker_id, attempt),
        ),
    )
    if row is None:
        return refusal(tx, job_id, worker_id, attempt, True)
    webhook, endpoint, created_at, started_at, held_attempt = row
    add_event(tx, job_id, EventKind.FINISHED, now, worker_id, held_attempt, status.value)
    job_ended(tx, endpoint, status, created_at, started_at, now)
    if webhook is not None:
        queue_webhook(tx, job_id, now)
    tx.notify(job_key(job_id))
    return Outcome.ACCEPTED


def finish_many(tx: Tx, rows: Sequence[tuple[Any, ...]]) -> list[Outcome]:
    """:func:`finish` for each row of its arguments, in one operation (one batch of a
    worker's results is one writer operation, not one each)."""
    return [finish(tx, *row) for row in rows]


def pop_stops(tx: Tx, worker_id: str) -> list[str]:
    """Take the worker's queued stop ids."""
    rows = tx.all("DELETE FROM stops WHERE worker_id = ? RETURNING job_id", (worker_id,))
    return sorted(row[0] for row in rows)


def queue_stop(tx: Tx, worker_id: str, job_id: str) -> None:
    """Put ``job_id`` on the worker's stop list and wake its ``job-stop`` long-poll."""
    tx.conn.execute(
        "INSERT OR IGNORE INTO stops (worker_id, job_id) VALUES (?, ?)", (worker_id, job_id)
    )
    tx.notify(stop_key(worker_id))
