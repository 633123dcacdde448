"""Job pages, timelines and statistics of the Redis store (the console's reads).

The scripts in :mod:`.scripts` maintain what these read, in the same script as each
transition:

    P:bystatus:{status}:{ep}  zset  job id, score = enqueue number (the page cursor)
    P:events:{id}             list  timeline events as JSON objects, capped per job
    P:stats:{minute}:{ep}     hash  counters of jobs that ended in that minute
    P:stats15:{start}:{ep}    hash  the same for 15 minutes (a day's chart: 96 reads)

Each read is one or two pipelined round trips, whatever the number of retained jobs: a
status page reads ``limit + 1`` members of one zset, an unfiltered page the ``limit + 1``
newest of each status zset, merged.
"""

from __future__ import annotations

import json
from typing import Any

from pitstop.models import EventKind, JobEvent, JobPage, JobStatus, JobSummary, StatBucket
from pitstop.storage.stats import ROLLUP_S, bucket_from_fields, merge, page_of

_SUMMARY_FIELDS = ("id", "ep", "st", "cr", "sa", "fa", "wk", "att", "ret")


async def job_page(
    client: Any,
    prefix: str,
    endpoint: str,
    status: JobStatus | None,
    before: int | None,
    after: int | None,
    limit: int,
) -> JobPage:
    """Keyset page newest first (see :meth:`pitstop.storage.base.Store.job_page`)."""
    limit = max(1, limit)
    statuses = [JobStatus(status)] if status is not None else list(JobStatus)
    newest_first = after is None
    async with client.pipeline(transaction=False) as pipe:
        for st in statuses:
            index = f"{prefix}:bystatus:{st.value}:{endpoint}"
            if newest_first:
                top = "+inf" if before is None else f"({before}"
                pipe.zrevrangebyscore(index, top, "-inf", start=0, num=limit + 1, withscores=True)
            else:
                pipe.zrangebyscore(
                    index, f"({after}", "+inf", start=0, num=limit + 1, withscores=True
                )
        replies = await pipe.execute()
    found = sorted(
        ((int(score), job_id) for reply in replies for job_id, score in reply),
        reverse=newest_first,
    )
    more = len(found) > limit
    found = found[:limit]
    async with client.pipeline(transaction=False) as pipe:
        for _, job_id in found:
            pipe.hmget(f"{prefix}:job:{job_id}", _SUMMARY_FIELDS)
        rows = await pipe.execute()
    jobs = [_summary(seq, row) for (seq, _), row in zip(found, rows, strict=True) if row[0]]
    if not newest_first:
        jobs.reverse()
    return page_of(jobs, more, newest_first, before is not None or after is not None)


def _summary(seq: int, row: list[str | None]) -> JobSummary:
    job_id, endpoint, status, created, started, finished, worker, attempt, retries = row
    return JobSummary(
        seq=seq,
        id=str(job_id),
        endpoint=str(endpoint),
        status=JobStatus(status),
        created_at=float(created or 0),
        started_at=None if started is None else float(started),
        finished_at=None if finished is None else float(finished),
        worker_id=worker,
        attempt=int(attempt or 0),
        retries=int(retries or 0),
    )


async def events(client: Any, prefix: str, job_id: str) -> list[JobEvent]:
    """The job's timeline in order."""
    texts = await client.lrange(f"{prefix}:events:{job_id}", 0, -1)
    out = []
    for text in texts:
        raw = json.loads(text)
        attempt = raw.get("n")
        out.append(
            JobEvent(
                seq=int(raw["s"]),
                at=float(raw["t"]),
                kind=EventKind(raw["k"]),
                worker_id=raw.get("w"),
                attempt=None if attempt is None else int(attempt),
                detail=raw.get("d"),
            )
        )
    return out


async def stats(
    client: Any, prefix: str, endpoint: str, since: float, until: float, step: int
) -> list[StatBucket]:
    """Non-empty ``step``-wide buckets from ``since`` to ``until``: the 15-minute hashes for
    ``step`` = :data:`~pitstop.storage.stats.ROLLUP_S`, else minute hashes added up here."""
    step = max(60, step // 60 * 60)
    width, kind = (ROLLUP_S, "stats15") if step % ROLLUP_S == 0 else (60, "stats")
    starts = list(range(int(since) // step * step, int(until) + 1, width))
    async with client.pipeline(transaction=False) as pipe:
        for start in starts:
            pipe.hgetall(f"{prefix}:{kind}:{start}:{endpoint}")
        replies = await pipe.execute()
    slots: dict[int, list[StatBucket]] = {}
    for start, fields in zip(starts, replies, strict=True):
        if fields:
            slots.setdefault(start // step * step, []).append(bucket_from_fields(start, fields))
    return [merged_at(slot, buckets) for slot, buckets in slots.items()]


def merged_at(start: int, buckets: list[StatBucket]) -> StatBucket:
    """``buckets`` added up into one starting at ``start``."""
    total = merge(buckets)
    return StatBucket(start, total.ended, total.delay, total.execution)
