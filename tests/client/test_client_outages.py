"""The client through store outages: a refused submit is sent again after ``Retry-After``; a
submit the server could not confirm is sent again with its Idempotency-Key, never duplicated.
Real servers, a real full tmpfs and a real (paused) ``redis-server``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.support.outages import RedisProcess, Tmpfs

from pitstop.client import AsyncClient
from pitstop.config import ServerConfig
from pitstop.server.runner import RunningServer, start_server

Hook = Callable[[httpx.Response], Any]


@pytest.fixture
async def serve() -> AsyncIterator[Callable[..., Any]]:
    servers: list[RunningServer] = []

    async def _serve(store_url: str, sweep_interval: float = 0.05) -> RunningServer:
        config = ServerConfig(
            host="127.0.0.1",
            port=0,
            store_url=store_url,
            sweep_interval=sweep_interval,
            log_level="error",
        )
        servers.append(await start_server(config))
        return servers[-1]

    yield _serve
    for server in servers:
        await server.stop()


def client_seeing(server: RunningServer, hook: Hook) -> AsyncClient:
    """A client whose every response goes through ``hook`` first (to act mid-call)."""
    http = httpx.AsyncClient(event_hooks={"response": [hook]})
    return AsyncClient(server.url, http=http)


async def test_submit_refused_by_a_full_disk_is_sent_again(
    serve: Callable[..., Any], tmp_path: Path
) -> None:
    fs = Tmpfs(tmp_path / "fs")
    try:
        server = await serve(f"sqlite:///{fs.path}/pitstop.db")
        refused = asyncio.Event()

        async def hook(response: httpx.Response) -> None:
            if response.status_code == 503:
                refused.set()

        async with client_seeing(server, hook) as client:
            fs.fill()
            submit = asyncio.create_task(client.endpoint("ep").submit({"input": "x" * 10**6}))
            await asyncio.wait_for(refused.wait(), 10)
            fs.free()  # while the client waits out Retry-After
            job = await submit
            listed = (await client.jobs())["jobs"]
            assert [j["id"] for j in listed] == [job.id]
    finally:
        fs.close()


async def test_submit_a_hung_redis_could_not_confirm_is_resent_with_its_key_not_duplicated(
    serve: Callable[..., Any], tmp_path: Path
) -> None:
    redis = RedisProcess(tmp_path / "redis")
    try:
        # No sweeper pass while Redis hangs: the submit is the only command in flight.
        server = await serve(f"{redis.url}?timeout_s=0.3", sweep_interval=60)
        unknown = asyncio.Event()

        async def hook(response: httpx.Response) -> None:
            if response.status_code == 503 and not unknown.is_set():
                await response.aread()
                if response.json()["error"].get("details", {}).get("stored") == "unknown":
                    unknown.set()
                    redis.resume()

        async with client_seeing(server, hook) as client:
            before = await client.endpoint("ep").submit({"input": "before"})
            redis.pause()
            job = await client.endpoint("ep").submit({"input": "once"})
            assert unknown.is_set()
            listed = {j["id"] for j in (await client.jobs())["jobs"]}
            assert listed == {before.id, job.id}  # stored once, whichever way it went
    finally:
        redis.close()
