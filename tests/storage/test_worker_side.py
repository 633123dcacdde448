"""Contract: fenced worker writes (finish, progress, chunks), renew, stream reads, stops."""

from __future__ import annotations

import asyncio
import math

from storage_support import LEASE, RETAIN, T0, failed, new_job, ok, running

from pitstop.models import Finish, JobStatus, Outcome, Result
from pitstop.storage import Store


async def test_finish_completes_with_output_and_retention(store: Store) -> None:
    job = await running(store)
    assert (
        await store.finish(job.id, "w1", 1, ok({"answer": 42}), T0 + 3, RETAIN) is Outcome.ACCEPTED
    )
    done = await store.get(job.id)
    assert done is not None
    assert done.status is JobStatus.COMPLETED
    assert done.output == {"answer": 42} and done.has_output
    assert done.error is None
    assert done.finished_at == T0 + 3
    assert done.execution_ms == 2000
    assert done.expires_at == T0 + 3 + RETAIN
    assert done.lease_expires_at is None


async def test_finish_with_error_fails(store: Store) -> None:
    job = await running(store)
    assert (
        await store.finish(job.id, "w1", None, failed("bad input"), T0 + 2, RETAIN)
        is Outcome.ACCEPTED
    )
    done = await store.get(job.id)
    assert done is not None and done.status is JobStatus.FAILED
    assert done.error == "bad input" and not done.has_output


async def test_finish_output_null_is_distinct_from_no_output(store: Store) -> None:
    job = await running(store)
    await store.finish(job.id, "w1", 1, Result(output=None, has_output=True), T0 + 2, RETAIN)
    done = await store.get(job.id)
    assert done is not None and done.has_output and done.output is None


async def test_finish_keeps_nan_and_infinity(store: Store) -> None:
    job = await running(store)
    value = {"nan": float("nan"), "inf": float("inf"), "neg": float("-inf"), "s": "ünï", "z": None}
    await store.finish(job.id, "w1", 1, ok(value), T0 + 2, RETAIN)
    done = await store.get(job.id)
    assert done is not None
    assert math.isnan(done.output["nan"])
    assert done.output["inf"] == math.inf and done.output["neg"] == -math.inf
    assert done.output["s"] == "ünï" and done.output["z"] is None


async def test_finish_stop_pod_is_recorded(store: Store) -> None:
    job = await running(store)
    await store.finish(job.id, "w1", 1, Result(output=1, has_output=True, stop_pod=True), T0, 1)
    done = await store.get(job.id)
    assert done is not None and done.stop_pod is True


async def test_duplicate_finish_is_duplicate_and_changes_nothing(store: Store) -> None:
    job = await running(store)
    await store.finish(job.id, "w1", 1, ok("first"), T0 + 2, RETAIN)
    assert await store.finish(job.id, "w1", 1, ok("second"), T0 + 3, RETAIN) is Outcome.DUPLICATE
    assert await store.finish(job.id, "w1", None, ok("third"), T0 + 3, RETAIN) is Outcome.DUPLICATE
    done = await store.get(job.id)
    assert done is not None and done.output == "first" and done.finished_at == T0 + 2


async def test_finish_by_other_worker_or_attempt_is_stale(store: Store) -> None:
    job = await running(store)
    assert await store.finish(job.id, "w2", None, ok(), T0 + 2, RETAIN) is Outcome.STALE
    assert await store.finish(job.id, "w1", 7, ok(), T0 + 2, RETAIN) is Outcome.STALE
    still = await store.get(job.id)
    assert still is not None and still.status is JobStatus.IN_PROGRESS


async def test_zombie_attempt_after_requeue_is_stale(store: Store) -> None:
    job = await running(store, "w1")
    await store.expire_leases(T0 + LEASE + 2, max_attempts=3)
    # requeued: nobody holds it
    assert await store.finish(job.id, "w1", 1, ok("zombie"), T0 + 40, RETAIN) is Outcome.STALE
    again = await store.claim("ep", "w1", 1, LEASE, T0 + 41)
    assert again[0].attempt == 2
    # same worker, older attempt: fenced by the attempt number
    assert await store.finish(job.id, "w1", 1, ok("zombie"), T0 + 42, RETAIN) is Outcome.STALE
    assert await store.append_chunk(job.id, "w1", 1, "zombie") is Outcome.STALE
    assert await store.finish(job.id, "w1", 2, ok("real"), T0 + 43, RETAIN) is Outcome.ACCEPTED
    done = await store.get(job.id)
    assert done is not None and done.output == "real" and done.chunk_count == 0


async def test_finish_after_cancel_is_ignored(store: Store) -> None:
    job = await running(store)
    await store.cancel(job.id, T0 + 2)
    assert await store.finish(job.id, "w1", 1, ok(), T0 + 3, RETAIN) is Outcome.IGNORED
    done = await store.get(job.id)
    assert done is not None and done.status is JobStatus.CANCELLED and not done.has_output


async def test_finish_unknown_job(store: Store) -> None:
    assert await store.finish("nope", "w1", 1, ok(), T0, RETAIN) is Outcome.UNKNOWN
    assert await store.append_chunk("nope", "w1", 1, "x") is Outcome.UNKNOWN
    assert await store.set_progress("nope", "w1", 1, 1) is Outcome.UNKNOWN


async def test_finish_on_queued_job_is_stale(store: Store) -> None:
    job = await store.enqueue(new_job())
    assert await store.finish(job.id, "w1", None, ok(), T0, RETAIN) is Outcome.STALE
    queued = await store.get(job.id)
    assert queued is not None and queued.status is JobStatus.IN_QUEUE


async def test_concurrent_duplicate_finishes_accept_exactly_once(store: Store) -> None:
    job = await running(store)
    outcomes = await asyncio.gather(
        *(store.finish(job.id, "w1", 1, ok(i), T0 + 2, RETAIN) for i in range(10))
    )
    assert outcomes.count(Outcome.ACCEPTED) == 1
    assert outcomes.count(Outcome.DUPLICATE) == 9


async def test_progress_is_fenced_and_latest_wins(store: Store) -> None:
    job = await running(store)
    assert await store.set_progress(job.id, "w1", 1, {"pct": 10}) is Outcome.ACCEPTED
    assert await store.set_progress(job.id, "w1", None, {"pct": 50}) is Outcome.ACCEPTED
    assert await store.set_progress(job.id, "w2", None, {"pct": 99}) is Outcome.STALE
    assert await store.set_progress(job.id, "w1", 2, {"pct": 99}) is Outcome.STALE
    now = await store.get(job.id)
    assert now is not None and now.has_progress and now.progress == {"pct": 50}
    await store.finish(job.id, "w1", 1, ok(), T0 + 2, RETAIN)
    assert await store.set_progress(job.id, "w1", 1, {"pct": 100}) is Outcome.IGNORED


async def test_chunks_are_fenced_dense_and_ordered(store: Store) -> None:
    job = await running(store)
    for i in range(5):
        assert await store.append_chunk(job.id, "w1", 1, {"i": i}) is Outcome.ACCEPTED
    assert await store.append_chunk(job.id, "w2", None, "intruder") is Outcome.STALE
    read = await store.read_stream(job.id, start=0)
    assert read is not None
    current, chunks = read
    assert [c.seq for c in chunks] == [0, 1, 2, 3, 4]
    assert [c.output for c in chunks] == [{"i": i} for i in range(5)]
    assert current.chunk_count == 5
    await store.finish(job.id, "w1", 1, ok(), T0 + 2, RETAIN)
    assert await store.append_chunk(job.id, "w1", 1, "late") is Outcome.IGNORED


async def test_concurrent_chunk_appends_keep_call_order(store: Store) -> None:
    job = await running(store)
    await asyncio.gather(*(store.append_chunk(job.id, "w1", 1, i) for i in range(30)))
    read = await store.read_stream(job.id, start=0)
    assert read is not None
    assert [c.seq for c in read[1]] == list(range(30))
    assert sorted(c.output for c in read[1]) == list(range(30))


async def test_cursor_read_advances_and_replay_does_not(store: Store) -> None:
    job = await running(store)
    for out in ("a", "b"):
        await store.append_chunk(job.id, "w1", 1, out)
    first = await store.read_stream(job.id)
    assert first is not None and [c.output for c in first[1]] == ["a", "b"]
    second = await store.read_stream(job.id)
    assert second is not None and second[1] == []
    await store.append_chunk(job.id, "w1", 1, "c")
    replay = await store.read_stream(job.id, start=1)
    assert replay is not None and [(c.seq, c.output) for c in replay[1]] == [(1, "b"), (2, "c")]
    third = await store.read_stream(job.id)
    assert third is not None and [(c.seq, c.output) for c in third[1]] == [(2, "c")]
    await store.finish(job.id, "w1", 1, ok(), T0 + 2, RETAIN)
    last = await store.read_stream(job.id)
    assert last is not None
    assert last[0].status is JobStatus.COMPLETED and last[1] == []


async def test_concurrent_cursor_readers_never_get_the_same_chunk(store: Store) -> None:
    job = await running(store)
    for i in range(20):
        await store.append_chunk(job.id, "w1", 1, i)
    reads = await asyncio.gather(*(store.read_stream(job.id) for _ in range(6)))
    seqs = [c.seq for read in reads if read is not None for c in read[1]]
    assert sorted(seqs) == list(range(20))


async def test_read_stream_unknown_is_none(store: Store) -> None:
    assert await store.read_stream("nope") is None
    assert await store.read_stream("nope", start=0) is None


async def test_renew_extends_only_own_running_jobs(store: Store) -> None:
    mine = await running(store, "w1")
    theirs = await running(store, "w2")
    renewed = await store.renew("w1", [mine.id, theirs.id, "unknown"], LEASE, T0 + 20)
    assert renewed == [mine.id]
    after = await store.get(mine.id)
    assert after is not None and after.lease_expires_at == T0 + 20 + LEASE
    other = await store.get(theirs.id)
    assert other is not None and other.lease_expires_at == T0 + 1 + LEASE
    await store.finish(mine.id, "w1", 1, ok(), T0 + 21, RETAIN)
    assert await store.renew("w1", [mine.id], LEASE, T0 + 22) == []


async def test_release_all_of_a_workers_leases_requeues_them_at_the_next_sweep(
    store: Store,
) -> None:
    first = await running(store, "gone")
    second = await running(store, "gone")
    other = await running(store, "alive")
    assert sorted(await store.release("gone")) == sorted([first.id, second.id])
    report = await store.expire_leases(T0 + 2, max_attempts=3)  # long before LEASE passes
    assert sorted(report.requeued) == sorted([first.id, second.id]) and not report.failed
    for job_id in (first.id, second.id):
        job = await store.get(job_id)
        assert job is not None and job.status is JobStatus.IN_QUEUE and job.retries == 1
    kept = await store.get(other.id)
    assert kept is not None and kept.status is JobStatus.IN_PROGRESS
    again = await store.claim("ep", "new", 5, LEASE, T0 + 3)
    assert sorted(j.id for j in again) == sorted([first.id, second.id])
    assert {j.attempt for j in again} == {2}
    # The old worker's late report is fenced off; the new holder finishes it.
    assert await store.finish(first.id, "gone", 1, ok(), T0 + 4, RETAIN) is Outcome.STALE
    assert await store.finish(first.id, "new", 2, ok(), T0 + 4, RETAIN) is Outcome.ACCEPTED


async def test_release_named_jobs_only_those_the_worker_still_holds(store: Store) -> None:
    mine = await running(store, "w1")
    kept = await running(store, "w1")
    theirs = await running(store, "w2")
    assert await store.release("w1", [mine.id, theirs.id, "unknown"]) == [mine.id]
    assert await store.release("w1", []) == []
    report = await store.expire_leases(T0 + 2, max_attempts=3)
    assert report.requeued == [mine.id]
    for job in (kept, theirs):
        still = await store.get(job.id)
        assert still is not None and still.status is JobStatus.IN_PROGRESS


async def test_release_on_the_last_attempt_fails_the_job(store: Store) -> None:
    job = await running(store, "w1")
    await store.release("w1")
    report = await store.expire_leases(T0 + 2, max_attempts=1)
    assert report.failed == [job.id]
    done = await store.get(job.id)
    assert done is not None and done.status is JobStatus.FAILED


async def test_cancel_queued_job(store: Store) -> None:
    job = await store.enqueue(new_job())
    cancelled = await store.cancel(job.id, T0 + 1)
    assert cancelled is not None and cancelled.status is JobStatus.CANCELLED
    assert cancelled.finished_at == T0 + 1
    assert cancelled.expires_at is not None and cancelled.expires_at > T0 + 1
    assert await store.claim("ep", "w1", 1, LEASE, T0 + 2) == []


async def test_cancel_running_job_queues_stop_for_its_worker(store: Store) -> None:
    job = await running(store, "w1")
    cancelled = await store.cancel(job.id, T0 + 2)
    assert cancelled is not None and cancelled.status is JobStatus.CANCELLED
    assert await store.pop_stops("w2") == []
    assert await store.pop_stops("w1") == [job.id]
    assert await store.pop_stops("w1") == []  # taken once


async def test_cancel_terminal_job_is_unchanged(store: Store) -> None:
    job = await running(store)
    await store.finish(job.id, "w1", 1, ok("kept"), T0 + 2, RETAIN)
    after = await store.cancel(job.id, T0 + 3)
    assert after is not None and after.status is JobStatus.COMPLETED and after.output == "kept"
    assert await store.pop_stops("w1") == []


async def test_cancel_unknown_is_none(store: Store) -> None:
    assert await store.cancel("nope", T0) is None


async def _finish_scenario(store: Store, endpoint: str, many: bool) -> list[object]:
    """Seven results of one worker's batch, through ``finish_many`` or one ``finish`` each;
    what every job looks like afterwards."""
    jobs = [
        await running(
            store, endpoint=endpoint, webhook="http://127.0.0.1:9/hook" if i == 0 else None
        )
        for i in range(5)
    ]
    cancelled = jobs[4]
    await store.cancel(cancelled.id, T0 + 2)
    items = [
        Finish(jobs[0].id, "w1", 1, ok({"a": 1}), RETAIN),
        Finish(jobs[1].id, "w1", None, failed("bad"), RETAIN / 2),
        Finish(jobs[2].id, "w2", None, ok(), RETAIN),  # another worker: stale
        Finish(jobs[3].id, "w1", 1, Result(output=None, has_output=True, stop_pod=True), 5.0),
        Finish(jobs[3].id, "w1", 1, ok("again"), RETAIN),  # the same result twice
        Finish(cancelled.id, "w1", 1, ok(), RETAIN),
        Finish("no-such-job", "w1", 1, ok(), RETAIN),
    ]
    if many:
        outcomes = await store.finish_many(items, T0 + 3)
    else:
        outcomes = [
            await store.finish(i.job_id, i.worker_id, i.attempt, i.result, T0 + 3, i.retention_s)
            for i in items
        ]
    seen: list[object] = list(outcomes)
    for job in jobs:
        done = await store.get(job.id)
        assert done is not None
        seen.append(
            (
                done.status,
                done.output,
                done.has_output,
                done.error,
                done.stop_pod,
                done.finished_at,
                done.expires_at,
            )
        )
        seen.append(
            [(e.kind, e.worker_id, e.attempt, e.detail) for e in await store.events(job.id)]
        )
        seen.append(len(await store.webhook_deliveries(job.id)))
    seen.append(await store.counts(endpoint))
    return seen


async def test_finish_many_is_each_items_own_finish(store: Store) -> None:
    alone = await _finish_scenario(store, "alone", many=False)
    assert await store.finish_many([], T0) == []
    together = await _finish_scenario(store, "together", many=True)
    assert together[:7] == [
        Outcome.ACCEPTED,
        Outcome.ACCEPTED,
        Outcome.STALE,
        Outcome.ACCEPTED,
        Outcome.DUPLICATE,
        Outcome.IGNORED,
        Outcome.UNKNOWN,
    ]
    assert together == alone
