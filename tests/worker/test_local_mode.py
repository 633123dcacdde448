"""Local one-shot test mode (spec §6.1, with generators drained) and log-level flags."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.support.procs import WorkerProcess, start_worker
from tests.worker.conftest import BEHAVE

Spawn = Callable[..., WorkerProcess]


def local(spawn: Spawn, kind: str, *args: str, **env: str) -> WorkerProcess:
    return spawn(BEHAVE, {"W_KIND": kind, **env}, args=args)


def test_success(spawn: Spawn) -> None:
    proc = local(spawn, "function", "--test_input", '{"input": {"return": {"a": 1}}}')
    assert proc.wait(10) == 0
    out = proc.stdout
    assert out.startswith("--- Starting Serverless Worker |  Version ")
    assert "INFO   | Job local_test completed successfully." in out
    assert "INFO   | Job result: {'output': {'a': 1}}" in out


def test_generator_is_drained(spawn: Spawn) -> None:
    proc = local(spawn, "async_generator", "--test_input", '{"input": {"yield": ["x", "y"]}}')
    assert proc.wait(10) == 0
    assert "Stream chunk 0: x" in proc.stdout and "Stream chunk 1: y" in proc.stdout
    assert "Job result: {'output': ['x', 'y']}" in proc.stdout


def test_failures_exit_1(spawn: Spawn) -> None:
    raising = local(spawn, "async", "--test_input", '{"input": {"raise": "boom"}}')
    returned = local(spawn, "function", "--test_input", '{"input": {"return": {"error": "bad"}}}')
    gen = local(spawn, "generator", "--test_input", '{"input": {"yield": [1], "raise": "g"}}')
    for proc in (raising, returned, gen):
        assert proc.wait(10) == 1
        assert "Job local_test failed with error:" in proc.stdout


def test_missing_input_and_file(spawn: Spawn) -> None:
    for bad in ('{"foo": 1}', '{"input": null}'):
        proc = local(spawn, "function", "--test_input", bad)
        assert proc.wait(10) == 1
        assert "Job has no input parameter. Unable to run." in proc.stdout
    proc = local(spawn, "function")
    assert proc.wait(10) == 1
    assert "WARN   | test_input.json not found, exiting." in proc.stdout


def test_test_input_json_file(tmp_path: Path) -> None:
    workdir = tmp_path / "w"
    workdir.mkdir()
    (workdir / "test_input.json").write_text(json.dumps({"input": {"return": 7}, "id": "myid"}))
    with start_worker(BEHAVE, {"W_KIND": "function"}, workdir=workdir) as proc:
        assert proc.wait(10) == 0
        assert "Using test_input.json as job input." in proc.stdout
        assert "INFO   | Job myid completed successfully." in proc.stdout
        assert "Job result: {'output': 7}" in proc.stdout


def test_log_level_flag_and_env(spawn: Spawn) -> None:
    proc = local(spawn, "function", "--test_input", '{"input": {}}', "--rp_log_level", "INFO")
    assert proc.wait(10) == 0
    after = proc.stdout.split("Log level set to INFO", 1)[1]
    assert "DEBUG  |" not in after
    quiet = local(spawn, "function", "--test_input", '{"input": {}}', RUNPOD_LOG_LEVEL="NOTSET")
    assert quiet.wait(10) == 0
    assert quiet.stdout.strip().startswith("--- Starting Serverless Worker")
    assert "|" not in quiet.stdout.replace("|  Version", "")


def test_json_log_lines(spawn: Spawn) -> None:
    proc = local(spawn, "function", "--test_input", '{"input": {}}', RUNPOD_ENDPOINT_ID="ep1")
    assert proc.wait(10) == 0
    lines = proc.stdout.splitlines()[1:]
    records = [json.loads(line) for line in lines if line.strip()]
    assert {"requestId", "message", "level"} == set(records[0])
    assert any(r["requestId"] == "local_test" and r["message"] == "Started." for r in records)


def test_rp_debugger_in_local_mode(spawn: Spawn) -> None:
    proc = local(spawn, "function", "--test_input", '{"input": {}}', "--rp_debugger")
    assert proc.wait(10) == 0
    assert "'rp_debugger': {'system_info'" in proc.stdout
