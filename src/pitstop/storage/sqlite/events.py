"""Timelines, per-minute statistics and job pages of the SQLite store.

Writers (:func:`add_event`, :func:`job_ended`) are called by the operations in
:mod:`~pitstop.storage.sqlite.ops` and :mod:`~pitstop.storage.sqlite.sweep` inside their own
transaction, so an event or a statistic is committed exactly when its transition is. They
defer their rows to the end of the batch (:meth:`Tx.defer`, :meth:`Tx.tally`): one
``executemany`` per batch, one counter upsert per distinct bucket; readers flush first. Readers
run on the writer thread like every other operation (each is one indexed range read).

Tables (schema version 2): ``job_events (job_id, seq)`` holds timelines; ``job_stats
(endpoint, minute, metric) -> n`` holds counters named as in
:func:`pitstop.storage.stats.bucket_from_fields`.
"""

from __future__ import annotations

from typing import Any

from pitstop.models import EventKind, JobEvent, JobPage, JobStatus, JobSummary, StatBucket
from pitstop.storage.sqlite.writer import Tx
from pitstop.storage.stats import (
    MAX_EVENTS,
    MAX_PROGRESS_EVENTS,
    STATS_KEEP_S,
    bucket_from_fields,
    ended_fields,
    minute_of,
    page_of,
    short_text,
)

END_EVENTS: dict[str, tuple[EventKind, str | None]] = {
    "cancel": (EventKind.CANCELLED, None),
    "purge": (EventKind.CANCELLED, "purged"),
    "lost": (EventKind.LOST, None),
    "ttl": (EventKind.TIMED_OUT, None),
    "timeout": (EventKind.TIMED_OUT, None),
}
"""``end_reason`` of a terminal transition without a worker result -> its event."""

_SUMMARY_COLUMNS = (
    "seq, id, endpoint, status, created_at, started_at, finished_at, worker_id, attempt, retries"
)


_ADD_EVENT = (
    "INSERT INTO job_events (job_id, seq, at, kind, worker_id, attempt, detail) "
    "SELECT ?, n, ?, ?, ?, ?, ? FROM (SELECT COUNT(*) AS n FROM job_events WHERE job_id = ?) "
    "WHERE n < ?"
)
_COUNT = (
    "INSERT INTO job_stats (endpoint, minute, metric, n) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (endpoint, minute, metric) DO UPDATE SET n = n + excluded.n"
)


def add_event(
    tx: Tx,
    job_id: str,
    kind: EventKind,
    at: float,
    worker_id: str | None = None,
    attempt: int | None = None,
    detail: str | None = None,
) -> None:
    """Append one event to the job's timeline unless the job's cap is reached (written at
    the end of the batch, in the order events were added)."""
    cap = MAX_PROGRESS_EVENTS if kind is EventKind.PROGRESS else MAX_EVENTS
    tx.defer(
        _ADD_EVENT,
        (
            job_id,
            at,
            kind.value,
            worker_id,
            attempt,
            None if detail is None else short_text(detail),
            job_id,
            cap,
        ),
    )


def job_ended(
    tx: Tx,
    endpoint: str,
    status: JobStatus,
    created_at: float,
    started_at: float | None,
    now: float,
) -> None:
    """Count a job that just became terminal in its endpoint's bucket for ``now``."""
    minute = minute_of(now)
    for metric in ended_fields(status.value, created_at, started_at, now):
        tx.tally(_COUNT, (endpoint, minute, metric))


def ended_without_result(
    tx: Tx, job_id: str, status: JobStatus, now: float, reason: str, error: str | None, row: Any
) -> None:
    """Event and statistics of an ``end_job`` transition.

    ``row`` is ``(endpoint, created_at, started_at, worker_id, attempt)`` of the job.
    """
    endpoint, created_at, started_at, worker_id, attempt = row
    kind, detail = END_EVENTS.get(reason, (EventKind.CANCELLED, None))
    add_event(tx, job_id, kind, now, worker_id, attempt or None, error or detail)
    job_ended(tx, endpoint, status, created_at, started_at, now)


def prune_stats(tx: Tx, now: float) -> None:
    """Forget buckets older than :data:`~pitstop.storage.stats.STATS_KEEP_S`."""
    tx.flush()
    tx.conn.execute("DELETE FROM job_stats WHERE minute < ?", (int(now - STATS_KEEP_S),))


# -- readers ---------------------------------------------------------------------------------


def events(tx: Tx, job_id: str) -> list[JobEvent]:
    """The job's timeline in order."""
    tx.flush()
    rows = tx.all(
        "SELECT seq, at, kind, worker_id, attempt, detail FROM job_events "
        "WHERE job_id = ? ORDER BY seq",
        (job_id,),
    )
    return [
        JobEvent(seq, float(at), EventKind(kind), worker, attempt, detail)
        for seq, at, kind, worker, attempt, detail in rows
    ]


def stats(tx: Tx, endpoint: str, since: float, until: float, step: int) -> list[StatBucket]:
    """Non-empty ``step``-wide buckets of the endpoint from ``since`` to ``until`` (the
    minutes are added up by SQLite, so a day is one indexed range scan and ~100 rows out)."""
    step = max(60, step // 60 * 60)
    tx.flush()
    rows = tx.all(
        "SELECT minute / ?1 * ?1 AS slot, metric, SUM(n) FROM job_stats WHERE endpoint = ?2 "
        "AND minute >= ?3 AND minute <= ?4 GROUP BY slot, metric ORDER BY slot",
        (step, endpoint, int(since) // step * step, until),
    )
    by_minute: dict[int, dict[str, int]] = {}
    for minute, metric, n in rows:
        by_minute.setdefault(int(minute), {})[metric] = n
    return [bucket_from_fields(minute, fields) for minute, fields in by_minute.items()]


def job_page(
    tx: Tx,
    endpoint: str,
    status: JobStatus | None,
    before: int | None,
    after: int | None,
    limit: int,
) -> JobPage:
    """Keyset page newest first (see :meth:`pitstop.storage.base.Store.job_page`)."""
    limit = max(1, limit)
    where = ["endpoint = ?"]
    params: list[Any] = [endpoint]
    if status is not None:
        where.append("status = ?")
        params.append(JobStatus(status).value)
    newest_first = after is None
    if before is not None:
        where.append("seq < ?")
        params.append(before)
    if after is not None:
        where.append("seq > ?")
        params.append(after)
    order = "DESC" if newest_first else "ASC"
    rows = tx.all(
        f"SELECT {_SUMMARY_COLUMNS} FROM jobs WHERE {' AND '.join(where)} "
        f"ORDER BY seq {order} LIMIT ?",
        [*params, limit + 1],
    )
    more = len(rows) > limit
    rows = rows[:limit]
    if not newest_first:
        rows.reverse()
    jobs = [_summary(row) for row in rows]
    return page_of(jobs, more, newest_first, before is not None or after is not None)


def _summary(row: Any) -> JobSummary:
    seq, job_id, endpoint, status, created, started, finished, worker, attempt, retries = row
    return JobSummary(
        seq=seq,
        id=job_id,
        endpoint=endpoint,
        status=JobStatus(status),
        created_at=float(created),
        started_at=None if started is None else float(started),
        finished_at=None if finished is None else float(finished),
        worker_id=worker,
        attempt=attempt,
        retries=retries,
    )
