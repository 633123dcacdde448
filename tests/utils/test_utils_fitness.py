"""Fitness checks: order, logging, the built-ins, and the failure path (in a subprocess)."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from conftest import LoopbackServer, send
from pitstop.config import WorkerConfig
from pitstop.serverless import fitness

SKIP_ALL = {"skip_gpu_check": True, "skip_system_checks": True}


@pytest.fixture(autouse=True)
def _no_user_checks() -> Iterator[None]:
    fitness.clear_fitness_checks()
    yield
    fitness.clear_fitness_checks()


async def test_checks_run_in_registration_order_sync_and_async(
    capfd: pytest.CaptureFixture[str],
) -> None:
    ran: list[str] = []

    @fitness.register_fitness_check
    def first() -> None:
        ran.append("first")

    @fitness.register_fitness_check
    async def second() -> None:
        await asyncio.sleep(0)
        ran.append("second")

    assert first.__name__ == "first"  # returned unchanged
    await fitness.run_fitness_checks(WorkerConfig(**SKIP_ALL))
    assert ran == ["first", "second"]
    out = capfd.readouterr().out
    assert "DEBUG  | Registered fitness check: first" in out
    assert "INFO   | Running 2 fitness check(s)..." in out
    assert out.index("Executing fitness check: first") < out.index(
        "Executing fitness check: second"
    )
    assert "Fitness check passed: second (" in out
    assert "INFO   | All fitness checks passed. (" in out


async def test_no_checks_is_a_quiet_skip(capfd: pytest.CaptureFixture[str]) -> None:
    await fitness.run_fitness_checks(WorkerConfig(**SKIP_ALL))
    assert "No fitness checks registered, skipping." in capfd.readouterr().out


def test_builtins_follow_the_skip_flags() -> None:
    names = [c.__name__ for c in fitness.builtin_checks(WorkerConfig(skip_gpu_check=True))]
    assert names[:3] == ["_memory_check", "_disk_check", "_network_check"]
    assert fitness.builtin_checks(WorkerConfig(**SKIP_ALL)) == []


async def test_network_check_target_is_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    monkeypatch.setenv("RUNPOD_NETWORK_CHECK_HOST", f"127.0.0.1:{port}")
    monkeypatch.setenv("RUNPOD_NETWORK_CHECK_TIMEOUT", "2")
    await fitness._network_check()
    listener.close()
    with pytest.raises(RuntimeError, match=f"TCP connect to 127.0.0.1:{port} failed"):
        await fitness._network_check()


def test_memory_and_disk_checks_use_their_thresholds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNPOD_MIN_MEMORY_GB", "0.001")
    monkeypatch.setenv("RUNPOD_MIN_DISK_PERCENT", "0")
    fitness._memory_check()
    fitness._disk_check()
    monkeypatch.setenv("RUNPOD_MIN_MEMORY_GB", "1000000")
    monkeypatch.setenv("RUNPOD_MIN_DISK_PERCENT", "101")
    with pytest.raises(RuntimeError, match="Insufficient memory"):
        fitness._memory_check()
    with pytest.raises(RuntimeError, match="Insufficient disk space"):
        fitness._disk_check()


FAILING_WORKER = textwrap.dedent(
    """
    import asyncio, os, sys, threading, time
    from pitstop.config import WorkerConfig
    from pitstop.serverless.fitness import register_fitness_check, run_fitness_checks

    # A live non-daemon thread: sys.exit would hang on it, os._exit must not.
    threading.Thread(target=time.sleep, args=(60,)).start()

    @register_fitness_check
    def ok_check():
        pass

    @register_fitness_check
    async def bad_check():
        raise ValueError("model file missing " + "x" * 400)

    @register_fitness_check
    def never_runs():
        open(sys.argv[1], "w").close()

    cfg = WorkerConfig.from_env()
    cfg.skip_gpu_check = cfg.skip_system_checks = True
    asyncio.run(run_fitness_checks(cfg))
    print("UNREACHABLE")
    """
)


def run_failing_worker(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    marker = tmp_path / "never_runs"
    done = subprocess.run(
        [sys.executable, "-c", FAILING_WORKER, str(marker)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert not marker.exists()
    return done


def test_failure_reports_unhealthy_logs_and_hard_exits(
    http_server: LoopbackServer, tmp_path: Path
) -> None:
    http_server.routes["/v2/ep/ping/pod-7"] = lambda h: send(h, 200, b"ok")
    done = run_failing_worker(
        tmp_path,
        {
            "RUNPOD_WEBHOOK_PING": f"{http_server.url}/v2/ep/ping/$RUNPOD_POD_ID?gpu=none",
            "RUNPOD_AI_API_KEY": "worker-key",
            "RUNPOD_POD_ID": "pod-7",
        },
    )
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    failed = next(line for line in lines if "Fitness check failed" in line)
    assert failed.startswith("ERROR  | Fitness check failed: bad_check | ValueError: model file")
    assert lines[-1] == "ERROR  | Worker is unhealthy, exiting."
    assert "UNREACHABLE" not in done.stdout
    [(path, headers)] = http_server.requests
    query = parse_qs(urlsplit(path).query)
    assert query["status"] == ["unhealthy"] and query["check"] == ["bad_check"]
    assert query["gpu"] == ["none"]
    assert query["reason"][0].startswith("ValueError: model file missing xxx")
    assert len(query["reason"][0]) == 256
    assert query["runpod_version"][0]
    assert headers["Authorization"] == "worker-key"


def test_failure_without_api_key_sends_no_report(
    http_server: LoopbackServer, tmp_path: Path
) -> None:
    env = {"RUNPOD_WEBHOOK_PING": f"{http_server.url}/ping?x=1", "RUNPOD_AI_API_KEY": ""}
    done = run_failing_worker(tmp_path, env)
    assert done.returncode == 1
    assert "Worker is unhealthy, exiting." in done.stdout
    assert http_server.requests == []


def test_unreachable_report_target_does_not_block_the_exit(tmp_path: Path) -> None:
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    env = {"RUNPOD_WEBHOOK_PING": f"http://127.0.0.1:{port}/ping?x=1", "RUNPOD_AI_API_KEY": "k"}
    done = run_failing_worker(tmp_path, env)
    assert done.returncode == 1
    assert done.stdout.splitlines()[-1] == "ERROR  | Worker is unhealthy, exiting."
