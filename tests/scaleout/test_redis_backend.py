"""Redis-only behaviour the shared contract suite cannot see: several store instances (one
per server process in production) on one Redis, cross-instance wakeups, key expiry and caps.

Each store instance has its own connections and its own pub/sub subscriber, exactly as in
separate server processes.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
import redis.asyncio as aioredis
from tests.scaleout.conftest import REDIS_URL, OpenStore

from pitstop.errors import ConfigError, MissingExtraError, StorageError
from pitstop.models import JobStatus, NewJob, Policy, Result
from pitstop.storage import job_key, make_store, queue_key, stop_key
from pitstop.storage.redis import store as redis_backend

pytestmark = pytest.mark.redis

T0 = 1_800_000_000.0


def new_job(endpoint: str = "ep", **policy: object) -> NewJob:
    return NewJob(
        id=f"job-{uuid.uuid4().hex}",
        endpoint=endpoint,
        input={"n": 1},
        policy=Policy(**policy),  # type: ignore[arg-type]
        created_at=T0,
    )


async def test_enqueue_on_one_store_wakes_a_watch_on_another(open_store: OpenStore) -> None:
    a, b = await open_store(), await open_store()
    async with a.watch(queue_key("ep")) as watch:
        started = time.monotonic()
        await b.enqueue(new_job())
        assert await watch.wait(5.0)
        assert time.monotonic() - started < 0.5


async def test_finish_and_cancel_wake_job_and_stop_keys_across_stores(
    open_store: OpenStore,
) -> None:
    a, b = await open_store(), await open_store()
    first, second = new_job(), new_job()
    await a.enqueue(first)
    await a.enqueue(second)
    await a.claim("ep", "w1", 2, 30.0, T0)
    async with a.watch(job_key(first.id)) as job_watch, a.watch(stop_key("w1")) as stops:
        await b.finish(first.id, "w1", 1, Result(output=1, has_output=True), T0 + 1, 60.0)
        assert await job_watch.wait(5.0)
        await b.cancel(second.id, T0 + 1)
        assert await stops.wait(5.0)
    assert await a.pop_stops("w1") == [second.id]


async def test_watches_share_one_subscription_and_unsubscribe_when_done(
    open_store: OpenStore, prefix: str
) -> None:
    a, b = await open_store(), await open_store()
    channel = f"{prefix}:wake:{queue_key('ep')}"
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        async with a.watch(queue_key("ep")) as w1, a.watch(queue_key("ep")) as w2:
            assert dict(await client.pubsub_numsub(channel))[channel.encode()] == 1
            await b.enqueue(new_job())
            assert await w1.wait(5.0)
            assert await w2.wait(5.0)
        deadline = time.monotonic() + 5.0
        while dict(await client.pubsub_numsub(channel))[channel.encode()] != 0:
            assert time.monotonic() < deadline, "channel still subscribed after the watches ended"
            await asyncio.sleep(0.01)
    finally:
        await client.aclose()


async def test_concurrent_claims_from_many_stores_never_share_a_job(
    open_store: OpenStore,
) -> None:
    stores = [await open_store() for _ in range(3)]
    jobs = [new_job() for _ in range(200)]
    ids = {job.id for job in jobs}
    await asyncio.gather(*(stores[0].enqueue(job) for job in jobs))

    async def drain(store_index: int, worker: str) -> list[str]:
        taken: list[str] = []
        while jobs := await stores[store_index].claim("ep", worker, 7, 30.0, T0):
            taken.extend(job.id for job in jobs)
        return taken

    results = await asyncio.gather(*(drain(i % 3, f"w{i}") for i in range(6)))
    claimed = [job_id for taken in results for job_id in taken]
    assert len(claimed) == len(set(claimed)) == 200
    assert set(claimed) == ids


async def test_concurrent_sweepers_transition_each_lost_job_once(
    open_store: OpenStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(redis_backend, "_BATCH", 16)  # several script calls per sweep
    stores = [await open_store() for _ in range(3)]
    await asyncio.gather(*(stores[0].enqueue(new_job()) for _ in range(200)))
    claimed = await stores[0].claim("ep", "dead-worker", 200, 1.0, T0)
    assert len(claimed) == 200
    reports = await asyncio.gather(*(s.expire_leases(T0 + 5, max_attempts=3) for s in stores))
    requeued = [job_id for report in reports for job_id in report.requeued]
    assert len(requeued) == len(set(requeued)) == 200
    counts = await stores[1].counts("ep")
    assert counts["IN_QUEUE"] == 200
    assert counts["IN_PROGRESS"] == 0
    assert counts["retried"] == 200


async def test_finished_job_keys_expire_with_retention(open_store: OpenStore, prefix: str) -> None:
    store = await open_store(expire_grace_s=5.0)
    job = new_job()
    await store.enqueue(job)
    await store.claim("ep", "w1", 1, 30.0, T0)
    await store.append_chunk(job.id, "w1", 1, "part")
    await store.append_logs(job.id, [("stdout", "hello")], T0)
    await store.finish(job.id, "w1", 1, Result(output=1, has_output=True), T0 + 1, 60.0)
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        for kind in ("job", "chunks", "logs"):
            ttl = await client.pttl(f"{prefix}:{kind}:{job.id}")
            assert 60_000 < ttl <= 65_000, kind
        await store.retry(job.id, T0 + 2)  # not retryable (COMPLETED): keys keep expiring
        assert await client.pttl(f"{prefix}:job:{job.id}") > 0
    finally:
        await client.aclose()


async def test_retried_job_keys_stop_expiring(open_store: OpenStore, prefix: str) -> None:
    store = await open_store()
    job = new_job()
    await store.enqueue(job)
    await store.claim("ep", "w1", 1, 30.0, T0)
    await store.finish(job.id, "w1", 1, Result(error="boom"), T0 + 1, 60.0)
    retried = await store.retry(job.id, T0 + 2)
    assert retried is not None and retried.status is JobStatus.IN_QUEUE
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        assert await client.pttl(f"{prefix}:job:{job.id}") == -1
    finally:
        await client.aclose()


async def test_log_lines_are_capped_per_job(open_store: OpenStore) -> None:
    store = await open_store(max_log_lines=5)
    job = new_job()
    await store.enqueue(job)
    await store.append_logs(job.id, [("stdout", f"line {i}") for i in range(8)], T0)
    await store.append_logs(job.id, [("stderr", f"more {i}") for i in range(4)], T0 + 1)
    lines = await store.read_logs(job.id)
    assert [line.seq for line in lines] == [7, 8, 9, 10, 11]
    assert lines[0].text == "line 7" and lines[-1].text == "more 3"
    assert [line.seq for line in await store.read_logs(job.id, after_seq=9)] == [10, 11]


async def test_prefix_and_options_come_from_the_url(prefix: str) -> None:
    store = make_store(f"{REDIS_URL}?prefix={prefix}&retention_sync_s=5")
    assert isinstance(store, redis_backend.RedisStore)
    assert store.prefix == prefix
    assert store.retention_sync_s == 5.0
    assert "prefix" not in store.url


def test_unknown_option_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown Redis store option"):
        redis_backend.RedisStore(REDIS_URL, "p", lease=3)


def test_missing_redis_package_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(redis_backend, "aioredis", None)
    with pytest.raises(MissingExtraError, match=r"pitstop\[redis\]"):
        redis_backend.RedisStore(REDIS_URL, "p")


async def test_concurrent_calls_share_pipelines_but_keep_their_own_results(
    open_store: OpenStore,
) -> None:
    store = await open_store()
    taken = new_job()
    await store.enqueue(taken)
    fresh = [new_job() for _ in range(50)]
    results = await asyncio.gather(
        *(store.enqueue(job) for job in fresh),
        store.enqueue(taken),  # a duplicate id in the same batch fails alone
        return_exceptions=True,
    )
    assert all(not isinstance(r, BaseException) for r in results[:-1])
    assert isinstance(results[-1], StorageError)
    got = await asyncio.gather(*(store.get(job.id) for job in fresh))
    assert [job.id for job in got if job is not None] == [job.id for job in fresh]


async def test_scripts_are_reloaded_after_a_script_flush(open_store: OpenStore) -> None:
    store = await open_store()
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        await client.script_flush()
    finally:
        await client.aclose()
    job = await store.enqueue(new_job())
    assert (await store.claim("ep", "w1", 1, 30.0, T0))[0].id == job.id


async def test_watches_recover_after_the_subscriber_connection_is_killed(
    open_store: OpenStore, prefix: str
) -> None:
    a, b = await open_store(), await open_store()
    client = aioredis.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        async with a.watch(queue_key("ep")) as watch:
            subscribers = await _subscribers(client, prefix)
            assert len(subscribers) == 2  # one per store
            await client.client_kill_filter(_id=subscribers[0]["id"])
            await client.client_kill_filter(_id=subscribers[1]["id"])
            deadline = time.monotonic() + 10.0
            while len(await _subscribers(client, prefix)) < 2:  # both stores resubscribe
                assert time.monotonic() < deadline, "the stores never resubscribed"
                await asyncio.sleep(0.02)
            while await watch.wait(0.2):  # drop the wakeups the reconnect itself caused
                pass
            await b.enqueue(new_job())
            assert await watch.wait(5.0)  # the surviving subscription hears new events
        job = new_job()
        async with a.watch(job_key(job.id)) as fresh:
            await b.enqueue(job)
            assert await fresh.wait(5.0)
    finally:
        await client.aclose()


async def _subscribers(client: aioredis.Redis, prefix: str) -> list[dict[str, str]]:
    """The pub/sub connections of the stores on ``prefix`` (named ``pitstop:{prefix}``)."""
    return [
        c
        for c in await client.client_list()
        if c["name"] == f"pitstop:{prefix}" and int(c.get("sub", 0)) > 0
    ]


async def test_concurrent_deadline_and_retention_sweeps_act_once(
    open_store: OpenStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(redis_backend, "_BATCH", 16)
    stores = [await open_store() for _ in range(3)]
    jobs = [new_job(ttl_ms=10_000) for _ in range(120)]
    await asyncio.gather(*(stores[0].enqueue(job) for job in jobs))
    reports = await asyncio.gather(*(s.expire_deadlines(T0 + 11, 60.0) for s in stores))
    timed_out = [job_id for report in reports for job_id in report.timed_out]
    assert sorted(timed_out) == sorted(job.id for job in jobs)
    deleted = await asyncio.gather(*(s.delete_expired(T0 + 72) for s in stores))
    assert sum(deleted) == 120
    counts = await stores[2].counts("ep")
    assert all(n == 0 for n in counts.values()), counts
    assert await stores[1].recent("ep") == []
