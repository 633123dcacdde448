"""Contract: idempotent enqueue (one job per key and endpoint, atomic, forgotten with the job)."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from storage_support import LEASE, T0, new_job, ok

from pitstop.errors import IdempotencyConflict
from pitstop.models import Idempotency, JobStatus, NewJob
from pitstop.storage import Store


def keyed(key: str, fingerprint: str = "fp-1", endpoint: str = "ep") -> NewJob:
    return dataclasses.replace(new_job(endpoint), idempotency=Idempotency(key, fingerprint))


async def test_a_repeated_key_returns_the_first_job_as_it_is_now(store: Store) -> None:
    first = await store.enqueue(keyed("k1"))
    claimed = await store.claim("ep", "w1", 1, LEASE, T0 + 1)
    assert [j.id for j in claimed] == [first.id]
    again = await store.enqueue(keyed("k1"))
    assert again.id == first.id and again.status is JobStatus.IN_PROGRESS
    assert (await store.counts("ep"))["IN_QUEUE"] == 0


async def test_another_body_with_the_same_key_conflicts(store: Store) -> None:
    first = await store.enqueue(keyed("k2", "fp-a"))
    with pytest.raises(IdempotencyConflict, match=first.id):
        await store.enqueue(keyed("k2", "fp-b"))


async def test_keys_are_per_endpoint(store: Store) -> None:
    a = await store.enqueue(keyed("shared", endpoint="ep-a"))
    b = await store.enqueue(keyed("shared", "other-body", endpoint="ep-b"))
    assert a.id != b.id


async def test_concurrent_submissions_with_one_key_create_one_job(store: Store) -> None:
    jobs = await asyncio.gather(*(store.enqueue(keyed("race")) for _ in range(20)))
    assert len({j.id for j in jobs}) == 1
    assert (await store.counts("ep"))["IN_QUEUE"] == 1


async def test_the_key_is_forgotten_with_its_job(store: Store) -> None:
    first = await store.enqueue(keyed("k3"))
    await store.claim("ep", "w1", 1, LEASE, T0 + 1)
    await store.finish(first.id, "w1", 1, ok(), T0 + 2, 10.0)
    with pytest.raises(IdempotencyConflict):  # still retained: the key still names it
        await store.enqueue(keyed("k3", "new-body"))
    assert await store.delete_expired(T0 + 100) >= 1
    assert await store.get(first.id) is None
    fresh = await store.enqueue(keyed("k3", "new-body"))
    assert fresh.id != first.id and fresh.status is JobStatus.IN_QUEUE
