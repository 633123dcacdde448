"""``pitstop serve`` and ``pitstop worker`` as a user runs them: real processes, stopped by
SIGTERM or Ctrl-C (SIGINT), and the one-line errors before anything starts."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.supervisor.helpers import HANDLERS, alive

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


DRAIN = 1.0


@contextlib.contextmanager
def running(command: list[str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """The command as a process writing to ``log``; killed on the way out if still running."""
    with log.open("wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=serve_env())
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def ctrl_c(proc: subprocess.Popen[bytes], log: Path) -> None:
    """Ctrl-C (SIGINT): the process exits 0 within the drain timeout plus 2 s."""
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    try:
        code = proc.wait(DRAIN + 10)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"still running after Ctrl-C:\n{log.read_text()}") from None
    took = time.monotonic() - sent
    assert code == 0, log.read_text()
    assert took < DRAIN + 2, f"Ctrl-C took {took:.2f}s"


def assert_gone(pids: list[int], log: Path) -> None:
    deadline = time.monotonic() + 1.0
    while any(alive(pid) for pid in pids):
        assert time.monotonic() < deadline, f"left behind: {pids}\n{log.read_text()}"
        time.sleep(0.01)


def test_serve_hands_args_to_a_worker_with_a_child_and_ctrl_c_ends_them_all(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "vllm-worker"
    folder.mkdir()
    handler = shutil.copy(HANDLERS / "with_child.py", folder / "handler.py")
    pid_file, log = tmp_path / "children", tmp_path / "serve.log"
    command = [*PITSTOP, "serve", str(handler), "--port", "0", "--data-dir", str(tmp_path / "d"),
               "--drain-timeout", str(DRAIN), "--", str(pid_file), "ignore-term"]  # fmt: skip
    with running(command, log) as proc:
        url = wait_for_output(log, r"endpoint: (http://\S+)/v2/vllm-worker\n", proc, 20)
        assert "as endpoint 'vllm-worker' (named after its folder" in log.read_text()
        response = httpx.post(f"{url}/v2/vllm-worker/runsync", json={"input": {}}, timeout=30)
        output = response.json()["output"]
        assert output["argv"] == [str(handler), str(pid_file), "ignore-term"], "args after --"
        wait_for_output(log, r"(child up)", proc, 5)
        assert alive(output["child"])
        ctrl_c(proc, log)
    assert_gone([output["pid"], output["child"]], log)
    assert "outlived SIGTERM: killed" in log.read_text(), "the child ignores SIGTERM"


def test_ctrl_c_ends_pitstop_worker_and_its_childs_group(tmp_path: Path) -> None:
    pid_file, log = tmp_path / "children", tmp_path / "worker.log"
    # Nothing listens on port 9: the worker keeps retrying, its child keeps running.
    command = [*PITSTOP, "worker", str(HANDLERS / "with_child.py"), "--url", "http://127.0.0.1:9",
               "--drain-timeout", str(DRAIN), "--", str(pid_file), "ignore-term"]  # fmt: skip
    with running(command, log) as proc:
        worker = int(wait_for_output(log, r"w1 started \(pid (\d+)", proc, 20))
        wait_for_output(log, r"(child up)", proc, 20)
        child = int(pid_file.read_text().split()[0])
        ctrl_c(proc, log)
    assert_gone([worker, child], log)


def _busy_port() -> tuple[socket.socket, int]:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    return taken, taken.getsockname()[1]


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("port in use", "cannot listen on 127.0.0.1:"),
        ("missing handler", "handler file not found"),
        ("unreadable handler", "cannot read handler file /proc/self/mem: "),
        ("unwritable data dir", "is not writable: Not a directory"),
        ("worker, missing handler", "handler file not found"),
    ],
)
def test_startup_errors_are_one_line_and_exit_2(tmp_path: Path, case: str, expected: str) -> None:
    sleepy = str(HANDLERS / "sleepy.py")
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    serve = [*PITSTOP, "serve", "--data-dir", str(tmp_path / "d"), "--port", "0"]
    taken, port = _busy_port()
    commands = {
        "port in use": [*serve, sleepy, "--port", str(port)],
        "missing handler": [*serve, str(tmp_path / "nope.py")],
        # Exists, yet reading it fails even for root (address 0 is never mapped).
        "unreadable handler": [*serve, "/proc/self/mem"],
        "unwritable data dir": [*serve, sleepy, "--data-dir", str(blocker / "d")],
        "worker, missing handler": [*PITSTOP, "worker", str(tmp_path / "nope.py"), "--url", "x"],
    }
    with taken:
        done = subprocess.run(
            commands[case], capture_output=True, text=True, timeout=30, env=serve_env()
        )
    assert done.returncode == 2, done
    assert done.stderr.strip().count("\n") == 0, f"more than one line: {done.stderr}"
    assert expected in done.stderr
    assert "Traceback" not in done.stdout + done.stderr


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
