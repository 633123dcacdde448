"""``pitstop worker``: the same supervision against a server reached over HTTP only."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import httpx
import pytest
from tests.supervisor.harness import running_server, server_config, submit, wait_status
from tests.supervisor.helpers import HANDLERS, Lines, fast_config

from pitstop.config import SupervisorConfig
from pitstop.errors import ConfigError
from pitstop.supervisor import Supervisor, run_workers_async, serve_async
from pitstop.supervisor.scaler import HttpDemand

pytestmark = pytest.mark.usefixtures("fast_workers")


async def test_remote_workers_scale_on_http_health(tmp_path: Path, lines: Lines) -> None:
    sup = fast_config(
        str(HANDLERS / "sleepy.py"),
        endpoint_id="remote",
        min_workers=0,
        max_workers=2,
        worker_key="wk",
    )
    config = server_config(tmp_path, worker_keys=("wk",))
    async with (
        running_server(config) as server,
        httpx.AsyncClient(base_url=server.url) as client,
    ):
        supervisor = Supervisor(sup, server_url=server.url, worker_key="wk", sink=lines)
        task = asyncio.create_task(supervisor.run(install_signals=False))
        try:
            job_id = await submit(client, "remote", {"sleep": 0})
            job = await wait_status(client, "remote", job_id)
            assert job["status"] == "COMPLETED"
            assert supervisor.pool.spawned == 1
        finally:
            supervisor.stop()
            assert await asyncio.wait_for(task, 10) == 0
        assert not lines.has("cannot read"), lines.text()


async def test_unreadable_health_keeps_the_count_and_says_so_once() -> None:
    said: list[str] = []
    async with httpx.AsyncClient() as client:
        demand = HttpDemand(client, "http://127.0.0.1:9", "ep", said.append)
        assert await demand.pending() is None
        assert await demand.pending() is None
    assert len(said) == 1 and "cannot read http://127.0.0.1:9/v2/ep/health" in said[0]


async def test_worker_needs_a_url_and_a_handler(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--url"):
        await run_workers_async(SupervisorConfig(handler_path=str(HANDLERS / "sleepy.py")))
    missing = SupervisorConfig(handler_path=str(tmp_path / "nope.py"), server_url="http://x")
    with pytest.raises(ConfigError, match="handler file not found"):
        await run_workers_async(missing)


async def test_serve_reports_a_busy_port(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        sup = SupervisorConfig(handler_path=str(HANDLERS / "sleepy.py"), data_dir=str(tmp_path))
        srv = server_config(tmp_path, port=port)
        with pytest.raises(ConfigError, match=f"cannot listen on 127.0.0.1:{port}"):
            await serve_async(sup, srv, install_signals=False)
