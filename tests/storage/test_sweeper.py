"""Contract: lease expiry, deadlines, retention and deletion, retry and purge."""

from __future__ import annotations

from storage_support import LEASE, RETAIN, T0, failed, new_job, ok

from pitstop.models import JobStatus, Outcome
from pitstop.storage import Store


async def test_expired_lease_requeues_then_fails_at_max_attempts(store: Store) -> None:
    job = await store.enqueue(new_job())
    now = T0
    for attempt in (1, 2):
        claimed = await store.claim("ep", f"w{attempt}", 1, LEASE, now)
        assert claimed[0].attempt == attempt
        now += LEASE + 1
        report = await store.expire_leases(now, max_attempts=3)
        assert report.requeued == [job.id] and report.failed == []
        requeued = await store.get(job.id)
        assert requeued is not None and requeued.status is JobStatus.IN_QUEUE
        assert requeued.retries == attempt and requeued.worker_id is None
    await store.claim("ep", "w3", 1, LEASE, now)
    report = await store.expire_leases(now + LEASE + 1, max_attempts=3)
    assert report.failed == [job.id] and report.requeued == []
    lost = await store.get(job.id)
    assert lost is not None and lost.status is JobStatus.FAILED
    assert lost.error and "lost" in lost.error
    assert lost.expires_at is not None


async def test_live_lease_is_not_expired(store: Store) -> None:
    job = await store.enqueue(new_job())
    await store.claim("ep", "w1", 1, LEASE, T0)
    await store.renew("w1", [job.id], LEASE, T0 + 20)
    report = await store.expire_leases(T0 + LEASE + 1, max_attempts=3)
    assert report.requeued == [] and report.failed == []
    assert await store.finish(job.id, "w1", 1, ok(), T0 + 40, RETAIN) is Outcome.ACCEPTED


async def test_expire_leases_twice_changes_once(store: Store) -> None:
    job = await store.enqueue(new_job())
    await store.claim("ep", "w1", 1, LEASE, T0)
    first = await store.expire_leases(T0 + 100, max_attempts=3)
    second = await store.expire_leases(T0 + 100, max_attempts=3)
    assert first.requeued == [job.id] and second.requeued == []
    again = await store.get(job.id)
    assert again is not None and again.retries == 1


async def test_queue_ttl_times_out_queued_job(store: Store) -> None:
    short = await store.enqueue(new_job(ttl_ms=10_000))
    long = await store.enqueue(new_job(ttl_ms=100_000))
    report = await store.expire_deadlines(T0 + 11, RETAIN)
    assert report.timed_out == [short.id]
    gone = await store.get(short.id)
    assert gone is not None and gone.status is JobStatus.TIMED_OUT
    assert gone.expires_at == T0 + 11 + RETAIN
    assert gone.error
    alive = await store.get(long.id)
    assert alive is not None and alive.status is JobStatus.IN_QUEUE
    assert (await store.expire_deadlines(T0 + 11, RETAIN)).timed_out == []


async def test_running_job_is_not_timed_out_by_queue_ttl(store: Store) -> None:
    job = await store.enqueue(new_job(ttl_ms=10_000))
    await store.claim("ep", "w1", 1, LEASE, T0 + 1)
    assert (await store.expire_deadlines(T0 + 20, RETAIN)).timed_out == []
    still = await store.get(job.id)
    assert still is not None and still.status is JobStatus.IN_PROGRESS


async def test_execution_timeout_times_out_and_stops_worker(store: Store) -> None:
    job = await store.enqueue(new_job(execution_timeout_ms=5_000))
    await store.claim("ep", "w1", 1, LEASE, T0 + 1)
    assert (await store.expire_deadlines(T0 + 5, RETAIN)).timed_out == []
    report = await store.expire_deadlines(T0 + 6.5, RETAIN)
    assert report.timed_out == [job.id]
    timed = await store.get(job.id)
    assert timed is not None and timed.status is JobStatus.TIMED_OUT
    assert await store.pop_stops("w1") == [job.id]
    assert await store.finish(job.id, "w1", 1, ok(), T0 + 7, RETAIN) is Outcome.IGNORED


async def test_delete_expired_removes_only_terminal_past_retention(store: Store) -> None:
    done = await store.enqueue(new_job(created_at=T0))
    running = await store.enqueue(new_job(created_at=T0 + 1))
    queued = await store.enqueue(new_job(created_at=T0 + 2))
    await store.claim("ep", "w1", 2, LEASE, T0 + 3)
    await store.append_chunk(done.id, "w1", 1, "x")
    await store.append_logs(done.id, [("stdout", "hello")], T0 + 3)
    await store.finish(done.id, "w1", 1, ok(), T0 + 4, 10.0)
    assert await store.delete_expired(T0 + 13) == 0
    assert await store.delete_expired(T0 + 15) == 1
    assert await store.get(done.id) is None
    assert await store.read_stream(done.id) is None
    assert await store.read_logs(done.id) == []
    assert await store.get(running.id) is not None
    assert await store.get(queued.id) is not None


async def test_set_retention_moves_the_deletion_deadline(store: Store) -> None:
    job = await store.enqueue(new_job())
    await store.claim("ep", "w1", 1, LEASE, T0)
    await store.finish(job.id, "w1", 1, ok(), T0 + 1, 10.0)
    kept = await store.set_retention(job.id, 500.0, T0 + 2)
    assert kept is not None and kept.expires_at == T0 + 502
    assert await store.delete_expired(T0 + 100) == 0
    assert await store.delete_expired(T0 + 503) == 1
    assert await store.set_retention("nope", 5.0, T0) is None


async def test_retry_failed_job_same_id_cleared(store: Store) -> None:
    job = await store.enqueue(new_job(input={"x": 1}))
    await store.claim("ep", "w1", 1, LEASE, T0)
    await store.set_progress(job.id, "w1", 1, "half")
    await store.append_chunk(job.id, "w1", 1, "partial")
    await store.finish(job.id, "w1", 1, failed("oops"), T0 + 1, RETAIN)
    again = await store.retry(job.id, T0 + 2)
    assert again is not None
    assert again.id == job.id and again.status is JobStatus.IN_QUEUE
    assert again.input == {"x": 1}
    assert again.retries == 1
    assert again.error is None and not again.has_output and not again.has_progress
    assert again.chunk_count == 0
    read = await store.read_stream(job.id, start=0)
    assert read is not None and read[1] == []
    claimed = await store.claim("ep", "w2", 1, LEASE, T0 + 3)
    assert [j.id for j in claimed] == [job.id] and claimed[0].attempt == 2
    assert await store.finish(job.id, "w1", 1, ok(), T0 + 4, RETAIN) is Outcome.STALE
    assert await store.finish(job.id, "w2", 2, ok("fine"), T0 + 4, RETAIN) is Outcome.ACCEPTED


async def test_retry_timed_out_job(store: Store) -> None:
    job = await store.enqueue(new_job(ttl_ms=10_000))
    await store.expire_deadlines(T0 + 20, RETAIN)
    again = await store.retry(job.id, T0 + 30)
    assert again is not None and again.status is JobStatus.IN_QUEUE
    # the TTL restarts with the retry, so it is claimable again
    assert [j.id for j in await store.claim("ep", "w1", 1, LEASE, T0 + 31)] == [job.id]


async def test_retry_refuses_other_states(store: Store) -> None:
    job = await store.enqueue(new_job())
    same = await store.retry(job.id, T0)
    assert same is not None and same.status is JobStatus.IN_QUEUE and same.retries == 0
    await store.claim("ep", "w1", 1, LEASE, T0)
    await store.finish(job.id, "w1", 1, ok(), T0 + 1, RETAIN)
    same = await store.retry(job.id, T0 + 2)
    assert same is not None and same.status is JobStatus.COMPLETED and same.retries == 0
    assert await store.retry("nope", T0) is None


async def test_retry_restarts_the_attempt_budget(store: Store) -> None:
    job = await store.enqueue(new_job())
    await store.claim("ep", "w1", 1, LEASE, T0)
    assert (await store.expire_leases(T0 + 100, max_attempts=1)).failed == [job.id]
    await store.retry(job.id, T0 + 101)
    await store.claim("ep", "w1", 1, LEASE, T0 + 102)
    await store.renew("w1", [job.id], LEASE, T0 + 102)
    assert (await store.expire_leases(T0 + 200, max_attempts=2)).requeued == [job.id]


async def test_purge_cancels_queued_only(store: Store) -> None:
    run = await store.enqueue(new_job(created_at=T0))
    queued = [await store.enqueue(new_job(created_at=T0 + 1 + i)) for i in range(3)]
    other = await store.enqueue(new_job("other"))
    await store.claim("ep", "w1", 1, LEASE, T0 + 10)
    assert await store.purge("ep", T0 + 11) == 3
    for job in queued:
        got = await store.get(job.id)
        assert got is not None and got.status is JobStatus.CANCELLED
    kept = await store.get(run.id)
    assert kept is not None and kept.status is JobStatus.IN_PROGRESS
    untouched = await store.get(other.id)
    assert untouched is not None and untouched.status is JobStatus.IN_QUEUE
    assert await store.purge("ep", T0 + 12) == 0
    assert await store.claim("ep", "w2", 5, LEASE, T0 + 13) == []
