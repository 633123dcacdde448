"""Binding rules, worker URLs, unexpected errors, and stopping while long-polls wait."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from server_support import Worker, eventually, fast_config  # type: ignore[import-not-found]

from pitstop.errors import ConfigError
from pitstop.server.runner import RunningServer, check_bind, start_server
from pitstop.server.urls import worker_env

Start = Callable[..., Awaitable[RunningServer]]


async def test_public_bind_without_keys_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="without API keys"):
        await start_server(fast_config(tmp_path, host="0.0.0.0"))
    check_bind(fast_config(tmp_path, host="0.0.0.0", allow_public_without_keys=True))
    check_bind(fast_config(tmp_path, host="0.0.0.0", client_keys=("k",)))
    check_bind(fast_config(tmp_path, host="localhost"))


def test_worker_env_urls() -> None:
    env = worker_env("http://127.0.0.1:8000/", "ep", "w-1", "secret")
    assert env == {
        "RUNPOD_WEBHOOK_GET_JOB": "http://127.0.0.1:8000/v2/ep/job-take/$ID?gpu=none",
        "RUNPOD_WEBHOOK_POST_OUTPUT": "http://127.0.0.1:8000/v2/ep/job-done/$RUNPOD_POD_ID/$ID?gpu=none",
        "RUNPOD_WEBHOOK_POST_STREAM": "http://127.0.0.1:8000/v2/ep/job-stream/$RUNPOD_POD_ID/$ID?gpu=none",
        "RUNPOD_WEBHOOK_PING": "http://127.0.0.1:8000/v2/ep/ping/$RUNPOD_POD_ID?gpu=none",
        "RUNPOD_AI_API_KEY": "secret",
        "RUNPOD_POD_ID": "w-1",
    }


async def test_unexpected_error_is_json_500(
    server: RunningServer, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(endpoint: str) -> dict[str, int]:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(server.store, "counts", broken)
    response = await client.get("/v2/ep/health")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert "disk on fire" not in response.text  # no internals leak to clients


async def test_stop_ends_waiting_long_polls_promptly(start: Start) -> None:
    server = await start(take_wait=30.0, stop_wait=30.0)
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as c:
        worker = Worker(c, "ep", "w")
        take = asyncio.create_task(worker.take())
        stop_poll = asyncio.create_task(worker.stop_poll())

        async def both_waiting() -> bool:
            return len(server._server.server_state.tasks) >= 2

        await eventually(both_waiting)
        started = time.monotonic()
        await server.stop()
        assert time.monotonic() - started < 3
        assert (await take).status_code == 204
        assert (await stop_poll).status_code == 204


async def test_an_endpoint_execution_timeout_is_its_jobs_default(
    start: Start, tmp_path: Path
) -> None:
    server = await start(endpoint_execution_timeouts=("fast=300", "slow=5", "slow=90000"))
    async with httpx.AsyncClient(base_url=server.url) as client:

        async def timeout_of(endpoint: str, policy: object = None) -> int:
            body = {"input": {}, "policy": policy}
            job_id = (await client.post(f"/v2/{endpoint}/run", json=body)).json()["id"]
            record = (await client.get(f"/pitstop/v1/jobs/{job_id}")).json()
            return int(record["policy"]["executionTimeout"])

        assert await timeout_of("fast") == 300
        assert await timeout_of("slow") == 90000, "a later entry wins"
        assert await timeout_of("other") == 600_000, "the server's default"
        assert await timeout_of("fast", {"executionTimeout": 1234}) == 1234
    for bad in ("fast", "=300", "fast=0", "fast=soon", f"fast={2**53}"):
        with pytest.raises(ConfigError, match="use ENDPOINT=MS"):
            await start_server(fast_config(tmp_path, endpoint_execution_timeouts=(bad,)))
