"""pitstop's protocol extensions (docs: briefs/interfaces.md), seen from the platform side.

They switch on only after a take reply carries ``X-Pitstop-Server``; against a plain RunPod
platform (every other module here) none of them may appear.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from tests.protocol.conftest import fast_env
from tests.support.platform import FakePlatform, Recorded
from tests.support.procs import WorkerProcess

Spawn = Callable[..., WorkerProcess]


@pytest.fixture
def pitstop_platform() -> Iterator[FakePlatform]:
    with FakePlatform(take_hold=0.2, stop_hold=0.2, pitstop=True) as fake:
        yield fake


def streamed(chunks: list[Recorded]) -> list[Any]:
    """The values a sequence of stream POSTs carried, ``output`` or batched ``outputs``."""
    values: list[Any] = []
    for chunk in chunks:
        body = chunk.json()
        values.extend(body["outputs"] if "outputs" in body else [body["output"]])
    return values


def test_attempt_header_and_job_logs_before_the_result(
    pitstop_platform: FakePlatform, spawn: Spawn
) -> None:
    p = pitstop_platform
    p.add_jobs({"id": "x1", "attempt": 2, "input": {"print": "hello from x1", "return": 1}})
    worker = spawn("sync_handler", fast_env(p))
    (result,) = p.wait_for(lambda: p.results("x1"))
    assert result.header("X-Pitstop-Attempt") == "2"
    assert result.body == b'{"output": 1}'
    logs = p.log_posts("x1")
    assert logs, "no job-log POST"
    assert all(r.target == "/v2/ep/job-log/pod1/x1?gpu=T" for r in logs)
    assert all(r.at < result.at for r in logs)
    lines = [line for r in logs for line in r.json()["lines"]]
    assert {"stream": "stdout", "text": "hello from x1"} in [
        {"stream": ln["stream"], "text": ln["text"].rstrip("\n")} for ln in lines
    ]
    assert worker.shutdown() == 0


def test_stream_chunks_may_be_batched_but_keep_order(
    pitstop_platform: FakePlatform, spawn: Spawn
) -> None:
    p = pitstop_platform
    items = list(range(40))
    p.add_jobs({"id": "s1", "attempt": 1, "input": {"yield": items}})
    worker = spawn("sync_gen", fast_env(p))
    p.wait_for(lambda: p.results("s1"))
    chunks = p.stream_posts("s1")
    assert streamed(chunks) == items
    assert chunks[0].json() == {"output": 0}  # the first chunk goes out at once
    assert all(c.header("X-Pitstop-Attempt") == "1" for c in chunks)
    assert worker.shutdown() == 0


def test_no_extensions_against_a_runpod_platform(platform: FakePlatform, spawn: Spawn) -> None:
    platform.add_jobs({"id": "r1", "attempt": 3, "input": {"print": "quiet", "return": 1}})
    worker = spawn("sync_handler", fast_env(platform))
    (result,) = platform.wait_for(lambda: platform.results("r1"))
    assert result.header("X-Pitstop-Attempt") is None
    assert worker.shutdown() == 0
    assert platform.log_posts() == []


def test_results_ready_together_may_share_one_batch_post_else_go_alone(
    pitstop_platform: FakePlatform, spawn: Spawn
) -> None:
    """A platform without ``job-done-batch`` (404) still gets every result through its own
    job-done, and is not sent a batch again."""
    p = pitstop_platform
    first = [{"id": f"b{i}", "attempt": 1, "input": {"return": i}} for i in range(8)]
    p.add_jobs(*first)
    worker = spawn("async_handler", {**fast_env(p), "TEST_CONCURRENCY": "8"})
    for job in first:
        (result,) = p.wait_for(lambda job=job: p.results(job["id"]))
        assert result.json() == {"output": job["input"]["return"]}
        assert result.header("X-Pitstop-Attempt") == "1"
    batches = [r for r in p.requests if "/job-done-batch/" in r.path]
    assert len(batches) == 1, "the results of one take go out together first"
    assert batches[0].target == "/v2/ep/job-done-batch/pod1?gpu=T"
    sent = batches[0].json()["results"]
    assert {item["id"] for item in sent} <= {job["id"] for job in first}
    assert all(item["attempt"] == 1 and "output" in item["result"] for item in sent)
    more = [{"id": f"c{i}", "attempt": 1, "input": {"return": i}} for i in range(8)]
    p.add_jobs(*more)
    for job in more:
        p.wait_for(lambda job=job: p.results(job["id"]))
    assert len([r for r in p.requests if "/job-done-batch/" in r.path]) == 1
    assert worker.shutdown() == 0


def test_no_batch_posts_against_a_runpod_platform(platform: FakePlatform, spawn: Spawn) -> None:
    jobs = [{"id": f"r{i}", "input": {"return": i}} for i in range(8)]
    platform.add_jobs(*jobs)
    worker = spawn("async_handler", {**fast_env(platform), "TEST_CONCURRENCY": "8"})
    for job in jobs:
        platform.wait_for(lambda job=job: platform.results(job["id"]))
    assert worker.shutdown() == 0
    assert not [r for r in platform.requests if "batch" in r.path and r.method == "POST"]
