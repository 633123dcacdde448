"""The asyncio client: the same API as the blocking one, against the live server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from tests.client.client_support import (
    CLIENT_KEY,
    HANDLER_EP,
    STREAM_EP,
    ThreadServer,
    unique,
)

from pitstop.client import AsyncClient
from pitstop.errors import JobFailed, JobTimedOut, WaitTimeout

pytestmark = pytest.mark.usefixtures("workers")


@pytest.fixture
async def aclient(live: ThreadServer) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(live.url, CLIENT_KEY, timeout=10.0, poll_interval=0.02) as c:
        yield c


async def _until_status(client: AsyncClient, ep: str, job_id: str, status: str) -> None:
    for _ in range(500):
        if (await client.endpoint(ep).status(job_id))["status"] == status:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"job {job_id} never reached {status}")


async def test_run_sync_and_run_output(aclient: AsyncClient) -> None:
    ep = aclient.endpoint(HANDLER_EP)
    assert await ep.run_sync({"return": "hi"}, timeout=20) == "hi"
    job = await ep.run({"return": {"n": 2}})
    assert await job.output(timeout=20) == {"n": 2}
    assert (await job.status())["status"] == "COMPLETED"


async def test_failed_job_raises_with_its_error(aclient: AsyncClient) -> None:
    with pytest.raises(JobFailed) as info:
        await aclient.endpoint(HANDLER_EP).run_sync({"raise": "async-boom"}, timeout=20)
    assert "async-boom" in (info.value.error or "")


async def test_stream_yields_chunks(aclient: AsyncClient) -> None:
    job = await aclient.endpoint(STREAM_EP).run({"yield": ["a", "b", {"c": 3}]})
    assert [item async for item in job.stream(timeout=20)] == ["a", "b", {"c": 3}]


async def test_stream_ends_when_the_running_job_is_cancelled(aclient: AsyncClient) -> None:
    job = await aclient.endpoint(HANDLER_EP).run({"sleep": 30})
    await _until_status(aclient, HANDLER_EP, job.id, "IN_PROGRESS")

    async def consume() -> list[object]:
        return [item async for item in job.stream(timeout=20)]

    reader = asyncio.create_task(consume())
    await asyncio.sleep(0)
    assert (await job.cancel())["status"] == "CANCELLED"
    assert await asyncio.wait_for(reader, 10) == []
    assert job.last is not None and job.last["status"] == "CANCELLED"


async def test_wait_timeout(aclient: AsyncClient) -> None:
    job = await aclient.endpoint(unique("idle")).run({"x": 1})
    with pytest.raises(WaitTimeout):
        await job.output(timeout=0.1)
    await job.cancel()


async def test_queued_job_ttl_expiry_raises_timed_out(live: ThreadServer) -> None:
    async with AsyncClient(live.url, CLIENT_KEY, poll_interval=0.02) as client:
        job = await client.endpoint(unique("idle")).run({"x": 1}, policy={"ttl": 50})
        with pytest.raises(JobTimedOut):
            await job.output(timeout=10)


async def test_retry_purge_health_logs(aclient: AsyncClient) -> None:
    ep = aclient.endpoint(HANDLER_EP)
    job = await ep.run({"raise": "x", "print": "async log line"})
    assert (await job.wait(timeout=20))["status"] == "FAILED"
    assert (await job.retry())["status"] == "IN_QUEUE"
    assert (await job.wait(timeout=20))["status"] == "FAILED"
    texts = [line["text"] async for line in aclient.iter_logs(job.id, follow=True)]
    assert any("async log line" in t for t in texts)

    idle = aclient.endpoint(unique("idle"))
    await idle.run({"n": 1})
    assert (await idle.health())["jobs"]["inQueue"] == 1
    assert (await idle.purge_queue())["removed"] == 1
