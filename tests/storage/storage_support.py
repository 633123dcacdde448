"""Shared helpers for the storage contract suite (a fake clock, job builders, a running job)."""

from __future__ import annotations

import uuid
from typing import Any

from pitstop.models import Job, NewJob, Policy, Result
from pitstop.storage import Store

T0 = 1_800_000_000.0
"""The fake clock's origin: every test passes explicit ``now`` values relative to it."""

LEASE = 30.0
RETAIN = 600.0


def new_job(
    endpoint: str = "ep",
    *,
    created_at: float = T0,
    job_id: str | None = None,
    input: Any = None,
    webhook: str | None = None,
    ttl_ms: int | None = None,
    execution_timeout_ms: int | None = None,
    low_priority: bool = False,
    sync: bool = False,
    s3_config: dict[str, Any] | None = None,
) -> NewJob:
    """A NewJob with a unique id unless one is given."""
    return NewJob(
        id=job_id or f"job-{uuid.uuid4().hex}",
        endpoint=endpoint,
        input={"n": 1} if input is None else input,
        webhook=webhook,
        policy=Policy(
            execution_timeout_ms=execution_timeout_ms, ttl_ms=ttl_ms, low_priority=low_priority
        ),
        s3_config=s3_config,
        sync=sync,
        created_at=created_at,
    )


def ok(output: Any = "done") -> Result:
    """A successful worker result."""
    return Result(output=output, has_output=True)


def failed(error: str = "boom") -> Result:
    """A failed worker result."""
    return Result(error=error)


async def running(store: Store, worker: str = "w1", **kwargs: object) -> Job:
    """Enqueue one job and claim it for ``worker``."""
    job = await store.enqueue(new_job(**kwargs))  # type: ignore[arg-type]
    claimed = await store.claim(job.endpoint, worker, 1, LEASE, T0 + 1)
    assert [j.id for j in claimed] == [job.id]
    return claimed[0]
