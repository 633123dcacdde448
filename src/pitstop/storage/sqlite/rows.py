"""Row mapping for the SQLite store: the job column list, terminal transitions.

JSON values are stored as JSON text (:mod:`pitstop.storage.jsontext`).
"""

from __future__ import annotations

import uuid
from typing import Any

from pitstop.models import Job, JobStatus, Policy
from pitstop.storage.base import job_key
from pitstop.storage.jsontext import dumps, loads
from pitstop.storage.sqlite.events import ended_without_result
from pitstop.storage.sqlite.writer import Tx

JOB_COLUMNS = (
    "id, endpoint, status, input, webhook, exec_timeout_ms, ttl_ms, low_priority, s3_config, "
    "sync, attempt, retries, worker_id, lease_expires_at, created_at, started_at, finished_at, "
    "output, has_output, error, progress, has_progress, stop_pod, chunk_count, "
    "queue_deadline, retain_until"
)

TERMINAL_SQL = "('COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT')"


def row_to_job(row: Any) -> Job:
    """Build a :class:`Job` from a row selected with :data:`JOB_COLUMNS`."""
    status = JobStatus(row[2])
    return Job(
        id=row[0],
        endpoint=row[1],
        status=status,
        input=loads(row[3]),
        webhook=row[4],
        policy=Policy(execution_timeout_ms=row[5], ttl_ms=row[6], low_priority=bool(row[7])),
        s3_config=None if row[8] is None else loads(row[8]),
        sync=bool(row[9]),
        attempt=row[10],
        retries=row[11],
        worker_id=row[12],
        lease_expires_at=_time(row[13]),
        created_at=float(row[14]),
        started_at=_time(row[15]),
        finished_at=_time(row[16]),
        output=loads(row[17]) if row[18] else None,
        has_output=bool(row[18]),
        error=row[19],
        progress=loads(row[20]) if row[21] else None,
        has_progress=bool(row[21]),
        stop_pod=bool(row[22]),
        chunk_count=row[23],
        expires_at=_time(row[25] if status.is_terminal else row[24]),
    )


def _time(value: float | None) -> float | None:
    # RETURNING hands back integral REALs as ints; keep the model's float type
    return None if value is None else float(value)


def fetch_job(tx: Tx, job_id: str) -> Job | None:
    """The job as stored now (inside the caller's transaction), or None."""
    row = tx.one(f"SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?", (job_id,))
    return None if row is None else row_to_job(row)


def end_job(
    tx: Tx,
    job_id: str,
    status: JobStatus,
    now: float,
    retention_s: float,
    reason: str,
    error: str | None = None,
    has_webhook: bool = False,
) -> None:
    """Move a job to a terminal state without a worker result (cancel, timeout, lost lease).

    Clears the lease, starts retention (never shortening a longer ``set_retention``), queues
    the webhook and notifies the job key, all in the caller's transaction.
    """
    row = tx.one(
        "UPDATE jobs SET status = ?, finished_at = ?, lease_expires_at = NULL, "
        "run_deadline = NULL, end_reason = ?, error = COALESCE(?, error), "
        "retain_until = MAX(COALESCE(retain_until, 0), ?) WHERE id = ? "
        "RETURNING endpoint, created_at, started_at, worker_id, attempt",
        (status.value, now, reason, error, now + retention_s, job_id),
    )
    if row is not None:
        ended_without_result(tx, job_id, status, now, reason, error, row)
    if has_webhook:
        queue_webhook(tx, job_id, now)
    tx.notify(job_key(job_id))


def queue_webhook(tx: Tx, job_id: str, now: float) -> None:
    """Write the outbox entry for a job that just became terminal (due at once).

    The payload is RunPod's status body plus ``input`` and ``webhook``, assembled from the
    stored JSON text without decoding it.
    """
    row = tx.one(
        "SELECT status, created_at, started_at, finished_at, worker_id, output, has_output, "
        "error, input, webhook, retries FROM jobs WHERE id = ?",
        (job_id,),
    )
    if row is None or row[9] is None:
        return
    status, created, started, finished, worker, output, has_output, error, input_, url, n = row
    parts = [f'"id":{dumps(job_id)}', f'"status":{dumps(status)}']
    if started is not None:
        parts.append(f'"delayTime":{max(0, round((started - created) * 1000))}')
        if finished is not None:
            parts.append(f'"executionTime":{max(0, round((finished - started) * 1000))}')
    if worker is not None:
        parts.append(f'"workerId":{dumps(worker)}')
    if has_output:
        parts.append(f'"output":{output}')
    if error is not None:
        parts.append(f'"error":{dumps(error)}')
    if n:
        parts.append(f'"retries":{n}')
    parts.append(f'"input":{input_}')
    parts.append(f'"webhook":{dumps(url)}')
    tx.conn.execute(
        "INSERT INTO webhooks (id, job_id, url, payload, next_at) VALUES (?, ?, ?, ?, ?)",
        (uuid.uuid4().hex, job_id, url, "{" + ",".join(parts) + "}", now),
    )
