"""Contract: enqueue, get and claim (order, lowPriority, TTL, leases, no double hand-out)."""

from __future__ import annotations

import asyncio

import pytest
from storage_support import LEASE, T0, new_job

from pitstop.errors import QueueFull, StorageError
from pitstop.models import JobStatus
from pitstop.storage import Store


async def test_enqueue_returns_queued_job_and_get_reads_it_back(store: Store) -> None:
    submitted = new_job(
        input={"prompt": "hi", "values": [1, 2.5, None, True]},
        webhook="http://127.0.0.1:9/hook",
        ttl_ms=60_000,
        execution_timeout_ms=5_000,
        s3_config={"bucketName": "b"},
        sync=True,
    )
    job = await store.enqueue(submitted)
    assert job.id == submitted.id
    assert job.status is JobStatus.IN_QUEUE
    assert job.attempt == 0

    again = await store.get(submitted.id)
    assert again is not None
    assert again.status is JobStatus.IN_QUEUE
    assert again.input == {"prompt": "hi", "values": [1, 2.5, None, True]}
    assert again.webhook == "http://127.0.0.1:9/hook"
    assert again.policy.ttl_ms == 60_000
    assert again.policy.execution_timeout_ms == 5_000
    assert again.s3_config == {"bucketName": "b"}
    assert again.sync is True
    assert again.created_at == T0
    assert again.worker_id is None and again.started_at is None
    assert again.has_output is False and again.chunk_count == 0


async def test_get_unknown_is_none(store: Store) -> None:
    assert await store.get("no-such-job") is None


async def test_duplicate_id_is_refused(store: Store) -> None:
    job = new_job()
    await store.enqueue(job)
    with pytest.raises(StorageError):
        await store.enqueue(new_job(job_id=job.id))
    stored = await store.get(job.id)
    assert stored is not None and stored.input == job.input


async def test_max_queue_refuses_with_queue_full(store: Store) -> None:
    for _ in range(2):
        await store.enqueue(new_job(), max_queue=2)
    with pytest.raises(QueueFull):
        await store.enqueue(new_job(), max_queue=2)
    # another endpoint has its own bound
    await store.enqueue(new_job("other"), max_queue=2)
    assert (await store.counts("ep"))["IN_QUEUE"] == 2


async def test_claim_leases_job_and_increments_attempt(store: Store) -> None:
    job = await store.enqueue(new_job())
    claimed = await store.claim("ep", "w1", 1, LEASE, T0 + 5)
    assert [j.id for j in claimed] == [job.id]
    got = claimed[0]
    assert got.status is JobStatus.IN_PROGRESS
    assert got.attempt == 1
    assert got.worker_id == "w1"
    assert got.started_at == T0 + 5
    assert got.lease_expires_at == T0 + 5 + LEASE
    assert got.input == {"n": 1}
    assert got.delay_ms == 5000
    assert await store.claim("ep", "w2", 1, LEASE, T0 + 6) == []
    stored = await store.get(job.id)
    assert stored is not None and stored.status is JobStatus.IN_PROGRESS


async def test_claim_only_from_its_endpoint(store: Store) -> None:
    await store.enqueue(new_job("a"))
    assert await store.claim("b", "w1", 5, LEASE, T0) == []
    assert len(await store.claim("a", "w1", 5, LEASE, T0)) == 1


async def test_claim_order_oldest_first_low_priority_last(store: Store) -> None:
    low_old = await store.enqueue(new_job(created_at=T0, low_priority=True))
    newer = await store.enqueue(new_job(created_at=T0 + 2))
    older = await store.enqueue(new_job(created_at=T0 + 1))
    low_new = await store.enqueue(new_job(created_at=T0 + 3, low_priority=True))
    first = await store.claim("ep", "w1", 2, LEASE, T0 + 10)
    assert [j.id for j in first] == [older.id, newer.id]
    rest = await store.claim("ep", "w1", 5, LEASE, T0 + 10)
    assert [j.id for j in rest] == [low_old.id, low_new.id]


async def test_claim_batch_respects_n(store: Store) -> None:
    for i in range(5):
        await store.enqueue(new_job(created_at=T0 + i))
    assert len(await store.claim("ep", "w1", 3, LEASE, T0 + 10)) == 3
    assert len(await store.claim("ep", "w1", 3, LEASE, T0 + 10)) == 2
    assert await store.claim("ep", "w1", 3, LEASE, T0 + 10) == []


async def test_claim_skips_jobs_past_queue_ttl(store: Store) -> None:
    expired = await store.enqueue(new_job(ttl_ms=10_000, created_at=T0))
    alive = await store.enqueue(new_job(ttl_ms=60_000, created_at=T0 + 1))
    claimed = await store.claim("ep", "w1", 5, LEASE, T0 + 10)
    assert [j.id for j in claimed] == [alive.id]
    left = await store.get(expired.id)
    assert left is not None and left.status is JobStatus.IN_QUEUE  # the sweeper times it out


async def test_concurrent_claims_never_share_a_job(store: Store) -> None:
    ids = {(await store.enqueue(new_job(created_at=T0 + i))).id for i in range(40)}

    async def claimer(worker: str) -> list[str]:
        taken: list[str] = []
        while batch := await store.claim("ep", worker, 2, LEASE, T0 + 100):
            taken.extend(j.id for j in batch)
            await asyncio.sleep(0)
        return taken

    results = await asyncio.gather(*(claimer(f"w{i}") for i in range(8)))
    everything = [job_id for taken in results for job_id in taken]
    assert len(everything) == len(set(everything)) == 40
    assert set(everything) == ids
    for worker, taken in zip([f"w{i}" for i in range(8)], results, strict=True):
        for job_id in taken:
            job = await store.get(job_id)
            assert job is not None and job.worker_id == worker and job.attempt == 1
