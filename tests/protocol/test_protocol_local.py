"""Spec §9 behaviours 40-47: local one-shot test mode, log levels, JSON logs, batchId prefix.

Deliberate improvement asserted: ``--test_input`` with a generator handler drains the
generator and reports its outputs (RunPod prints the generator object's repr).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.support.platform import FakePlatform
from tests.support.procs import WorkerProcess

Run = Callable[..., WorkerProcess]
Spawn = Callable[..., WorkerProcess]
BANNER = "--- Starting Serverless Worker |  Version "


def local(spawn: Spawn, handler: str, test_input: str | None, **env: str) -> WorkerProcess:
    args = ["--test_input", test_input] if test_input is not None else []
    return spawn(handler, env, args=args)


def test_local_test_input_runs_once_without_http(
    platform: FakePlatform, env: dict[str, str], spawn: Spawn
) -> None:
    worker = spawn("echo", env, args=["--test_input", '{"input": {"a": 1}}'])
    assert worker.wait(10) == 0, worker.output()
    out = worker.stdout
    assert out.startswith(BANNER)
    assert "INFO   | Job local_test completed successfully." in out
    assert "INFO   | Job result: {'output': {'a': 1}}" in out
    assert platform.requests == []


@pytest.mark.parametrize(
    "spec", [{"raise": "boom"}, {"return": {"error": "bad"}}], ids=["raises", "returns-error"]
)
def test_local_test_failure_exits_1(spawn: Spawn, spec: dict[str, object]) -> None:
    worker = local(spawn, "sync_handler", json.dumps({"input": spec}))
    assert worker.wait(10) == 1
    assert "Job local_test failed with error:" in worker.stdout


def test_local_without_test_input_or_file_exits_1(spawn: Spawn) -> None:
    worker = local(spawn, "echo", None)
    assert worker.wait(10) == 1
    assert "WARN   | test_input.json not found, exiting." in worker.stdout


def test_local_reads_test_input_json_from_cwd(spawn: Spawn, tmp_path: Path) -> None:
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    (workdir / "test_input.json").write_text('{"input": {"b": 2, "show": true}, "id": "myid"}')
    worker = spawn("sync_handler", {}, workdir=workdir)
    assert worker.wait(10) == 0, worker.output()
    saw = next(ln for ln in worker.stdout.splitlines() if ln.startswith("SAW "))
    assert json.loads(saw[4:]) == {"id": "myid", "input": {"b": 2, "show": True}}
    assert "Job myid completed successfully." in worker.stdout


@pytest.mark.parametrize("test_input", ['{"foo": 1}', '{"input": null}'], ids=["none", "null"])
def test_local_job_without_input_exits_1(spawn: Spawn, test_input: str) -> None:
    worker = local(spawn, "echo", test_input)
    assert worker.wait(10) == 1
    assert "Job has no input parameter. Unable to run." in worker.stdout


@pytest.mark.parametrize("handler", ["sync_gen", "async_gen"])
def test_local_generator_is_drained(spawn: Spawn, handler: str) -> None:
    """Deliberate difference: RunPod never runs a generator in local mode."""
    worker = local(spawn, handler, '{"input": {"yield": ["a", {"k": 2}]}}')
    assert worker.wait(10) == 0, worker.output()
    line = next(ln for ln in worker.stdout.splitlines() if "Job result:" in ln)
    assert "'a'" in line and "{'k': 2}" in line


def test_rp_log_level_info_hides_debug(spawn: Spawn) -> None:
    worker = spawn("echo", {}, args=["--rp_log_level", "INFO", "--test_input", '{"input": 1}'])
    assert worker.wait(10) == 0
    out = worker.stdout
    assert "Log level set to INFO" in out
    after = out.split("Log level set to INFO", 1)[1]
    assert "DEBUG  |" not in after
    assert "INFO   | Job local_test completed successfully." in after


def test_log_level_notset_prints_only_the_banner(spawn: Spawn) -> None:
    worker = local(spawn, "echo", '{"input": 1}', RUNPOD_LOG_LEVEL="NOTSET")
    assert worker.wait(10) == 0
    lines = [ln for ln in worker.stdout.splitlines() if ln.strip()]
    assert lines[0].startswith(BANNER)
    prefixes = ("DEBUG  |", "INFO   |", "WARN   |", "ERROR  |", "TRACE  |")
    assert not [ln for ln in lines if ln.startswith(prefixes)]


def test_endpoint_id_switches_logs_to_json(platform: FakePlatform, run: Run) -> None:
    worker = run("sync_handler", {"id": "j1", "input": 1}, extra={"RUNPOD_ENDPOINT_ID": "ep1"})
    platform.wait_for(lambda: platform.results("j1"))
    assert worker.shutdown() == 0
    lines = [ln for ln in worker.stdout.splitlines() if ln.strip()]
    assert lines[0].startswith(BANNER)
    records = [json.loads(ln) for ln in lines[1:]]
    assert all(list(r) == ["requestId", "message", "level"] for r in records), lines
    per_job = [r for r in records if r["requestId"] == "j1"]
    assert per_job
    assert any("Started" in r["message"] for r in per_job)
    assert any(r["requestId"] is None for r in records)


def test_batch_id_prefixes_only_that_jobs_lines(platform: FakePlatform, run: Run) -> None:
    jobs = [{"id": "b1", "input": 1, "batchId": "B9"}, {"id": "b2", "input": 2}]
    worker = run("sync_handler", *jobs)
    platform.wait_for(lambda: platform.results("b2"))
    assert worker.shutdown() == 0
    lines = worker.stdout.splitlines()
    b1 = [ln for ln in lines if "| b1 |" in ln]
    assert b1
    assert all("| b1 | [batchId=B9] " in ln for ln in b1), b1
    assert "INFO   | b1 | [batchId=B9] Started." in lines
    others = [ln for ln in lines if "| b1 |" not in ln]
    assert not [ln for ln in others if "batchId" in ln]
