"""Fixtures: a real server on 127.0.0.1:0 with a SQLite store in ``tmp_path``, and clients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from server_support import Worker, fast_config  # type: ignore[import-not-found]

from pitstop.server.runner import RunningServer, start_server

StartServer = Callable[..., Awaitable[RunningServer]]


@pytest.fixture
async def start(tmp_path: Path) -> AsyncIterator[StartServer]:
    """``await start(**config_overrides)`` starts a server; all are stopped at teardown."""
    servers: list[RunningServer] = []

    async def _start(**overrides: Any) -> RunningServer:
        server = await start_server(fast_config(tmp_path, **overrides))
        servers.append(server)
        return server

    yield _start
    for server in servers:
        await server.stop()


@pytest.fixture
async def server(start: StartServer) -> RunningServer:
    return await start()


@pytest.fixture
async def client(server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=10.0) as c:
        yield c


@pytest.fixture
def worker(client: httpx.AsyncClient) -> Worker:
    return Worker(client, "ep", "w1")
