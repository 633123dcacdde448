"""Contract: webhook outbox, per-job logs, worker registry, counts, recent jobs, endpoints."""

from __future__ import annotations

from storage_support import LEASE, RETAIN, T0, failed, new_job, ok

from pitstop.models import JobStatus
from pitstop.storage import Store

HOOK = "http://127.0.0.1:9/hook"


async def test_finish_writes_one_outbox_entry_with_status_body(store: Store) -> None:
    job = await store.enqueue(new_job(webhook=HOOK, input={"q": 1}))
    await store.claim("ep", "w1", 1, LEASE, T0 + 1)
    await store.finish(job.id, "w1", 1, ok({"a": 1}), T0 + 3, RETAIN)
    await store.finish(job.id, "w1", 1, ok({"a": 1}), T0 + 4, RETAIN)  # duplicate: no new entry
    entries = await store.webhook_deliveries(job.id)
    assert len(entries) == 1
    entry = entries[0]
    assert entry.url == HOOK and entry.job_id == job.id
    assert entry.attempts == 0 and not entry.delivered
    body = entry.payload
    assert body["id"] == job.id and body["status"] == "COMPLETED"
    assert body["output"] == {"a": 1}
    assert body["input"] == {"q": 1} and body["webhook"] == HOOK
    assert body["delayTime"] == 1000 and body["executionTime"] == 2000


async def test_no_outbox_entry_without_webhook(store: Store) -> None:
    job = await store.enqueue(new_job())
    await store.claim("ep", "w1", 1, LEASE, T0)
    await store.finish(job.id, "w1", 1, ok(), T0 + 1, RETAIN)
    assert await store.webhook_deliveries(job.id) == []
    assert await store.due_webhooks(T0 + 100, 10) == []


async def test_every_terminal_transition_queues_a_webhook(store: Store) -> None:
    failed_job = await store.enqueue(new_job(webhook=HOOK, created_at=T0))
    await store.claim("ep", "w1", 1, LEASE, T0)
    await store.finish(failed_job.id, "w1", 1, failed("bad"), T0 + 1, RETAIN)
    cancelled = await store.enqueue(new_job(webhook=HOOK))
    await store.cancel(cancelled.id, T0 + 1)
    purged = await store.enqueue(new_job(webhook=HOOK))
    await store.purge("ep", T0 + 1)
    ttl = await store.enqueue(new_job("slow", webhook=HOOK, ttl_ms=10_000))
    await store.expire_deadlines(T0 + 11, RETAIN)
    lost = await store.enqueue(new_job("lost", webhook=HOOK))
    await store.claim("lost", "w9", 1, LEASE, T0)
    await store.expire_leases(T0 + LEASE + 1, max_attempts=1)
    expected = {
        failed_job.id: "FAILED",
        cancelled.id: "CANCELLED",
        purged.id: "CANCELLED",
        ttl.id: "TIMED_OUT",
        lost.id: "FAILED",
    }
    for job_id, status in expected.items():
        entries = await store.webhook_deliveries(job_id)
        assert [e.payload["status"] for e in entries] == [status], job_id
    assert entries[0].payload.get("error")


async def test_due_webhooks_leases_entries_and_records_attempts(store: Store) -> None:
    ids = []
    for i in range(3):
        job = await store.enqueue(new_job(webhook=HOOK, created_at=T0 + i))
        ids.append(job.id)
    await store.claim("ep", "w1", 3, LEASE, T0 + 5)
    for i, job_id in enumerate(ids):
        await store.finish(job_id, "w1", 1, ok(i), T0 + 10 + i, RETAIN)
    assert await store.due_webhooks(T0 + 9, 10) == []
    due = await store.due_webhooks(T0 + 20, 2)
    assert [d.job_id for d in due] == ids[:2]  # oldest first, limited
    # leased: a concurrent sweeper does not get them again right away
    again = await store.due_webhooks(T0 + 20, 10)
    assert [d.job_id for d in again] == [ids[2]]
    first, second = due
    await store.webhook_attempted(first.id, True, None, None)
    await store.webhook_attempted(second.id, False, "HTTP 500", T0 + 30)
    await store.webhook_attempted(again[0].id, False, "refused", None)
    delivered = (await store.webhook_deliveries(ids[0]))[0]
    assert delivered.delivered and delivered.attempts == 1
    retrying = (await store.webhook_deliveries(ids[1]))[0]
    assert not retrying.delivered and retrying.attempts == 1
    assert retrying.last_error == "HTTP 500" and retrying.next_at == T0 + 30
    given_up = (await store.webhook_deliveries(ids[2]))[0]
    assert not given_up.delivered and given_up.last_error == "refused"
    # only the retrying entry ever comes back, and only once it is due again
    assert await store.due_webhooks(T0 + 29, 10) == []
    assert [d.id for d in await store.due_webhooks(T0 + 10_000, 10)] == [second.id]


async def test_logs_append_and_read_after_seq(store: Store) -> None:
    job = await store.enqueue(new_job())
    await store.append_logs(job.id, [("stdout", "one"), ("stderr", "two")], T0 + 1)
    await store.append_logs(job.id, [("log", "three")], T0 + 2)
    lines = await store.read_logs(job.id)
    assert [(line.seq, line.stream, line.text) for line in lines] == [
        (0, "stdout", "one"),
        (1, "stderr", "two"),
        (2, "log", "three"),
    ]
    assert lines[0].at == T0 + 1 and lines[2].at == T0 + 2
    assert [line.text for line in await store.read_logs(job.id, after_seq=1)] == ["three"]
    assert await store.read_logs(job.id, after_seq=2) == []
    assert await store.read_logs("nope") == []


async def test_worker_registry(store: Store) -> None:
    await store.record_ping("ep", "w1", ["j1"], T0, "1.0")
    await store.record_ping("ep", "w2", [], T0 + 5, None)
    await store.record_ping("other", "w3", [], T0 + 5, None)
    await store.record_ping("ep", "w1", ["j1", "j2"], T0 + 10, None)
    seen = {w.id: w for w in await store.workers("ep", T0)}
    assert set(seen) == {"w1", "w2"}
    assert seen["w1"].last_seen == T0 + 10 and seen["w1"].job_ids == ("j1", "j2")
    assert seen["w1"].endpoint == "ep"
    recent = await store.workers("ep", T0 + 6)
    assert [w.id for w in recent] == ["w1"]


async def test_counts_per_status_and_retried(store: Store) -> None:
    empty = await store.counts("ep")
    assert empty == {**{s.value: 0 for s in JobStatus}, "retried": 0}
    jobs = [await store.enqueue(new_job(created_at=T0 + i)) for i in range(5)]
    await store.claim("ep", "w1", 3, LEASE, T0 + 10)
    await store.finish(jobs[0].id, "w1", 1, ok(), T0 + 11, RETAIN)
    await store.finish(jobs[1].id, "w1", 1, failed(), T0 + 11, RETAIN)
    await store.cancel(jobs[3].id, T0 + 11)
    await store.retry(jobs[1].id, T0 + 12)
    await store.enqueue(new_job("other"))
    counts = await store.counts("ep")
    assert counts == {
        "IN_QUEUE": 2,
        "IN_PROGRESS": 1,
        "COMPLETED": 1,
        "FAILED": 0,
        "CANCELLED": 1,
        "TIMED_OUT": 0,
        "retried": 1,
    }
    await store.delete_expired(T0 + 100_000)  # past any retention
    after = await store.counts("ep")
    assert after["COMPLETED"] == 0 and after["CANCELLED"] == 0 and after["IN_QUEUE"] == 2


async def test_recent_newest_first_with_filters(store: Store) -> None:
    a = await store.enqueue(new_job("a", created_at=T0))
    b = await store.enqueue(new_job("b", created_at=T0 + 1))
    c = await store.enqueue(new_job("a", created_at=T0 + 2))
    assert [j.id for j in await store.recent()] == [c.id, b.id, a.id]
    assert [j.id for j in await store.recent("a")] == [c.id, a.id]
    assert [j.id for j in await store.recent(limit=1)] == [c.id]
    await store.cancel(a.id, T0 + 3)
    assert [j.id for j in await store.recent("a", status=JobStatus.CANCELLED)] == [a.id]
    assert [j.id for j in await store.recent(status=JobStatus.IN_QUEUE)] == [c.id, b.id]


async def test_endpoints_with_jobs_or_workers(store: Store) -> None:
    assert await store.endpoints() == []
    await store.enqueue(new_job("zeta"))
    await store.enqueue(new_job("alpha"))
    await store.record_ping("mid", "w1", [], T0, None)
    assert await store.endpoints() == ["alpha", "mid", "zeta"]
