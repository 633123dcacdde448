"""``pitstop serve`` as a user runs it: a real process, drained by SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from tests.supervisor.helpers import HANDLERS

PITSTOP = [sys.executable, "-m", "pitstop.cli"]


def serve_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RUNPOD_", "PITSTOP_"))}
    env.update(
        PITSTOP_TAKE_WAIT="0.5",
        PITSTOP_STOP_WAIT="0.5",
        PITSTOP_SWEEP_INTERVAL="0.05",
        PITSTOP_WORKER_STOP_POLL_FLOOR="0.05",
        RUNPOD_LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    return env


def wait_for_output(log: Path, pattern: str, proc: subprocess.Popen[bytes], timeout: float) -> str:
    """Poll the process's output file until ``pattern`` matches; return the first group."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        if match := re.search(pattern, text):
            return match.group(1) if match.groups() else match.group(0)
        if proc.poll() is not None:
            break
        time.sleep(0.01)
    raise AssertionError(f"no {pattern!r} in output:\n{log.read_text(errors='replace')}")


def test_sigterm_drains_a_running_job_and_exits_0(tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    command = [*PITSTOP, "serve", str(HANDLERS / "sleepy.py"), "--port", "0"]
    command += ["--data-dir", str(tmp_path / "data")]
    with log.open("wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=serve_env())
    try:
        url = wait_for_output(log, r"endpoint: (http://\S+)/v2/sleepy", proc, 20)
        assert "curl -s -X POST" in log.read_text()
        result: dict[str, Any] = {}

        def runsync() -> None:
            body = {"input": {"sleep": 1.0}}
            response = httpx.post(f"{url}/v2/sleepy/runsync?wait=20000", json=body, timeout=30)
            result.update(response.json())

        caller = threading.Thread(target=runsync)
        caller.start()
        wait_for_output(log, r"\] running in \d+", proc, 20)
        proc.send_signal(signal.SIGTERM)
        caller.join(30)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = log.read_text(errors="replace")
    assert result.get("status") == "COMPLETED", f"{result}\n{text}"
    assert result["output"]["pid"] > 0
    assert "terminated: draining 1 worker(s)" in text
    assert text.index("SIGTERM received") < text.index("| Finished."), "SIGTERM came mid-job"
    assert "w1 stopped (exit 0)" in text
    assert (tmp_path / "data" / "pitstop.db").exists(), "SQLite store in --data-dir"


def test_keys_from_a_file_and_an_endpoint_key_serve_jobs(tmp_path: Path) -> None:
    """Only key files and an endpoint key given: the workers still get in (a worker key is
    made for them), the endpoint key runs jobs, and the file's key is not in ``ps``."""
    keys = tmp_path / "client-keys"
    keys.write_text("operator-key-from-file\n")
    log = tmp_path / "serve.log"
    command = [*PITSTOP, "serve", str(HANDLERS / "sleepy.py"), "--port", "0"]
    command += ["--data-dir", str(tmp_path / "data"), "--api-key-file", str(keys)]
    command += ["--endpoint-key", "sleepy=team-key"]
    with log.open("wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=serve_env())
    try:
        url = wait_for_output(log, r"endpoint: (http://\S+)/v2/sleepy", proc, 20)
        assert b"operator-key-from-file" not in Path(f"/proc/{proc.pid}/cmdline").read_bytes()
        done = httpx.post(
            f"{url}/v2/sleepy/runsync?wait=20000",
            json={"input": {"sleep": 0}},
            headers={"Authorization": "Bearer team-key"},
            timeout=30,
        ).json()
        assert done["status"] == "COMPLETED", f"{done}\n{log.read_text(errors='replace')}"
        other = httpx.get(f"{url}/v2/other/health", headers={"Authorization": "Bearer team-key"})
        assert other.status_code == 401
        assert "operator-key-from-file" not in log.read_text(errors="replace")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
