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
