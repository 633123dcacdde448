"""Durability: jobs survive a clean restart and a SIGKILL of the server process."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from server_support import Worker, eventually, fast_config  # type: ignore[import-not-found]

from pitstop.config import ServerConfig
from pitstop.server.runner import RunningServer, start_server
from pitstop.server.urls import worker_env

REPO = Path(__file__).resolve().parents[2]
PYTHON = str(REPO / ".venv" / "bin" / "python") if (REPO / ".venv").exists() else sys.executable
Start = Callable[..., Awaitable[RunningServer]]


async def test_jobs_survive_a_clean_restart(tmp_path: Path) -> None:
    config: ServerConfig = fast_config(tmp_path)
    first = await start_server(config)
    async with httpx.AsyncClient(base_url=first.url) as c:
        w = Worker(c, "ep", "w")
        running = (await c.post("/v2/ep/run", json={"input": "r"})).json()["id"]
        job = await w.take_job()
        queued = (await c.post("/v2/ep/run", json={"input": "q"})).json()["id"]
    await first.stop()
    second = await start_server(config)
    try:
        async with httpx.AsyncClient(base_url=second.url) as c:
            w = Worker(c, "ep", "w")
            assert (await c.get(f"/v2/ep/status/{running}")).json()["status"] == "IN_PROGRESS"
            assert (await w.done(running, {"output": 1}, attempt=job["attempt"])).status_code == 200
            assert (await w.take_job())["id"] == queued
            await w.done(queued, {"output": 2})
            for job_id in (running, queued):
                assert (await c.get(f"/v2/ep/status/{job_id}")).json()["status"] == "COMPLETED"
    finally:
        await second.stop()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _server_process(tmp_path: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RUNPOD_", "PITSTOP_"))}
    env.update(
        PITSTOP_LEASE="1",
        PITSTOP_SWEEP_INTERVAL="0.05",
        PITSTOP_TAKE_WAIT="1",
        PITSTOP_STOP_WAIT="1",
        PITSTOP_LOG_LEVEL="warning",
    )
    command = [
        PYTHON,
        "-m",
        "pitstop.server",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--store",
        f"sqlite:///{tmp_path}/pitstop.db",
    ]
    log = open(tmp_path / f"server-{time.monotonic_ns()}.log", "wb")  # noqa: SIM115
    return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)


def _worker_process(tmp_path: Path, url: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RUNPOD_", "PITSTOP_"))}
    # A non-empty key: RunPod's heartbeat gate needs one, and pings keep the leases alive.
    env.update(worker_env(url, "ep", "kill-test-worker", "k"))
    env.update(
        RUNPOD_PING_INTERVAL="200",
        RUNPOD_LOG_LEVEL="WARN",
        HOME=str(tmp_path),
        PITSTOP_WORKER_BACKOFF_MAX="0.2",
        PITSTOP_WORKER_RESULT_BACKOFF="0.1",
    )
    log = open(tmp_path / "worker.log", "wb")  # noqa: SIM115
    handler = str(REPO / "tests" / "handlers" / "echo.py")
    return subprocess.Popen(
        [PYTHON, handler], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path
    )


async def _ready(c: httpx.AsyncClient) -> bool:
    try:
        return (await c.get("/v2/ep/health")).status_code == 200
    except httpx.TransportError:
        return False


async def test_sigkill_during_a_run_loses_no_accepted_job(tmp_path: Path) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    server = _server_process(tmp_path, port)
    worker = _worker_process(tmp_path, url)
    accepted: list[str] = []
    try:
        async with httpx.AsyncClient(base_url=url, timeout=5.0) as c:
            await eventually(lambda: _ready(c), timeout=20)

            async def submit(n: int) -> None:
                for i in range(n):
                    try:
                        r = await c.post("/v2/ep/run", json={"input": {"i": i}})
                    except httpx.TransportError:
                        continue  # refused while the server is down: never accepted
                    if r.status_code == 200:
                        accepted.append(r.json()["id"])

            await submit(40)

            async def some_done() -> bool:
                health = (await c.get("/v2/ep/health")).json()
                return bool(health["jobs"]["completed"] >= 5)

            await eventually(some_done, timeout=20)
            more = asyncio.create_task(submit(40))
            await asyncio.sleep(0.05)
            server.send_signal(signal.SIGKILL)
            server.wait(5)
            await more
            server = _server_process(tmp_path, port)
            await eventually(lambda: _ready(c), timeout=20)
            await submit(20)

            async def all_completed() -> bool:
                for job_id in accepted:
                    r = await c.get(f"/v2/ep/status/{job_id}")
                    if r.status_code != 200 or r.json()["status"] != "COMPLETED":
                        return False
                return True

            await eventually(all_completed, timeout=30, interval=0.1)
            assert len(accepted) >= 60
    finally:
        worker.terminate()
        server.terminate()
        worker.wait(10)
        server.wait(10)
