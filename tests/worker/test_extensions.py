"""pitstop's protocol extensions: only against a pitstop server (X-Pitstop-Server seen)."""

from __future__ import annotations

from collections.abc import Callable

from tests.support.platform import FakePlatform
from tests.support.procs import WorkerProcess

Worker = Callable[..., WorkerProcess]
CHUNKS = list(range(300))


def test_pitstop_server_gets_attempt_logs_and_coalesced_chunks(
    platform: FakePlatform, worker: Worker
) -> None:
    platform.pitstop = True
    proc = worker(
        "generator",
        {"id": "g1", "attempt": 3, "input": {"yield": CHUNKS}},
        {"id": "g2", "attempt": 1, "input": {"yield": [1], "print": "hello", "progress": [1]}},
    )
    final = platform.wait_for(lambda: platform.results("g1"))[0]
    posts = platform.stream_posts("g1")
    assert posts[0].json() == {"output": 0}
    values: list[object] = []
    for post in posts:
        body = post.json()
        values.extend(body["outputs"] if "outputs" in body else [body["output"]])
    assert values == CHUNKS
    assert len(posts) < len(CHUNKS)
    assert posts[-1].at <= final.at
    for rec in [final, *posts]:
        assert rec.header("X-Pitstop-Attempt") == "3"
    final2 = platform.wait_for(lambda: platform.results("g2"))[0]
    logs = platform.log_posts("g2")
    assert logs and logs[0].json() == {"lines": [{"stream": "stdout", "text": "hello"}]}
    assert logs[-1].at <= final2.at
    assert platform.progress("g2")[0].header("X-Pitstop-Attempt") == "1"
    assert "[g2] hello" in proc.stdout.splitlines(), "tagged for a pitstop server"


def test_runpod_platform_gets_exact_runpod_traffic(platform: FakePlatform, worker: Worker) -> None:
    proc = worker(
        "generator", {"id": "g1", "attempt": 3, "input": {"yield": CHUNKS[:50], "print": "hi"}}
    )
    final = platform.wait_for(lambda: platform.results("g1"))[0]
    posts = platform.stream_posts("g1")
    assert [p.json() for p in posts] == [{"output": v} for v in CHUNKS[:50]]
    assert not platform.log_posts()
    assert final.header("X-Pitstop-Attempt") is None
    assert "hi" in proc.stdout.splitlines(), "handler output untagged on RunPod's platform"
    assert "[g1]" not in proc.stdout
