"""Real worker processes: refresh, signals, stop channel and concurrency changes."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.support.platform import FakePlatform
from tests.support.procs import WorkerProcess

Worker = Callable[..., WorkerProcess]
KINDS = ["function", "async", "generator", "async_generator", "partial", "callable"]
STREAMING = {"generator", "async_generator"}


@pytest.mark.parametrize("kind", KINDS)
def test_refresh_config_for_every_kind_even_when_raising(
    platform: FakePlatform, worker: Worker, kind: str
) -> None:
    job = {"id": "r1", "input": {"raise": "boom", "yield": ["a"]}}
    proc = worker(kind, job, {"id": "next", "input": {}}, W_REFRESH="1")
    assert proc.wait(5) == 0
    body = platform.results("r1")[0].json()
    assert body["stopPod"] is True and "boom" in body["error"]
    assert list(body) == ["error", "stopPod"]
    assert not platform.results("next")
    assert all(t.at < platform.results("r1")[0].at for t in platform.takes())


@pytest.mark.parametrize("kind", KINDS)
def test_refresh_key_in_returned_or_yielded_dict(
    platform: FakePlatform, worker: Worker, kind: str
) -> None:
    job = {"id": "r1", "input": {"refresh": True, "return": {"a": 1}, "yield": ["x"]}}
    proc = worker(kind, job, {"id": "next", "input": {}})
    assert proc.wait(5) == 0
    body = platform.results("r1")[0].json()
    if kind in STREAMING:
        assert body == {"output": [], "stopPod": True}
        assert [c.json() for c in platform.stream_posts("r1")] == [
            {"output": "x"},
            {"output": {"last": True}},
        ]
    else:
        assert body == {"output": {"a": 1}, "stopPod": True}
    assert not platform.results("next")


@pytest.mark.parametrize("kind", ["async", "function"])
def test_sigterm_drains_in_flight_job(platform: FakePlatform, worker: Worker, kind: str) -> None:
    proc = worker(kind, {"id": "d1", "input": {"sleep": 0.6, "mark": True}})
    proc.wait_output("START d1")
    assert proc.shutdown(signal.SIGTERM, timeout=5) == 0
    assert platform.results("d1")[0].json() == {"output": {"ok": True}}


def test_sigint_drains_too(platform: FakePlatform, worker: Worker) -> None:
    proc = worker("async", {"id": "d1", "input": {"sleep": 0.4, "mark": True}})
    proc.wait_output("START d1")
    assert proc.shutdown(signal.SIGINT, timeout=5) == 0
    assert platform.results("d1")


def test_idle_worker_exits_fast(platform: FakePlatform, worker: Worker) -> None:
    platform.take_hold = 5.0
    platform.stop_hold = 5.0
    proc = worker("function")
    platform.wait_for(lambda: platform.takes() and platform.stops())
    started = time.monotonic()
    assert proc.shutdown(signal.SIGTERM, timeout=3) == 0
    assert time.monotonic() - started < 0.5


def test_second_signal_exits_at_once(platform: FakePlatform, worker: Worker) -> None:
    proc = worker("function", {"id": "long", "input": {"sleep": 10, "mark": True}})
    proc.wait_output("START long")
    proc.signal(signal.SIGTERM)
    proc.wait_output("SIGTERM received")
    started = time.monotonic()
    assert proc.shutdown(signal.SIGTERM, timeout=3) == 128 + signal.SIGTERM
    assert time.monotonic() - started < 1.0
    assert not platform.results("long")


def test_shutdown_grace_abandons_unfinished_job(platform: FakePlatform, worker: Worker) -> None:
    proc = worker(
        "async",
        {"id": "stuck", "input": {"sleep": 30, "mark": True}},
        PITSTOP_WORKER_SHUTDOWN_GRACE="0.3",
    )
    proc.wait_output("START stuck")
    assert proc.shutdown(signal.SIGTERM, timeout=3) == 0
    assert "stuck | Shutdown grace over" in proc.stdout
    assert not platform.results("stuck")


def test_stop_cancels_async_job_only(
    platform: FakePlatform, worker: Worker, tmp_path: Path
) -> None:
    conc = tmp_path / "conc"
    conc.write_text("2")
    proc = worker(
        "async",
        {"id": "a1", "input": {"sleep": 5, "mark": True}},
        {"id": "a2", "input": {"sleep": 0.5, "mark": True}},
        W_CONC_FILE=str(conc),
    )
    proc.wait_output("START a2")
    platform.stop_jobs("a1", "zzz", 5)
    proc.wait_output("CANCELLED a1")
    platform.wait_for(lambda: platform.results("a2"))
    stopped_at = time.monotonic()
    platform.wait_for(lambda: [p for p in platform.pings() if p.at > stopped_at])
    late = [p for p in platform.pings() if p.at > stopped_at]
    assert all("a1" not in (p.param("job_id") or "") for p in late)
    assert not platform.results("a1")
    assert "a1 | Job stopped." in proc.stdout


def test_stop_abandons_sync_job(platform: FakePlatform, worker: Worker) -> None:
    proc = worker("function", {"id": "s1", "input": {"sleep": 0.6, "mark": True}})
    proc.wait_output("START s1")
    platform.stop_jobs("s1")
    proc.wait_output("s1 | Job stopped.")
    platform.add_jobs({"id": "s2", "input": {}})
    platform.wait_for(lambda: platform.results("s2"))
    assert not platform.results("s1")
    assert proc.shutdown() == 0


def test_concurrency_change_takes_effect_without_drain(
    platform: FakePlatform, worker: Worker, tmp_path: Path
) -> None:
    conc = tmp_path / "conc"
    conc.write_text("1")
    proc = worker(
        "async", {"id": "long", "input": {"sleep": 3, "mark": True}}, W_CONC_FILE=str(conc)
    )
    proc.wait_output("START long")
    conc.write_text("3")
    platform.add_jobs({"id": "q1", "input": {}}, {"id": "q2", "input": {}})
    platform.wait_for(lambda: platform.results("q1") and platform.results("q2"), timeout=2.5)
    assert not platform.results("long")
    later = [t for t in platform.takes() if t.param("batch_size")]
    assert later and later[0].param("batch_size") == "2"


def test_heartbeat_off_without_pod_id(platform: FakePlatform, worker: Worker) -> None:
    proc = worker("function", {"id": "j", "input": {}}, pod_id=None)
    platform.wait_for(lambda: platform.results("j"))
    assert not platform.pings()
    assert "/job-take/pod1" not in platform.takes()[0].target
    assert proc.shutdown() == 0


@pytest.mark.parametrize("kind", ["function", "async"])
def test_sys_exit_in_handler_ends_the_worker_with_its_code(
    platform: FakePlatform, worker: Worker, kind: str
) -> None:
    proc = worker(kind, {"id": "x1", "input": {"exit": 3}})
    assert proc.wait(5) == 3
    assert not platform.results("x1")
