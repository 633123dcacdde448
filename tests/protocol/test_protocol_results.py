"""Spec §9 behaviours 5-16, 31 and 54: result bodies, headers, errors and refresh_worker.

Each test runs the pitstop worker as a subprocess against the recording fake platform and
checks the job-done POSTs on the wire. pitstop's deliberate improvements are asserted where
the official SDK loses data: unserialisable output becomes a FAILED result (31), and a
returned ``refresh_worker`` key also makes the worker exit 0 after delivering (14).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from tests.support.platform import FakePlatform
from tests.support.procs import WorkerProcess

Run = Callable[..., WorkerProcess]

if TYPE_CHECKING:
    from tests.protocol.conftest import SharedWorkers


def job(job_id: str, spec: Any) -> dict[str, Any]:
    return {"id": job_id, "input": spec}


def one_result(platform: FakePlatform, job_id: str, timeout: float = 10.0) -> bytes:
    """Wait for the job's single final result and return its raw body."""
    (rec,) = platform.wait_for(lambda: platform.results(job_id), timeout)
    return rec.body


def test_echo_result_body_is_exact_and_goes_to_the_done_url(
    shared: SharedWorkers, job_id: str
) -> None:
    sh = shared.get("sync_handler")
    sh.platform.add_jobs(job(job_id, {"x": 1}))
    (rec,) = sh.platform.wait_for(lambda: sh.platform.results(job_id))
    assert rec.method == "POST"
    assert rec.target == f"/v2/ep/job-done/pod1/{job_id}?gpu=T&isStream=false"
    assert rec.body == b'{"output": {"x": 1}}'


def test_result_post_headers(shared: SharedWorkers, job_id: str) -> None:
    sh = shared.get("sync_handler")
    sh.platform.add_jobs(job(job_id, {"x": 1}))
    (rec,) = sh.platform.wait_for(lambda: sh.platform.results(job_id))
    assert rec.header("Content-Type") == "application/x-www-form-urlencoded"
    assert rec.header("charset") == "utf-8"
    assert rec.header("X-Request-ID") == job_id
    assert rec.header("Authorization") == "k"
    assert (rec.header("User-Agent") or "").startswith("RunPod-Python-SDK/")


def test_non_ascii_output_is_raw_utf8(shared: SharedWorkers, job_id: str) -> None:
    sh = shared.get("sync_handler")
    sh.platform.add_jobs(job(job_id, {"return": "hello ü"}))
    assert one_result(sh.platform, job_id) == '{"output": "hello ü"}'.encode()


@pytest.mark.parametrize(
    ("returned", "expected"),
    [
        (None, {"output": None}),
        ({}, {}),
        ({"error": "custom err", "extra": 1}, {"output": {"extra": 1}, "error": "custom err"}),
        ({"error": "bad"}, {"error": "bad"}),
        ({"error": ""}, {}),
        ({"output": 5}, {"output": {"output": 5}}),
        ({"refresh_worker": False, "a": [1, 2]}, {"output": {"a": [1, 2]}}),
    ],
    ids=["none", "empty", "error-extra", "error-only", "falsy-error", "double-wrap", "refresh-no"],
)
def test_return_value_shapes(
    shared: SharedWorkers, job_id: str, returned: Any, expected: dict[str, Any]
) -> None:
    sh = shared.get("sync_handler")
    sh.platform.add_jobs(job(job_id, {"return": returned}))
    body = one_result(sh.platform, job_id)
    assert json.loads(body) == expected
    assert body == json.dumps(expected, ensure_ascii=False).encode()


def test_raised_exception_posts_runpod_error_string_and_worker_continues(
    shared: SharedWorkers, job_id: str
) -> None:
    sh = shared.get("sync_handler")
    sh.platform.add_jobs(job(job_id, {"raise": "boom"}), job(job_id + "n", {"ok": 1}))
    body = json.loads(one_result(sh.platform, job_id))
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
    assert info["error_message"] == "boom"
    assert "ValueError: boom" in info["error_traceback"]
    assert info["hostname"] == "unknown"
    assert info["worker_id"] == "pod1"
    assert info["runpod_version"]
    assert json.loads(one_result(sh.platform, job_id + "n")) == {"output": {"ok": 1}}


def test_unserialisable_output_becomes_a_failed_result(shared: SharedWorkers, job_id: str) -> None:
    """Deliberate difference: RunPod posts nothing (the job is lost); pitstop posts an error."""
    sh = shared.get("sync_handler")
    sh.platform.add_jobs(job(job_id, {"unserialisable": True}), job(job_id + "n", {"ok": 1}))
    body = json.loads(one_result(sh.platform, job_id))
    assert "output" not in body
    assert isinstance(body["error"], str)
    assert body["error"]
    assert json.loads(one_result(sh.platform, job_id + "n")) == {"output": {"ok": 1}}


def test_async_handler_result(shared: SharedWorkers, job_id: str) -> None:
    sh = shared.get("async_handler")
    sh.platform.add_jobs(job(job_id, {"sleep": 0.05, "return": [1, "two"]}))
    assert one_result(sh.platform, job_id) == b'{"output": [1, "two"]}'


def test_returned_refresh_key_adds_stop_pod_and_pitstop_exits_after_delivering(
    platform: FakePlatform, run: Run
) -> None:
    """Deliberate difference: RunPod keeps polling; pitstop also restarts cleanly (exit 0)."""
    worker = run("sync_handler", job("j1", {"return": {"a": 1, "refresh_worker": True}}))
    assert json.loads(one_result(platform, "j1")) == {"output": {"a": 1}, "stopPod": True}
    assert worker.wait(5) == 0
    done_at = platform.results("j1")[0].at
    assert not [t for t in platform.takes() if t.at > done_at]


def test_refresh_worker_config_adds_stop_pod_and_exits_0(platform: FakePlatform, run: Run) -> None:
    worker = run("sync_handler", job("j1", {"x": 1}), extra={"TEST_REFRESH_WORKER": "1"})
    assert json.loads(one_result(platform, "j1")) == {"output": {"x": 1}, "stopPod": True}
    assert worker.wait(5) == 0
    done_at = platform.results("j1")[0].at
    assert not [t for t in platform.takes() if t.at > done_at]


def test_refresh_worker_config_with_raising_handler(platform: FakePlatform, run: Run) -> None:
    worker = run("sync_handler", job("j1", {"raise": "boom"}), extra={"TEST_REFRESH_WORKER": "1"})
    body = json.loads(one_result(platform, "j1"))
    assert list(body) == ["error", "stopPod"]
    assert body["stopPod"] is True
    assert json.loads(body["error"])["error_message"] == "boom"
    assert worker.wait(5) == 0


def test_sys_exit_in_handler_posts_nothing_and_exits_with_its_code(
    platform: FakePlatform, run: Run
) -> None:
    worker = run("sync_handler", job("j1", {"exit": 3}))
    assert worker.wait(5) == 3
    assert platform.takes()
    assert platform.results("j1") == []


def test_rp_debugger_attaches_debug_info(platform: FakePlatform, run: Run) -> None:
    worker = run("sync_handler", job("j1", {"return": {"a": 1}}), args=["--rp_debugger"])
    body = json.loads(one_result(platform, "j1"))
    debug = body["output"].pop("rp_debugger")
    assert body == {"output": {"a": 1}}
    assert set(debug["system_info"]) >= {"os", "processor", "python_version", "runpod"}
    assert isinstance(debug["timestamps"], list)
    assert isinstance(debug["ready_delay_ms"], (int, float))
    assert worker.shutdown() == 0
