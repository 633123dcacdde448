"""Contract: wakeup keys. Armed on entry, notified by every mutating primitive, close wakes."""

from __future__ import annotations

import asyncio
import time

from storage_support import LEASE, RETAIN, T0, failed, new_job, ok

from pitstop.storage import Store, job_key, queue_key, stop_key

QUICK = 0.05
"""Timeout for waits that must time out (short: the suite stays fast)."""
LONG = 5.0
"""Timeout for waits that must be woken (never reached when the contract holds)."""


async def test_wait_times_out_with_false(store: Store) -> None:
    async with store.watch(queue_key("ep")) as watch:
        assert await watch.wait(QUICK) is False


async def test_event_between_enter_and_wait_is_not_lost(store: Store) -> None:
    async with store.watch(queue_key("ep")) as watch:
        await store.enqueue(new_job())
        assert await watch.wait(LONG) is True
        assert await watch.wait(QUICK) is False  # consumed


async def test_unrelated_key_does_not_wake(store: Store) -> None:
    async with store.watch(queue_key("ep")) as watch:
        await store.enqueue(new_job("other"))
        assert await watch.wait(QUICK) is False


async def test_waiting_claim_wakes_within_milliseconds_of_enqueue(store: Store) -> None:
    woke_after: list[float] = []

    async def waiter() -> list[str]:
        async with store.watch(queue_key("ep")) as watch:
            while not (jobs := await store.claim("ep", "w1", 1, LEASE, T0)):
                started = time.monotonic()
                assert await watch.wait(LONG)
                woke_after.append(time.monotonic() - started)
            return [j.id for j in jobs]

    task = asyncio.create_task(waiter())
    await asyncio.sleep(0.02)  # let the waiter block on its watch
    job = await store.enqueue(new_job())
    assert await asyncio.wait_for(task, LONG) == [job.id]
    assert woke_after and woke_after[-1] < 0.5


async def test_job_key_notified_on_claim_progress_chunk_finish(store: Store) -> None:
    job = await store.enqueue(new_job())
    async with store.watch(job_key(job.id)) as watch:
        await store.claim("ep", "w1", 1, LEASE, T0)
        assert await watch.wait(LONG)
        await store.set_progress(job.id, "w1", 1, {"pct": 10})
        assert await watch.wait(LONG)
        await store.append_chunk(job.id, "w1", 1, "a")
        assert await watch.wait(LONG)
        await store.finish(job.id, "w1", 1, ok(), T0 + 1, RETAIN)
        assert await watch.wait(LONG)


async def test_job_key_notified_on_cancel(store: Store) -> None:
    job = await store.enqueue(new_job())
    async with store.watch(job_key(job.id)) as watch:
        await store.cancel(job.id, T0)
        assert await watch.wait(LONG)


async def test_stop_key_notified_when_running_job_cancelled(store: Store) -> None:
    job = await store.enqueue(new_job())
    await store.claim("ep", "w1", 1, LEASE, T0)
    async with store.watch(stop_key("w1")) as watch, store.watch(stop_key("w2")) as other:
        await store.cancel(job.id, T0 + 1)
        assert await watch.wait(LONG)
        assert await other.wait(QUICK) is False
    assert await store.pop_stops("w1") == [job.id]


async def test_queue_key_notified_on_lease_requeue_and_retry(store: Store) -> None:
    job = await store.enqueue(new_job())
    await store.claim("ep", "w1", 1, LEASE, T0)
    async with store.watch(queue_key("ep")) as watch:
        report = await store.expire_leases(T0 + LEASE + 1, max_attempts=3)
        assert report.requeued == [job.id]
        assert await watch.wait(LONG)
        await store.claim("ep", "w1", 1, LEASE, T0 + 40)
        await store.finish(job.id, "w1", 2, failed(), T0 + 41, RETAIN)
        await watch.wait(QUICK)  # drain whatever claim/finish caused
        await store.retry(job.id, T0 + 42)
        assert await watch.wait(LONG)


async def test_one_watch_many_keys(store: Store) -> None:
    job = await store.enqueue(new_job())
    async with store.watch(queue_key("nothing"), job_key(job.id)) as watch:
        await store.cancel(job.id, T0)
        assert await watch.wait(LONG)


async def test_close_wakes_pending_waiters(store: Store) -> None:
    async with store.watch(queue_key("ep")) as watch:
        task = asyncio.create_task(watch.wait(LONG))
        await asyncio.sleep(0.01)
        started = time.monotonic()
        await store.close()
        await asyncio.wait_for(task, LONG)
        assert time.monotonic() - started < 2.0


async def test_stop_and_job_keys_notified_on_execution_timeout(store: Store) -> None:
    job = await store.enqueue(new_job(execution_timeout_ms=1_000))
    await store.claim("ep", "w1", 1, LEASE, T0)
    async with store.watch(stop_key("w1")) as stops, store.watch(job_key(job.id)) as changes:
        await store.expire_deadlines(T0 + 2, RETAIN)
        assert await stops.wait(LONG)
        assert await changes.wait(LONG)
    assert await store.pop_stops("w1") == [job.id]


async def test_runsync_style_waiter_sees_the_finished_job(store: Store) -> None:
    job = await store.enqueue(new_job())

    async def wait_done() -> str:
        async with store.watch(job_key(job.id)) as watch:
            while True:
                current = await store.get(job.id)
                assert current is not None
                if current.status.is_terminal:
                    return str(current.output)
                assert await watch.wait(LONG)

    task = asyncio.create_task(wait_done())
    await store.claim("ep", "w1", 1, LEASE, T0)
    await store.finish(job.id, "w1", 1, ok("result"), T0 + 1, RETAIN)
    assert await asyncio.wait_for(task, LONG) == "result"
