"""Fixtures: a real server on 127.0.0.1:0 with a SQLite store in ``tmp_path`` (``any_server``:
on each store, SQLite and Redis), and clients."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from server_support import Worker, fast_config  # type: ignore[import-not-found]
from tests.scaleout.conftest import REDIS_URL, drop_keys, require_redis

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


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
async def any_server(
    request: pytest.FixtureRequest, start: StartServer
) -> AsyncIterator[RunningServer]:
    """A server on each store: SQLite in ``tmp_path``, then Redis (database 15, a key prefix
    of its own, deleted afterwards; skips locally without Redis, fails when CI is set)."""
    if request.param == "sqlite":
        yield await start(take_wait=0.2)
        return
    require_redis()
    prefix = f"pitstop-hostile-{uuid.uuid4().hex[:12]}"
    server = await start(take_wait=0.2, store_url=f"{REDIS_URL}?prefix={prefix}")
    try:
        yield server
    finally:
        await server.stop()
        await drop_keys(prefix)


@pytest.fixture
async def any_client(any_server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=any_server.url, timeout=10.0) as c:
        yield c
