"""Contract: log lines and stream reads respect ownership; a job's log lines are capped.

``append_logs`` with a worker is fenced like ``append_chunk`` (and scoped to an endpoint);
``read_stream`` with an endpoint does not touch another endpoint's cursor. Both backends keep
only the newest ``max_log_lines`` lines of a job.
"""

from __future__ import annotations

from storage_support import RETAIN, T0, new_job, ok, running

from pitstop.models import Fence, Outcome
from pitstop.storage import Store

LINE = [("stdout", "x")]


async def test_fenced_log_lines_only_from_the_holder(store: Store) -> None:
    job = await running(store)

    async def log(worker: str, attempt: int | None, endpoint: str | None = "ep") -> Outcome:
        return await store.append_logs(job.id, LINE, T0 + 2, Fence(worker, attempt, endpoint))

    assert await log("w2", None) is Outcome.STALE
    assert await log("w1", 2) is Outcome.STALE
    assert await log("w1", 1, "other") is Outcome.UNKNOWN
    assert await store.append_logs("nope", LINE, T0, Fence("w1", 1, "ep")) is Outcome.UNKNOWN
    assert await store.read_logs(job.id) == []
    assert await log("w1", 1) is Outcome.ACCEPTED
    assert await log("w1", None, None) is Outcome.ACCEPTED
    await store.finish(job.id, "w1", 1, ok(), T0 + 3, RETAIN)
    assert await log("w1", 1) is Outcome.IGNORED
    assert [line.seq for line in await store.read_logs(job.id)] == [0, 1]


async def test_unfenced_log_lines_reach_any_retained_job(store: Store) -> None:
    job = await store.enqueue(new_job())
    assert await store.append_logs(job.id, LINE, T0) is Outcome.ACCEPTED
    assert await store.append_logs("nope", LINE, T0) is Outcome.UNKNOWN
    assert await store.append_logs(job.id, [], T0) is Outcome.ACCEPTED


async def test_log_lines_are_capped_per_job_keeping_the_newest(store: Store) -> None:
    store.max_log_lines = 5  # type: ignore[attr-defined]
    job = await running(store)
    await store.append_logs(job.id, [("stdout", f"a{i}") for i in range(3)], T0)
    await store.append_logs(job.id, [("stdout", f"b{i}") for i in range(4)], T0)
    lines = await store.read_logs(job.id)
    assert [(line.seq, line.text) for line in lines] == [
        (2, "a2"),
        (3, "b0"),
        (4, "b1"),
        (5, "b2"),
        (6, "b3"),
    ]
    await store.append_logs(job.id, [("stdout", f"c{i}") for i in range(12)], T0)
    lines = await store.read_logs(job.id)
    assert [(line.seq, line.text) for line in lines] == [(14 + i, f"c{7 + i}") for i in range(5)]
    assert [line.text for line in await store.read_logs(job.id, after_seq=15)] == [
        "c9",
        "c10",
        "c11",
    ]


async def test_stream_read_through_another_endpoint_leaves_the_cursor(store: Store) -> None:
    job = await running(store)
    await store.append_chunk(job.id, "w1", 1, "c0")
    assert await store.read_stream(job.id, endpoint="other") is None
    assert await store.read_stream(job.id, start=0, endpoint="other") is None
    found = await store.read_stream(job.id, endpoint="ep")
    assert found is not None
    assert [chunk.output for chunk in found[1]] == ["c0"]
    assert await store.read_stream("nope", endpoint="ep") is None
