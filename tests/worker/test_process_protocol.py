"""Real worker processes against the recording fake platform: wire format and failure paths."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable

import pytest
from tests.support.platform import FakePlatform, Reply
from tests.support.procs import WorkerProcess

Worker = Callable[..., WorkerProcess]


def test_result_body_headers_and_urls(platform: FakePlatform, worker: Worker) -> None:
    proc = worker("function", {"id": "j1", "input": {"return": {"x": "ü"}}})
    result = platform.wait_for(lambda: platform.results("j1"))[0]
    assert result.body == '{"output": {"x": "ü"}}'.encode()
    assert result.target.endswith("/job-done/pod1/j1?gpu=T&isStream=false")
    assert result.header("Content-Type") == "application/x-www-form-urlencoded"
    assert result.header("charset") == "utf-8"
    assert result.header("X-Request-ID") == "j1"
    assert result.header("Authorization") == "k"
    assert (result.header("User-Agent") or "").startswith("RunPod-Python-SDK/")
    first = platform.takes()[0]
    assert first.target == "/v2/ep/job-take/pod1?gpu=T&job_in_progress=0"
    platform.wait_for(platform.stops)
    assert platform.stops()[0].target == "/v2/ep/job-stop/pod1?gpu=T"
    ping = platform.wait_for(platform.pings)[0]
    assert ping.param("runpod_version") and ping.param("job_id") is None
    assert proc.shutdown() == 0


def test_error_payload_and_worker_continues(platform: FakePlatform, worker: Worker) -> None:
    worker("function", {"id": "e1", "input": {"raise": "boom"}}, {"id": "e2", "input": {}})
    body = platform.wait_for(lambda: platform.results("e1"))[0].json()
    assert list(body) == ["error"]
    info = json.loads(body["error"])
    assert list(info) == [
        "error_type",
        "error_message",
        "error_traceback",
        "hostname",
        "worker_id",
        "runpod_version",
    ]
    assert info["error_type"] == "<class 'ValueError'>"
    assert info["error_message"] == "boom" and info["worker_id"] == "pod1"
    assert platform.wait_for(lambda: platform.results("e2"))[0].json() == {"output": {"ok": True}}


@pytest.mark.parametrize("kind", ["generator", "async_generator"])
def test_generator_streams_in_order_then_final(
    platform: FakePlatform, worker: Worker, kind: str
) -> None:
    worker(kind, {"id": "g1", "input": {"yield": ["a", {"k": 2}, "c"]}})
    final = platform.wait_for(lambda: platform.results("g1"))[0]
    chunks = platform.stream_posts("g1")
    assert [c.json() for c in chunks] == [{"output": "a"}, {"output": {"k": 2}}, {"output": "c"}]
    assert all(c.target.endswith("/job-stream/pod1/g1?gpu=T&isStream=false") for c in chunks)
    assert final.target.endswith("&isStream=true") and final.json() == {"output": []}
    assert max(c.at for c in chunks) <= final.at


def test_generator_aggregate_and_errors(platform: FakePlatform, worker: Worker) -> None:
    worker(
        "generator",
        {"id": "g1", "input": {"yield": ["a", "b"]}},
        {"id": "g2", "input": {"yield": ["a"], "raise": "genboom"}},
        {"id": "g3", "input": {"yield": ["a", {"error": "bad thing"}, "never"]}},
        W_AGGREGATE="1",
    )
    assert platform.wait_for(lambda: platform.results("g1"))[0].json() == {"output": ["a", "b"]}
    error = platform.wait_for(lambda: platform.results("g2"))[0].json()
    assert list(error) == ["error"] and error["error"].startswith("handler: genboom \ntraceback: ")
    assert platform.wait_for(lambda: platform.results("g3"))[0].json() == {"error": "bad thing"}
    assert [c.json() for c in platform.stream_posts("g3")] == [{"output": "a"}]


def test_progress_updates_arrive_in_order_before_result(
    platform: FakePlatform, worker: Worker
) -> None:
    worker("function", {"id": "p1", "input": {"progress": [1, 2, 3, {"pct": 50}]}})
    platform.wait_for(lambda: platform.results("p1"))
    posts = platform.done_posts("p1")
    assert [p.json() for p in posts] == [
        {"status": "IN_PROGRESS", "output": 1},
        {"status": "IN_PROGRESS", "output": 2},
        {"status": "IN_PROGRESS", "output": 3},
        {"status": "IN_PROGRESS", "output": {"pct": 50}},
        {"output": {"ok": True}},
    ]


def test_result_retried_on_500_then_logged_loudly(platform: FakePlatform, worker: Worker) -> None:
    platform.set_default("done", Reply(500))
    proc = worker("function", {"id": "r1", "input": {}}, {"id": "r2", "input": {}})
    platform.wait_for(lambda: len(platform.results("r2")) == 3)
    assert len(platform.results("r1")) == 3
    out = proc.wait_output("Failed to return job results.")
    assert "ERROR  | r1 | Failed to return job results." in out


def test_413_becomes_small_failed_result(platform: FakePlatform, worker: Worker) -> None:
    platform.script("done", Reply(413))
    worker("function", {"id": "big", "input": {"return": {"blob": "x" * 1000}}})
    posts = platform.wait_for(lambda: len(platform.results("big")) == 2 and platform.results("big"))
    assert "too large" in posts[1].json()["error"]
    assert len(posts[1].body) < 200


def test_400_becomes_failed_result_naming_the_reason(
    platform: FakePlatform, worker: Worker
) -> None:
    reason = "Job result refused by the server: output nests deeper than 128 levels"
    platform.script("done", Reply(400, {"error": {"code": "bad_request", "message": reason}}))
    worker("function", {"id": "deep", "input": {"return": [[1]]}}, {"id": "next", "input": {}})
    posts = platform.wait_for(
        lambda: len(platform.results("deep")) == 2 and platform.results("deep")
    )
    assert posts[0].json() == {"output": [[1]]}
    assert posts[1].json() == {"error": f"Job result refused by the server (HTTP 400): {reason}"}
    platform.wait_for(lambda: platform.results("next"))


def test_unserialisable_output_is_a_failed_result(platform: FakePlatform, worker: Worker) -> None:
    worker("function", {"id": "u1", "input": {"bytes": True}}, {"id": "u2", "input": {}})
    body = platform.wait_for(lambda: platform.results("u1"))[0].json()
    assert "bytes" in body["error"] and "not JSON serializable" in body["error"]
    platform.wait_for(lambda: platform.results("u2"))


def test_take_errors_back_off_without_hot_loop(platform: FakePlatform, worker: Worker) -> None:
    platform.script("take", *[Reply(500)] * 6)
    proc = worker("function", {"id": "after", "input": {}})
    platform.wait_for(lambda: platform.results("after"))
    takes = platform.takes()
    gaps = [b.at - a.at for a, b in itertools.pairwise(takes[:7])]
    assert all(gap >= 0.009 for gap in gaps), gaps
    assert proc.stdout.count("ERROR  | Failed to get job. | Error Type: ClientResponseError") < 6


def test_429_waits_rate_limit(platform: FakePlatform, worker: Worker) -> None:
    platform.script("take", Reply(429))
    worker("function", {"id": "j", "input": {}})
    platform.wait_for(lambda: platform.results("j"))
    takes = platform.takes()
    assert takes[1].at - takes[0].at >= 0.25


def test_missing_fields_logged_and_polling_continues(
    platform: FakePlatform, worker: Worker
) -> None:
    platform.script("take", Reply(200, {"input": {}}), Reply(200, b"nope", "text/plain"))
    proc = worker("function", {"id": "ok", "input": {}})
    platform.wait_for(lambda: platform.results("ok"))
    assert "Job has missing field(s): id or input." in proc.stdout


def test_sync_handler_keeps_pings_and_stop_polls_alive(
    platform: FakePlatform, worker: Worker
) -> None:
    worker("function", {"id": "slow", "input": {"sleep": 0.8, "mark": True}})
    platform.wait_for(lambda: platform.results("slow"), timeout=5)
    result_at = platform.results("slow")[0].at
    busy_pings = [p for p in platform.pings() if p.at < result_at and p.param("job_id") == "slow"]
    assert len(busy_pings) >= 3
    stops = [s for s in platform.stops() if s.at < result_at - 0.3]
    assert len(stops) >= 2


def test_batch_take_and_ping_lists_all_jobs(
    platform: FakePlatform, worker: Worker, tmp_path: object
) -> None:
    from pathlib import Path

    conc = Path(str(tmp_path)) / "conc"
    conc.write_text("3")
    jobs = [{"id": f"b{i}", "input": {"sleep": 0.6}} for i in range(3)]
    worker("async", *jobs, W_CONC_FILE=str(conc))
    platform.wait_for(lambda: len(platform.results()) == 3)
    first = platform.takes()[0]
    assert first.target == "/v2/ep/job-take-batch/pod1?gpu=T&batch_size=3&job_in_progress=0"
    full = [p for p in platform.pings() if len((p.param("job_id") or "").split(",")) == 3]
    assert full and "%2C" in full[0].target


def test_pitstop_concurrency_env_sets_the_starting_concurrency(
    platform: FakePlatform, worker: Worker
) -> None:
    jobs = [{"id": f"c{i}", "input": {"sleep": 0.3}} for i in range(2)]
    worker("async", *jobs, PITSTOP_CONCURRENCY="2")
    platform.wait_for(lambda: len(platform.results()) == 2)
    first = platform.takes()[0]
    assert first.target == "/v2/ep/job-take-batch/pod1?gpu=T&batch_size=2&job_in_progress=0"
