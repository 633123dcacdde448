"""Spec §9 behaviours 29-30, 32-33, 35-39: result retries, stop channel, signals, fitness.

Deliberate improvements asserted: result POSTs are retried on 5xx and on connection errors
(``PITSTOP_WORKER_RESULT_ATTEMPTS``); an idle worker exits on SIGTERM well under a second
because its long-polls are cancelled; a sync handler does not block the stop channel.
"""

from __future__ import annotations

import itertools
import signal
import time
from collections.abc import Callable

import pytest
from tests.support.platform import FakePlatform, Reply
from tests.support.procs import WorkerProcess

Run = Callable[..., WorkerProcess]


def test_result_post_failing_with_500_is_retried_then_dropped(
    platform: FakePlatform, run: Run
) -> None:
    platform.set_default("done", Reply(500, {"error": "down"}))
    worker = run("sync_handler", {"id": "j1", "input": {"x": "ü"}})
    worker.wait_output("Failed to return job results.", 10)
    posts = platform.results("j1")
    assert len(posts) == 3  # PITSTOP_WORKER_RESULT_ATTEMPTS=3
    assert {p.body for p in posts} == {'{"output": {"x": "ü"}}'.encode()}
    gaps = [b.at - a.at for a, b in itertools.pairwise(posts)]
    assert min(gaps) >= 0.02, gaps  # a backoff between attempts, not a hot retry
    platform.set_default("done", Reply(200, {}))
    platform.add_jobs({"id": "j2", "input": 2})
    assert platform.wait_for(lambda: platform.results("j2"))[0].json() == {"output": 2}
    assert worker.shutdown() == 0


def test_result_post_answered_400_is_not_retried(platform: FakePlatform, run: Run) -> None:
    """Deliberate difference: RunPod drops a result refused with 400 (the job then reads as
    COMPLETED without output, user-pain #309); pitstop's worker does not resend it either,
    but reports the job FAILED once, naming the server's reason."""
    platform.script("done", Reply(400, {"error": "bad"}))
    worker = run("sync_handler", {"id": "j1", "input": 1}, {"id": "j2", "input": 2})
    platform.wait_for(lambda: platform.results("j2"))
    posts = platform.wait_for(lambda: len(platform.results("j1")) == 2 and platform.results("j1"))
    assert posts[0].body == b'{"output": 1}'
    assert posts[1].json() == {"error": "Job result refused by the server (HTTP 400): bad"}
    assert worker.shutdown() == 0
    assert len(platform.results("j1")) == 2


def test_result_post_retried_after_a_dropped_connection(platform: FakePlatform, run: Run) -> None:
    """Deliberate difference: RunPod does not retry connection errors (the result is lost)."""
    platform.script("done", Reply(drop=True))
    worker = run("sync_handler", {"id": "j1", "input": 1})
    platform.wait_for(lambda: [r for r in platform.results("j1") if r.status == 200])
    posts = platform.results("j1")
    assert len(posts) == 2
    assert posts[0].status is None
    assert posts[1].status == 200
    assert posts[1].body == b'{"output": 1}'
    assert worker.shutdown() == 0


def test_stop_signal_cancels_one_running_job(platform: FakePlatform, run: Run) -> None:
    jobs = [
        {"id": "a1", "input": {"sleep": 5, "mark": True}},
        {"id": "a2", "input": {"sleep": 0.6, "mark": True, "return": "a2 done"}},
    ]
    worker = run("async_handler", *jobs, extra={"TEST_CONCURRENCY": "2"})
    worker.wait_output("MARK START a2", 10)
    worker.wait_output("MARK START a1", 10)
    platform.stop_jobs("a1", "zzz", 10)
    worker.wait_output("CANCELLED a1", 10)
    assert platform.wait_for(lambda: platform.results("a2"))[0].json() == {"output": "a2 done"}
    cancelled_at = platform.stops()[-1].at
    later = platform.wait_for(
        lambda: [p for p in platform.pings() if p.at > cancelled_at + 0.3], 10
    )
    assert all("a1" not in (p.param("job_id") or "") for p in later)
    assert worker.shutdown() == 0
    assert platform.results("a1") == []


def test_stop_poll_repeats_at_once_after_ids_and_after_the_floor_when_empty(
    platform: FakePlatform, run: Run
) -> None:
    platform.script("stop", Reply(200, {"jobsToStop": ["nope"]}), Reply(204))
    worker = run("sync_handler")
    stops = platform.wait_count(platform.stops, 3)
    first, second, third = stops[:3]
    assert first.answered_at is not None and second.answered_at is not None
    assert second.at - first.answered_at < 0.1
    assert third.at - second.answered_at >= 0.15  # PITSTOP_WORKER_STOP_POLL_FLOOR=0.2
    assert worker.shutdown() == 0


@pytest.mark.parametrize("handler", ["async_handler", "sync_handler"])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_during_a_job_lets_it_finish_and_post(
    platform: FakePlatform, run: Run, sig: int, handler: str
) -> None:
    worker = run(handler, {"id": "j1", "input": {"sleep": 1.0, "mark": True}})
    worker.wait_output("MARK START j1", 10)
    worker.signal(sig)
    assert worker.wait(5) == 0
    (rec,) = platform.results("j1")
    assert rec.json() == {"output": {"sleep": 1.0, "mark": True}}


def test_idle_sigterm_exits_quickly_because_long_polls_are_cancelled(
    env: dict[str, str], spawn: Callable[..., WorkerProcess]
) -> None:
    """Deliberate difference: RunPod waits for the outstanding long-polls (up to 90 s)."""
    with FakePlatform(take_hold=30, stop_hold=30) as slow:
        worker = spawn("sync_handler", {**env, **slow.env(ping_interval_ms=200)})
        slow.wait_for(lambda: slow.takes() and slow.stops() and slow.pings(), 10)
        worker.terminate()
        started = time.monotonic()
        assert worker.wait(5) == 0
        assert time.monotonic() - started < 1.0


def test_sync_handler_keeps_heartbeat_and_stop_channel_alive(
    platform: FakePlatform, run: Run
) -> None:
    worker = run("sync_handler", {"id": "s1", "input": {"sleep": 1.2, "mark": True}})
    started = worker.wait_mark("s1")
    (result,) = platform.wait_for(lambda: platform.results("s1"), 10)
    during = [p for p in platform.pings() if started < p.at < result.at]
    assert len(during) >= 3
    assert all(p.param("job_id") == "s1" for p in during)
    stops_during = [s for s in platform.stops() if started < s.at < result.at]
    assert stops_during, "stop channel was blocked by the sync handler"
    assert worker.shutdown() == 0


def test_fitness_failure_reports_unhealthy_and_exits_1(platform: FakePlatform, run: Run) -> None:
    worker = run("fitness_fail")
    assert worker.wait(5) == 1
    (ping,) = platform.pings()
    assert ping.path == "/v2/ep/ping/pod1"
    assert ping.param("status") == "unhealthy"
    assert ping.param("check") == "check_fails"
    assert ping.param("reason") == "RuntimeError: x"
    assert ping.header("Authorization") == "k"
    assert "Fitness check failed: check_fails | RuntimeError: x" in worker.stdout
    assert "Worker is unhealthy, exiting." in worker.stdout
    assert "SECOND CHECK RAN" not in worker.stdout
    assert platform.takes() == []


def test_stop_signal_abandons_a_running_sync_handler(platform: FakePlatform, run: Run) -> None:
    """Deliberate difference: RunPod cannot read the stop channel while a sync handler runs."""
    jobs = [{"id": "s1", "input": {"sleep": 2.0, "mark": True}}, {"id": "s2", "input": 2}]
    worker = run("sync_handler", *jobs)
    started = worker.wait_mark("s1")
    platform.stop_jobs("s1")
    worker.wait_output("s1 | Job stopped.", 10)
    (after,) = platform.wait_for(lambda: platform.results("s2"))
    assert after.at < started + 2.0  # the next job ran before s1's handler would have returned
    assert worker.shutdown() == 0
    assert platform.results("s1") == []
