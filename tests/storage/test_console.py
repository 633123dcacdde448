"""Contract: job timelines, per-minute statistics, keyset job pages, worker process details."""

from __future__ import annotations

from storage_support import LEASE, RETAIN, T0, failed, new_job, ok

from pitstop.models import EventKind, GpuSample, JobStatus, WorkerMeta
from pitstop.storage import Store
from pitstop.storage.stats import MAX_PROGRESS_EVENTS, merge, ms_bin, percentile

HOOK = "http://127.0.0.1:9/hook"


def kinds(events: list) -> list[str]:
    return [e.kind.value for e in events]


async def test_a_jobs_life_is_recorded_in_order_with_worker_and_attempt(store: Store) -> None:
    job = await store.enqueue(new_job(created_at=T0))
    await store.claim("ep", "w1", 1, LEASE, T0 + 1)
    await store.set_progress(job.id, "w1", 1, {"pct": 50}, now=T0 + 2)
    await store.append_chunk(job.id, "w1", 1, "a", now=T0 + 3)
    await store.append_chunk(job.id, "w1", 1, "b", now=T0 + 4)  # only the first is an event
    await store.finish(job.id, "w1", 1, ok(), T0 + 5, RETAIN)
    events = await store.events(job.id)
    assert kinds(events) == ["submitted", "taken", "progress", "first_chunk", "finished"]
    assert [e.seq for e in events] == [0, 1, 2, 3, 4]
    assert [e.at for e in events] == [T0, T0 + 1, T0 + 2, T0 + 3, T0 + 5]
    taken, progress, chunk, finished = events[1:]
    assert (taken.worker_id, taken.attempt) == ("w1", 1)
    assert progress.detail == '{"pct":50}'
    assert (chunk.worker_id, chunk.attempt) == ("w1", 1)
    assert finished.detail == "COMPLETED" and finished.worker_id == "w1"
    assert await store.events("nope") == []


async def test_requeue_retry_cancel_and_webhooks_are_on_the_timeline(store: Store) -> None:
    job = await store.enqueue(new_job(webhook=HOOK, created_at=T0))
    await store.claim("ep", "w1", 1, LEASE, T0)
    await store.expire_leases(T0 + LEASE + 1, max_attempts=3)
    await store.claim("ep", "w2", 1, LEASE, T0 + 40)
    await store.finish(job.id, "w2", 2, failed("bad"), T0 + 41, RETAIN)
    (delivery,) = await store.due_webhooks(T0 + 42, 10)
    await store.webhook_attempted(delivery.id, False, "HTTP 500", T0 + 50, now=T0 + 43)
    await store.webhook_attempted(delivery.id, True, None, None, now=T0 + 50)
    await store.retry(job.id, T0 + 60)
    await store.claim("ep", "w3", 1, LEASE, T0 + 61)
    await store.cancel(job.id, T0 + 62)
    events = await store.events(job.id)
    assert kinds(events) == [
        "submitted",
        "taken",
        "requeued",
        "taken",
        "finished",
        "webhook",
        "webhook",
        "retried",
        "taken",
        "cancelled",
    ]
    requeued, finished = events[2], events[4]
    assert (requeued.worker_id, requeued.attempt) == ("w1", 1)
    assert (finished.worker_id, finished.attempt, finished.detail) == ("w2", 2, "FAILED")
    first_call, second_call = events[5], events[6]
    assert first_call.attempt == 1 and "HTTP 500" in (first_call.detail or "")
    assert "will retry" in (first_call.detail or "")
    assert second_call.attempt == 2 and second_call.detail == f"delivered to {HOOK}"
    cancelled = events[-1]
    assert (cancelled.worker_id, cancelled.attempt, cancelled.at) == ("w3", 3, T0 + 62)


async def test_endings_without_a_result_have_their_own_events(store: Store) -> None:
    purged = await store.enqueue(new_job("a", created_at=T0))
    await store.purge("a", T0 + 1)
    ttl = await store.enqueue(new_job("b", ttl_ms=1000, created_at=T0))
    slow = await store.enqueue(new_job("c", execution_timeout_ms=1000, created_at=T0))
    await store.claim("c", "w1", 1, LEASE, T0)
    await store.expire_deadlines(T0 + 2, RETAIN)
    lost = await store.enqueue(new_job("d", created_at=T0))
    await store.claim("d", "w9", 1, LEASE, T0)
    await store.expire_leases(T0 + LEASE + 1, max_attempts=1)
    last = {j.id: (await store.events(j.id))[-1] for j in (purged, ttl, slow, lost)}
    assert (last[purged.id].kind, last[purged.id].detail) == (EventKind.CANCELLED, "purged")
    assert last[ttl.id].kind is EventKind.TIMED_OUT and "TTL" in (last[ttl.id].detail or "")
    assert last[slow.id].kind is EventKind.TIMED_OUT and last[slow.id].worker_id == "w1"
    assert last[lost.id].kind is EventKind.LOST and last[lost.id].worker_id == "w9"
    assert "lost" in (last[lost.id].detail or "")


async def test_progress_events_are_capped_and_later_events_still_recorded(store: Store) -> None:
    job = await store.enqueue(new_job(created_at=T0))
    await store.claim("ep", "w1", 1, LEASE, T0)
    for i in range(MAX_PROGRESS_EVENTS + 10):
        await store.set_progress(job.id, "w1", 1, i, now=T0 + 1)
    await store.finish(job.id, "w1", 1, ok(), T0 + 2, RETAIN)
    events = await store.events(job.id)
    assert len(events) == MAX_PROGRESS_EVENTS + 1
    assert kinds(events).count("progress") == MAX_PROGRESS_EVENTS - 2
    assert events[-1].kind is EventKind.FINISHED


async def test_events_are_deleted_with_their_job(store: Store) -> None:
    job = await store.enqueue(new_job(created_at=T0))
    await store.cancel(job.id, T0)
    assert await store.events(job.id)
    await store.delete_expired(T0 + 10 * RETAIN)
    assert await store.get(job.id) is None
    assert await store.events(job.id) == []


async def test_stats_count_endings_per_minute_with_delay_and_execution_bins(store: Store) -> None:
    minute = int(T0 // 60) * 60
    jobs = [await store.enqueue(new_job(created_at=minute + i)) for i in range(3)]
    await store.claim("ep", "w1", 3, LEASE, minute + 10)
    await store.finish(jobs[0].id, "w1", 1, ok(), minute + 10.5, RETAIN)
    await store.finish(jobs[1].id, "w1", 1, failed(), minute + 70, RETAIN)
    await store.cancel(jobs[2].id, minute + 75)
    queued = await store.enqueue(new_job(created_at=minute + 80))
    await store.cancel(queued.id, minute + 80)
    buckets = await store.stats("ep", minute - 600, minute + 600)
    assert [b.minute for b in buckets] == [minute, minute + 60]
    first, second = buckets
    assert first.ended == {"COMPLETED": 1}
    assert first.delay == {ms_bin(10_000): 1} and first.execution == {ms_bin(500): 1}
    assert second.ended == {"FAILED": 1, "CANCELLED": 2}
    assert sum(second.delay.values()) == 2  # the queued cancel never ran: no delay
    total = merge(buckets)
    assert total.ended == {"COMPLETED": 1, "FAILED": 1, "CANCELLED": 2}
    p50 = percentile(total.execution, 0.5)
    assert p50 is not None and 400 < p50 < 80_000
    assert await store.stats("ep", minute + 120, minute + 600) == []
    assert await store.stats("other", minute - 600, minute + 600) == []


async def test_job_pages_go_newest_first_with_keyset_cursors(store: Store) -> None:
    ids = [(await store.enqueue(new_job(created_at=T0 + i))).id for i in range(7)]
    await store.enqueue(new_job("other", created_at=T0 + 9))
    first = await store.job_page("ep", limit=3)
    assert [j.id for j in first.jobs] == ids[6:3:-1]
    assert first.newer is None and first.older is not None
    second = await store.job_page("ep", before=first.older, limit=3)
    assert [j.id for j in second.jobs] == ids[3:0:-1]
    last = await store.job_page("ep", before=second.older, limit=3)
    assert [j.id for j in last.jobs] == [ids[0]] and last.older is None
    back = await store.job_page("ep", after=second.newer, limit=3)
    assert [j.id for j in back.jobs] == ids[6:3:-1] and back.newer is None
    head = first.jobs[0]
    assert head.status is JobStatus.IN_QUEUE and head.endpoint == "ep"
    assert head.created_at == T0 + 6 and head.attempt == 0


async def test_job_pages_filter_by_status_and_follow_transitions(store: Store) -> None:
    ids = [(await store.enqueue(new_job(created_at=T0 + i))).id for i in range(5)]
    await store.claim("ep", "w1", 2, LEASE, T0 + 10)  # the two oldest
    await store.finish(ids[0], "w1", 1, ok(), T0 + 11, RETAIN)
    await store.cancel(ids[4], T0 + 12)
    by_status = {
        status: [j.id for j in (await store.job_page("ep", status)).jobs] for status in JobStatus
    }
    assert by_status[JobStatus.COMPLETED] == [ids[0]]
    assert by_status[JobStatus.IN_PROGRESS] == [ids[1]]
    assert by_status[JobStatus.IN_QUEUE] == [ids[3], ids[2]]
    assert by_status[JobStatus.CANCELLED] == [ids[4]]
    running = (await store.job_page("ep", JobStatus.IN_PROGRESS)).jobs[0]
    assert (running.worker_id, running.attempt, running.started_at) == ("w1", 1, T0 + 10)
    page = await store.job_page("ep", JobStatus.IN_QUEUE, limit=1)
    assert [j.id for j in page.jobs] == [ids[3]]
    rest = await store.job_page("ep", JobStatus.IN_QUEUE, before=page.older, limit=1)
    assert [j.id for j in rest.jobs] == [ids[2]] and rest.older is None
    assert (await store.job_page("ep", JobStatus.FAILED)).jobs == []


async def test_worker_process_details_are_kept_until_replaced(store: Store) -> None:
    meta = WorkerMeta(pid=42, host="box", started_at=T0 - 5, restarts=2, gpus="0,1")
    await store.record_ping("ep", "w1", [], T0, "1.0", meta)
    await store.record_ping("ep", "w1", ["j"], T0 + 1, None)
    await store.record_ping("ep", "w2", [], T0 + 1, None)
    w1, w2 = await store.workers("ep", T0)
    assert w1.meta == meta and w1.job_ids == ("j",)
    assert w2.meta is None


async def test_gpu_samples_are_kept_with_registered_workers_only(store: Store) -> None:
    reading = {"index": "0", "name": "L4", "utilization": 5, "memoryUsed": 1, "memoryTotal": 2}
    await store.record_ping("ep", "w1", [], T0, None)
    await store.record_ping("other", "w2", [], T0, None)
    first = {"w1": GpuSample(T0, 5.0, (reading,)), "w2": GpuSample(T0, 5.0, ())}
    assert await store.record_gpus("ep", first) == ["w1"], "w2 is not a worker of ep"
    newer = GpuSample(T0 + 5, 0.5, ({**reading, "utilization": 99, "temperature": None},))
    assert await store.record_gpus("ep", {"w1": newer}) == ["w1"]
    await store.record_ping("ep", "w1", ["j"], T0 + 6, None)
    (w1,) = await store.workers("ep", T0)
    assert w1.gpus == newer and w1.job_ids == ("j",), "the latest sample, kept across pings"
    (w2,) = await store.workers("other", T0)
    assert w2.gpus is None
    assert await store.record_gpus("ep", {}) == []


async def test_stats_merge_minutes_into_wider_steps(store: Store) -> None:
    start = int(T0 // 900) * 900
    for offset in (10, 130, 890, 910):  # three minutes of one quarter hour, then the next
        job = await store.enqueue(new_job(created_at=start + offset - 5))
        await store.claim("ep", "w1", 1, LEASE, start + offset - 1)
        await store.finish(job.id, "w1", 1, ok(), start + offset, RETAIN)
    quarters = await store.stats("ep", start, start + 1800, step=900)
    assert [(b.minute, b.ended) for b in quarters] == [
        (start, {"COMPLETED": 3}),
        (start + 900, {"COMPLETED": 1}),
    ]
    assert sum(quarters[0].execution.values()) == 3
    hours = await store.stats("ep", start, start + 1800, step=3600)
    assert sum(sum(b.ended.values()) for b in hours) == 4
    minutes = await store.stats("ep", start, start + 1800)
    assert len(minutes) == 4
