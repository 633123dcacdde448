"""An in-process server plus supervisors on loopback, for end-to-end supervisor tests."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from pitstop.config import ServerConfig, SupervisorConfig
from pitstop.server.runner import RunningServer, start_server
from pitstop.supervisor import Supervisor
from pitstop.supervisor.devices import DeviceLease
from pitstop.supervisor.process import Sink

TERMINAL = {"COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT"}


def server_config(tmp_path: Path, **overrides: Any) -> ServerConfig:
    """A loopback server on a free port with millisecond intervals."""
    values: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": 0,
        "store_url": f"sqlite:///{tmp_path / 'pitstop.db'}",
        "lease_s": 2.0,
        "sweep_interval": 0.01,
        "take_wait": 0.5,
        "stop_wait": 0.5,
        "log_level": "warning",
    }
    values.update(overrides)
    return ServerConfig(**values)


@contextlib.asynccontextmanager
async def running_server(config: ServerConfig) -> AsyncIterator[RunningServer]:
    server = await start_server(config)
    try:
        yield server
    finally:
        await server.stop()


@contextlib.asynccontextmanager
async def supervising(
    sup: SupervisorConfig,
    server: RunningServer,
    sink: Sink,
    *,
    lease_s: float = 2.0,
    devices: DeviceLease | None = None,
) -> AsyncIterator[Supervisor]:
    """Run a Supervisor against ``server`` (no signal handlers); drain it on the way out."""
    supervisor = Supervisor(
        sup,
        server_url=server.url,
        store=server.store,
        ping_interval_ms=max(10, int(lease_s * 1000 / 4)),
        sink=sink,
        devices=devices,
    )
    task = asyncio.create_task(supervisor.run(install_signals=False))
    try:
        yield supervisor
    finally:
        supervisor.stop("test over")
        try:
            await asyncio.wait_for(asyncio.shield(task), 10)
        except asyncio.TimeoutError:
            supervisor.stop("test over, force")
            await task


async def submit(client: httpx.AsyncClient, endpoint: str, payload: Any) -> str:
    response = await client.post(f"/v2/{endpoint}/run", json={"input": payload})
    response.raise_for_status()
    job_id: str = response.json()["id"]
    return job_id


async def status(client: httpx.AsyncClient, endpoint: str, job_id: str) -> dict[str, Any]:
    response = await client.get(f"/v2/{endpoint}/status/{job_id}")
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


async def wait_status(
    client: httpx.AsyncClient,
    endpoint: str,
    job_id: str,
    wanted: set[str] = TERMINAL,
    timeout: float = 10.0,
) -> dict[str, Any]:
    """Poll /status every 10 ms until the job is in ``wanted``; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        body = await status(client, endpoint, job_id)
        if body["status"] in wanted:
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} still {body['status']} after {timeout}s: {body}")
        await asyncio.sleep(0.01)
