"""Spec §9 behaviours 1-4, 23-28, 34 and 56: startup traffic, heartbeat, job-take handling.

Deliberate improvement asserted: job-take errors (500, 404, connection refused) back off
(bounded, ``PITSTOP_WORKER_BACKOFF_*``) instead of RunPod's hot retry loop.
"""

from __future__ import annotations

import functools
import itertools
import socket
import statistics
from collections.abc import Callable
from urllib.parse import unquote

import pytest
from tests.support.platform import FakePlatform, Reply
from tests.support.procs import WorkerProcess

Run = Callable[..., WorkerProcess]


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_startup_sends_take_stop_and_ping(platform: FakePlatform, run: Run) -> None:
    worker = run("sync_handler")
    platform.wait_for(lambda: platform.takes() and platform.stops() and platform.pings())
    take, stop, ping = platform.takes()[0], platform.stops()[0], platform.pings()[0]
    assert take.method == "GET"
    assert take.target == "/v2/ep/job-take/pod1?gpu=T&job_in_progress=0"
    assert stop.target == "/v2/ep/job-stop/pod1?gpu=T"
    # The stop poll runs concurrently with the first (held) take.
    assert stop.at < (take.answered_at or float("inf"))
    assert ping.path == "/v2/ep/ping/pod1"
    assert ping.param("gpu") == "T"
    assert ping.param("runpod_version")
    assert ping.param("job_id") is None
    assert ping.header("Authorization") == "k"
    assert abs(ping.at - take.at) < 1.0
    assert take.header("Authorization") == "k"
    assert (take.header("User-Agent") or "").startswith("RunPod-Python-SDK/")
    assert worker.shutdown() == 0


def test_idle_heartbeat_period_follows_ping_interval(platform: FakePlatform, run: Run) -> None:
    worker = run("sync_handler")
    pings = platform.wait_count(platform.pings, 6)
    gaps = [b.at - a.at for a, b in itertools.pairwise(pings)]
    assert min(gaps) >= 0.15, gaps
    assert 0.18 <= statistics.median(gaps) <= 0.6, gaps
    assert all(p.param("job_id") is None for p in pings)
    assert worker.shutdown() == 0


def test_batch_take_runs_jobs_concurrently_and_ping_lists_them(
    platform: FakePlatform, run: Run
) -> None:
    jobs = [{"id": f"b{i}", "input": {"sleep": 1.0, "mark": True}} for i in range(3)]
    worker = run("async_handler", *jobs, extra={"TEST_CONCURRENCY": "3"})
    first = platform.wait_for(platform.takes)[0]
    assert first.target == "/v2/ep/job-take-batch/pod1?gpu=T&batch_size=3&job_in_progress=0"
    busy = platform.wait_for(lambda: [p for p in platform.pings() if p.param("job_id")])[0]
    assert sorted((busy.param("job_id") or "").split(",")) == ["b0", "b1", "b2"]
    assert "%2C" in busy.target
    for i in range(3):
        platform.wait_for(functools.partial(platform.results, f"b{i}"))
    starts = list(worker.marks().values())
    assert len(starts) == 3
    assert max(starts) - min(starts) < 0.1
    assert worker.shutdown() == 0


def test_take_while_busy_says_job_in_progress(platform: FakePlatform, run: Run) -> None:
    worker = run(
        "async_handler", {"id": "long", "input": {"sleep": 1.0}}, extra={"TEST_CONCURRENCY": "2"}
    )
    busy = platform.wait_for(
        lambda: [t for t in platform.takes() if t.param("job_in_progress") == "1"]
    )[0]
    assert busy.path == "/v2/ep/job-take/pod1"
    assert busy.target == "/v2/ep/job-take/pod1?gpu=T&job_in_progress=1"
    platform.wait_for(lambda: platform.results("long"))
    assert worker.shutdown() == 0


def test_rate_limited_take_waits_before_retrying(platform: FakePlatform, run: Run) -> None:
    platform.script("take", Reply(429))
    worker = run("sync_handler")
    takes = platform.wait_count(platform.takes, 2)
    limited = takes[0]
    assert limited.status == 429
    assert limited.answered_at is not None
    assert takes[1].at - limited.answered_at >= 0.45  # PITSTOP_WORKER_RATE_LIMIT_WAIT=0.5
    assert worker.shutdown() == 0


@pytest.mark.parametrize("status", [500, 404])
def test_take_errors_back_off_and_log_then_recover(
    platform: FakePlatform, run: Run, status: int
) -> None:
    """Deliberate difference: RunPod retries at once, forever; pitstop backs off (bounded)."""
    platform.script("take", *[Reply(status, {"error": "x"}) for _ in range(4)])
    worker = run("sync_handler", {"id": "after", "input": {"ok": 1}})
    platform.wait_for(lambda: platform.results("after"), 10)
    failed = [t for t in platform.takes() if t.status == status]
    assert len(failed) == 4
    gaps = [b.at - a.at for a, b in itertools.pairwise(failed)]
    assert sum(gaps) >= 0.1, gaps  # immediate retries would take a few milliseconds in all
    assert max(gaps) <= 1.0, gaps  # bounded by PITSTOP_WORKER_BACKOFF_MAX (0.2 s) plus slack
    assert "ERROR  | Failed to get job." in worker.stdout
    assert worker.shutdown() == 0


def test_connection_refused_take_keeps_the_worker_alive(
    platform: FakePlatform, env: dict[str, str], spawn: Callable[..., WorkerProcess]
) -> None:
    dead = f"http://127.0.0.1:{closed_port()}/v2/ep/job-take/$ID?gpu=T"
    worker = spawn("sync_handler", {**env, "RUNPOD_WEBHOOK_GET_JOB": dead})
    worker.wait_output("Failed to get job.", 10)
    platform.wait_count(platform.pings, 6)  # about 1 s of running
    assert worker.returncode is None
    assert worker.stdout.count("Failed to get job.") <= 5  # at most one ERROR line a second
    assert worker.shutdown() == 0


def test_take_connection_errors_back_off(platform: FakePlatform, run: Run) -> None:
    """Deliberate difference: RunPod retries at once (~4000 attempts/s on a closed port)."""
    platform.script("take", *[Reply(drop=True) for _ in range(200)])
    worker = run("sync_handler")
    first = platform.wait_for(platform.takes)[0].at
    platform.wait_for(lambda: [p for p in platform.pings() if p.at > first + 1.0])
    window = [t for t in platform.takes() if t.at <= first + 1.0]
    assert 2 <= len(window) <= 20, len(window)  # backoff 50-200 ms (PITSTOP_WORKER_BACKOFF_*)
    assert worker.shutdown() == 0


@pytest.mark.parametrize(
    "reply",
    [
        Reply(200, {"input": {}}),
        Reply(200, {"id": "noinput"}),
    ],
    ids=["no-id", "no-input"],
)
def test_take_with_missing_fields_is_rejected_and_polling_continues(
    platform: FakePlatform, run: Run, reply: Reply
) -> None:
    platform.script("take", reply)
    worker = run("sync_handler")
    worker.wait_output("Job has missing field(s): id or input.", 10)
    platform.add_jobs({"id": "next", "input": 1})
    platform.wait_for(lambda: platform.results("next"))
    assert platform.results("noinput") == []
    assert worker.shutdown() == 0


@pytest.mark.parametrize(
    "reply",
    [
        Reply(200, b"hello", content_type="text/plain"),
        Reply(200, b"{not json", content_type="application/json"),
        Reply(200, b"", content_type="application/json"),
        Reply(200, None),
        Reply(200, []),
        Reply(400, {"error": "flashboot"}),
    ],
    ids=["text-plain", "invalid-json", "empty", "null", "empty-list", "400"],
)
def test_take_without_a_job_keeps_polling(platform: FakePlatform, run: Run, reply: Reply) -> None:
    platform.script("take", reply)
    worker = run("sync_handler")
    platform.wait_for(lambda: len(platform.takes()) >= 2)
    platform.add_jobs({"id": "next", "input": 1})
    platform.wait_for(lambda: platform.results("next"))
    assert worker.returncode is None
    assert worker.shutdown() == 0


def test_take_returning_a_list_on_the_single_url_runs_each_job(
    platform: FakePlatform, run: Run
) -> None:
    platform.script("take", Reply(200, [{"id": "l1", "input": 1}, {"id": "l2", "input": 2}]))
    worker = run("sync_handler")
    assert platform.wait_for(lambda: platform.results("l1"))[0].json() == {"output": 1}
    assert platform.wait_for(lambda: platform.results("l2"))[0].json() == {"output": 2}
    assert worker.shutdown() == 0


def test_take_url_without_job_take_disables_stop_polling(
    platform: FakePlatform, env: dict[str, str], spawn: Callable[..., WorkerProcess]
) -> None:
    odd = f"{platform.url}/v2/ep/take-here/$ID?gpu=T"
    worker = spawn("sync_handler", {**env, "RUNPOD_WEBHOOK_GET_JOB": odd})
    platform.wait_for(lambda: len([r for r in platform.requests if r.route == "other"]) >= 2, 10)
    platform.wait_for(lambda: len(platform.pings()) >= 4, 10)
    assert platform.stops() == []
    warns = [ln for ln in worker.stdout.splitlines() if ln.startswith("WARN")]
    assert any("stop" in ln.lower() for ln in warns), worker.stdout
    assert worker.shutdown() == 0


def test_without_pod_id_no_pings_and_random_worker_id(
    platform: FakePlatform, env: dict[str, str], spawn: Callable[..., WorkerProcess]
) -> None:
    del env["RUNPOD_POD_ID"]
    worker = spawn("sync_handler", env)
    take = platform.wait_for(platform.takes)[0]
    worker_id = unquote(take.worker_id or "")
    assert len(worker_id) == 36 and worker_id.count("-") == 4, take.target
    platform.wait_for(lambda: len(platform.takes()) >= 3, 10)
    assert platform.pings() == []
    assert worker.shutdown() == 0
