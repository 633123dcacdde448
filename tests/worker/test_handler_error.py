"""A raising handler's error payload: RunPod's keys, RunPod's class names, the user's frames."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from pitstop.config import WorkerConfig
from pitstop.serverless.handler import Kind, call
from pitstop.serverless.handler_error import error_info, report_raised, type_repr
from pitstop.serverless.local import run_local_job
from pitstop.serverless.logger import RunPodLogger
from runpod.serverless.utils.rp_ssrf import SSRFError


class LocalError(Exception):
    """A user's own exception class."""


def blocked(job: dict[str, Any]) -> None:
    raise SSRFError("blocked address")


def caught(handler: Any) -> BaseException:
    """The exception a sync handler raised, as the worker sees it (through its thread pool)."""
    try:
        asyncio.run(call(handler, Kind.FUNCTION, {"id": "j1", "input": {}}))
    except Exception as exc:
        return exc
    raise AssertionError("handler did not raise")


def local_payload(handler: Any) -> dict[str, Any]:
    """The error object of a job run by the worker runtime (local mode's runner)."""
    body = asyncio.run(run_local_job({"handler": handler}, {"id": "j1", "input": {}}))
    info: dict[str, Any] = json.loads(body["error"])
    return info


def test_runpods_classes_are_named_by_their_runpod_path() -> None:
    assert type_repr(SSRFError) == "<class 'runpod.serverless.utils.rp_ssrf.SSRFError'>"
    assert type_repr(ValueError) == "<class 'ValueError'>"
    assert type_repr(LocalError) == f"<class '{__name__}.LocalError'>"


def test_payload_names_the_runpod_class_and_starts_at_the_users_frame(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("RUNPOD_POD_ID", "RUNPOD_POD_HOSTNAME"):
        monkeypatch.delenv(name, raising=False)
    info = local_payload(blocked)
    assert info["error_type"] == "<class 'runpod.serverless.utils.rp_ssrf.SSRFError'>"
    assert info["error_message"] == "blocked address"
    tb = info["error_traceback"]
    assert tb.startswith("Traceback (most recent call last):\n")
    assert tb.endswith("runpod.serverless.utils.rp_ssrf.SSRFError: blocked address\n")
    frames = [line for line in tb.splitlines() if line.startswith("  File ")]
    assert len(frames) == 1 and "in blocked" in frames[0], tb
    assert (info["hostname"], info["worker_id"]) == ("unknown", "unknown")


def test_worker_id_is_the_pod_id_only_when_the_platform_set_it() -> None:
    exc = caught(blocked)
    from_env = WorkerConfig(worker_id="pod9", worker_id_from_env=True)
    assert error_info(exc, from_env, "v")["worker_id"] == "pod9"
    assert error_info(exc, WorkerConfig(worker_id="generated"), "v")["worker_id"] == "unknown"


def test_report_logs_runpods_captured_exception_block(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("RUNPOD_ENDPOINT_ID", raising=False)
    monkeypatch.setattr(RunPodLogger, "_instance", None)
    body = report_raised(caught(blocked), WorkerConfig(), "1.12.0", "j1")
    out = capsys.readouterr().out
    head, block = out.split("\n", 1)
    assert head == "ERROR  | j1 | Captured Handler Exception"
    assert block.startswith('ERROR  | {\n    "error_type": ')
    assert json.loads(block.removeprefix("ERROR  | ")) == json.loads(body["error"])
