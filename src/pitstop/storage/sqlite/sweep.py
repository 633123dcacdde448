"""SQLite store operations for the sweeper, the webhook outbox, the worker registry and logs.

Same rules as :mod:`pitstop.storage.sqlite.ops`: plain functions run by the writer thread,
each atomic as a whole. Sweeper passes are safe to run concurrently because the writer
executes them one after the other and each re-selects what is still due.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from pitstop.models import (
    EventKind,
    Fence,
    JobStatus,
    LogLine,
    Outcome,
    SweepReport,
    WebhookDelivery,
    WorkerInfo,
)
from pitstop.storage.base import job_key, queue_key
from pitstop.storage.sqlite.events import add_event, prune_stats
from pitstop.storage.sqlite.ops import HELD, held, queue_stop, refusal
from pitstop.storage.sqlite.rows import TERMINAL_SQL, end_job
from pitstop.storage.sqlite.writer import Tx
from pitstop.storage.stats import decode_gpus, decode_meta, webhook_failure

# -- sweeper ---------------------------------------------------------------------------------


def expire_leases(
    tx: Tx, now: float, max_attempts: int, retention_s: float, sync_retention_s: float
) -> SweepReport:
    """Requeue jobs whose lease expired, or fail them once their attempts are used up."""
    rows = tx.all(
        "SELECT id, endpoint, worker_id, attempt, attempt - attempt_base, webhook, sync "
        "FROM jobs WHERE status = 'IN_PROGRESS' AND lease_expires_at < ?",
        (now,),
    )
    report = SweepReport()
    for job_id, endpoint, worker_id, attempt, used, webhook, sync in rows:
        if used >= max_attempts:
            reason = (
                f"worker {worker_id} was lost (lease expired) on attempt {attempt}; "
                f"giving up after {used} of {max_attempts} attempts"
            )
            keep = sync_retention_s if sync else retention_s
            end_job(tx, job_id, JobStatus.FAILED, now, keep, "lost", reason, webhook is not None)
            report.failed.append(job_id)
            continue
        tx.conn.execute(
            "UPDATE jobs SET status = 'IN_QUEUE', retries = retries + 1, worker_id = NULL, "
            "lease_expires_at = NULL, started_at = NULL, run_deadline = NULL, progress = NULL, "
            "has_progress = 0 WHERE id = ?",
            (job_id,),
        )
        add_event(tx, job_id, EventKind.REQUEUED, now, worker_id, attempt)
        tx.notify(queue_key(endpoint), job_key(job_id))
        report.requeued.append(job_id)
    return report


def expire_deadlines(tx: Tx, now: float, retention_s: float) -> SweepReport:
    """TIMED_OUT for queued jobs past their TTL and running jobs past their execution timeout."""
    report = SweepReport()
    for job_id, ttl_ms, webhook in tx.all(
        "SELECT id, ttl_ms, webhook FROM jobs WHERE status = 'IN_QUEUE' "
        "AND queue_deadline IS NOT NULL AND queue_deadline <= ?",
        (now,),
    ):
        reason = f"job TTL of {ttl_ms} ms expired before a worker took it"
        end_job(
            tx, job_id, JobStatus.TIMED_OUT, now, retention_s, "ttl", reason, webhook is not None
        )
        report.timed_out.append(job_id)
    for job_id, worker_id, timeout_ms, webhook in tx.all(
        "SELECT id, worker_id, exec_timeout_ms, webhook FROM jobs INDEXED BY jobs_running "
        "WHERE status = 'IN_PROGRESS' AND run_deadline <= ?",
        (now,),
    ):
        reason = f"execution timeout of {timeout_ms} ms exceeded"
        end_job(
            tx,
            job_id,
            JobStatus.TIMED_OUT,
            now,
            retention_s,
            "timeout",
            reason,
            webhook is not None,
        )
        if worker_id is not None:
            queue_stop(tx, worker_id, job_id)
        report.timed_out.append(job_id)
    return report


DELETE_BATCH = 5000
"""Most jobs one ``delete_expired`` call removes, so a backlog (after downtime) is worked off
over several sweeper passes instead of stalling the writer in one huge transaction."""


def delete_expired(tx: Tx, now: float, worker_ttl_s: float) -> int:
    """Delete terminal jobs past retention with their chunks, logs, stops and settled webhooks.

    At most :data:`DELETE_BATCH` jobs per call. Also forgets workers not seen for
    ``worker_ttl_s``.
    """
    tx.flush()  # events this batch added to a job deleted here go with it
    ids = [
        row[0]
        for row in tx.all(
            f"SELECT id FROM jobs WHERE status IN {TERMINAL_SQL} AND retain_until <= ? LIMIT ?",
            (now, DELETE_BATCH),
        )
    ]
    for start in range(0, len(ids), 500):
        part = ids[start : start + 500]
        marks = ",".join("?" * len(part))
        for table in ("chunks", "logs", "stops", "idempotency", "job_events"):
            tx.conn.execute(f"DELETE FROM {table} WHERE job_id IN ({marks})", part)
        tx.conn.execute(f"DELETE FROM webhooks WHERE pending = 0 AND job_id IN ({marks})", part)
        tx.conn.execute(f"DELETE FROM jobs WHERE id IN ({marks})", part)
    tx.conn.execute("DELETE FROM workers WHERE last_seen < ?", (now - worker_ttl_s,))
    prune_stats(tx, now)
    return len(ids)


# -- worker registry -------------------------------------------------------------------------


def record_ping(
    tx: Tx,
    endpoint: str,
    worker_id: str,
    job_ids: Sequence[str],
    now: float,
    version: str | None,
    meta: str | None,
) -> None:
    """Upsert the worker's registry row (``meta``: JSON text, None keeps the stored one)."""
    tx.conn.execute(
        "INSERT INTO workers (endpoint, id, last_seen, job_ids, version, meta) "
        "VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (endpoint, id) DO UPDATE SET last_seen = excluded.last_seen, "
        "job_ids = excluded.job_ids, version = COALESCE(excluded.version, version), "
        "meta = COALESCE(excluded.meta, meta)",
        (endpoint, worker_id, now, json.dumps(list(job_ids)), version, meta),
    )


def workers(tx: Tx, endpoint: str, seen_since: float) -> list[WorkerInfo]:
    """Workers of the endpoint seen at or after ``seen_since``, by id."""
    rows = tx.all(
        "SELECT id, last_seen, job_ids, version, meta, gpus FROM workers "
        "WHERE endpoint = ? AND last_seen >= ? ORDER BY id",
        (endpoint, seen_since),
    )
    return [
        WorkerInfo(
            worker_id,
            endpoint,
            seen,
            tuple(json.loads(ids)),
            version,
            decode_meta(meta),
            decode_gpus(gpus),
        )
        for worker_id, seen, ids, version, meta, gpus in rows
    ]


def record_gpus(tx: Tx, endpoint: str, samples: Sequence[tuple[str, str]]) -> list[str]:
    """Set the GPU sample (JSON text) of each registered worker; the ids that were."""
    recorded: list[str] = []
    for worker_id, text in samples:
        cursor = tx.conn.execute(
            "UPDATE workers SET gpus = ? WHERE endpoint = ? AND id = ?",
            (text, endpoint, worker_id),
        )
        if cursor.rowcount:
            recorded.append(worker_id)
    return recorded


# -- webhook outbox --------------------------------------------------------------------------

_DELIVERY_COLUMNS = "id, job_id, url, payload, attempts, next_at, delivered, last_error, pending"


def _delivery(row: tuple[object, ...]) -> WebhookDelivery:
    id_, job_id, url, payload, attempts, next_at, delivered, last_error, pending = row
    return WebhookDelivery(
        id=str(id_),
        job_id=str(job_id),
        url=str(url),
        payload_json=str(payload),
        attempts=int(str(attempts)),
        next_at=float(str(next_at)),
        delivered=bool(delivered),
        last_error=None if last_error is None else str(last_error),
        failed=not pending and not delivered,
    )


def due_webhooks(tx: Tx, now: float, limit: int, lease_s: float) -> list[WebhookDelivery]:
    """Due entries, oldest first, each leased for ``lease_s`` (next_at pushed forward)."""
    seqs = [
        row[0]
        for row in tx.all(
            "SELECT seq FROM webhooks WHERE pending = 1 AND next_at <= ? "
            "ORDER BY next_at, seq LIMIT ?",
            (now, max(0, limit)),
        )
    ]
    if not seqs:
        return []
    marks = ",".join("?" * len(seqs))
    rows = tx.all(
        f"UPDATE webhooks SET next_at = ? WHERE seq IN ({marks}) "
        f"RETURNING seq, {_DELIVERY_COLUMNS}",
        (now + lease_s, *seqs),
    )
    order = {seq: i for i, seq in enumerate(seqs)}
    rows.sort(key=lambda row: order[row[0]])
    return [_delivery(row[1:]) for row in rows]


def webhook_attempted(
    tx: Tx, delivery_id: str, ok: bool, error: str | None, next_at: float | None, now: float
) -> None:
    """Record one attempt: delivered, retry at ``next_at``, or given up (``next_at`` None).

    A settled entry whose job was already deleted is removed (``delete_expired`` keeps
    pending entries so a short retention never cancels a delivery).
    """
    if ok:
        tx.conn.execute(
            "UPDATE webhooks SET attempts = attempts + 1, pending = 0, delivered = 1, "
            "last_error = NULL WHERE id = ?",
            (delivery_id,),
        )
    elif next_at is not None:
        tx.conn.execute(
            "UPDATE webhooks SET attempts = attempts + 1, next_at = ?, last_error = ? WHERE id = ?",
            (next_at, error, delivery_id),
        )
    else:
        tx.conn.execute(
            "UPDATE webhooks SET attempts = attempts + 1, pending = 0, last_error = ? WHERE id = ?",
            (error, delivery_id),
        )
    _webhook_event(tx, delivery_id, ok, error, next_at, now)
    if ok or next_at is None:  # settled: drop it if its job was deleted meanwhile
        tx.conn.execute(
            "DELETE FROM webhooks WHERE id = ? "
            "AND NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.id = webhooks.job_id)",
            (delivery_id,),
        )


def _webhook_event(
    tx: Tx, delivery_id: str, ok: bool, error: str | None, next_at: float | None, now: float
) -> None:
    row = tx.one("SELECT job_id, attempts, url FROM webhooks WHERE id = ?", (delivery_id,))
    if row is None:
        return
    job_id, attempts, url = row
    detail = f"delivered to {url}" if ok else webhook_failure(error, next_at)
    add_event(tx, job_id, EventKind.WEBHOOK, now, None, attempts, detail)


def webhook_deliveries(tx: Tx, job_id: str) -> list[WebhookDelivery]:
    """Every outbox entry of the job, oldest first."""
    rows = tx.all(
        f"SELECT {_DELIVERY_COLUMNS} FROM webhooks WHERE job_id = ? ORDER BY seq", (job_id,)
    )
    return [_delivery(row) for row in rows]


# -- per-job logs ----------------------------------------------------------------------------


def append_logs(
    tx: Tx, job_id: str, lines: Sequence[tuple[str, str]], now: float, cap: int, fence: Fence | None
) -> Outcome:
    """Append lines with dense sequence numbers, keeping the newest ``cap`` of the job;
    with a ``fence`` only its worker, holding the running attempt, on its endpoint."""
    if fence is None:
        where, params = "WHERE id = ?", (job_id,)
    else:
        where = HELD + " AND (? IS NULL OR endpoint = ?)"
        params = (*held(job_id, fence.worker_id, fence.attempt), fence.endpoint, fence.endpoint)
    row = tx.one(
        f"UPDATE jobs SET log_count = log_count + ? {where} RETURNING log_count",
        (len(lines), *params),
    )
    if row is None:
        return _log_refusal(tx, job_id, fence)
    total = row[0]
    kept = list(lines)[-cap:] if cap > 0 else []
    first = total - len(kept)
    tx.conn.executemany(
        "INSERT INTO logs (job_id, seq, at, stream, text) VALUES (?, ?, ?, ?, ?)",
        [(job_id, first + i, now, stream, text) for i, (stream, text) in enumerate(kept)],
    )
    if total > cap:
        tx.conn.execute("DELETE FROM logs WHERE job_id = ? AND seq < ?", (job_id, total - cap))
    return Outcome.ACCEPTED


def _log_refusal(tx: Tx, job_id: str, fence: Fence | None) -> Outcome:
    """Why a log write matched nothing (see :func:`pitstop.storage.sqlite.ops.refusal`)."""
    row = tx.one("SELECT endpoint FROM jobs WHERE id = ?", (job_id,))
    if row is None or fence is None or fence.endpoint not in (None, row[0]):
        return Outcome.UNKNOWN
    return refusal(tx, job_id, fence.worker_id, fence.attempt, False)


def read_logs(tx: Tx, job_id: str, after_seq: int) -> list[LogLine]:
    """Lines with ``seq > after_seq`` in order."""
    rows = tx.all(
        "SELECT seq, at, stream, text FROM logs WHERE job_id = ? AND seq > ? ORDER BY seq",
        (job_id, after_seq),
    )
    return [LogLine(seq, at, stream, text) for seq, at, stream, text in rows]
