"""A gone worker's jobs come back at once: ``job-release`` and takes whose client left."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx
from server_support import Q, Worker, eventually  # type: ignore[import-not-found]

from pitstop.server.runner import RunningServer

Start = Callable[..., Awaitable[RunningServer]]


async def _status(client: httpx.AsyncClient, job_id: str) -> dict[str, object]:
    body: dict[str, object] = (await client.get(f"/v2/ep/status/{job_id}")).json()
    return body


async def test_release_requeues_the_workers_jobs_long_before_the_lease(start: Start) -> None:
    server = await start(lease_s=60.0)
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        job_id = (await client.post("/v2/ep/run", json={"input": 7})).json()["id"]
        gone, fresh = Worker(client, "ep", "gone"), Worker(client, "ep", "fresh")
        assert (await gone.take_job())["id"] == job_id
        answer = await client.post("/v2/ep/job-release/gone", content=b"")
        assert answer.status_code == 200 and answer.json() == {"released": [job_id]}
        assert (await _status(client, job_id))["status"] == "IN_QUEUE"
        again = await fresh.take_job()
        assert again["id"] == job_id and again["input"] == 7
        late = await gone.done(job_id, {"output": "zombie"})
        assert late.status_code == 409  # the old holder is fenced off
        assert (await fresh.done(job_id, {"output": "ok"})).status_code == 200
        done = await _status(client, job_id)
        assert done["status"] == "COMPLETED" and done["output"] == "ok" and done["retries"] == 1


async def test_release_of_named_jobs_and_bad_bodies(client: httpx.AsyncClient) -> None:
    worker = Worker(client, "ep", "w-named")
    first = (await client.post("/v2/ep/run", json={"input": 1})).json()["id"]
    second = (await client.post("/v2/ep/run", json={"input": 2})).json()["id"]
    await worker.take_job()
    await worker.take_job()
    answer = await client.post("/v2/ep/job-release/w-named", json={"ids": [second, "nope"]})
    assert answer.json() == {"released": [second]}
    assert (await _status(client, first))["status"] == "IN_PROGRESS"
    bad = await client.post("/v2/ep/job-release/w-named", json={"ids": "all"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_request"


async def test_a_take_whose_client_left_leaves_the_job_for_the_next_worker(
    start: Start,
) -> None:
    server = await start(lease_s=60.0, take_wait=5.0)
    host, port = server.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(f"GET /v2/ep/job-take/leaver?{Q}&job_in_progress=0 HTTP/1.1\r\n".encode())
    writer.write(f"Host: {host}\r\n\r\n".encode())
    await writer.drain()
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:

        async def parked() -> bool:
            health = (await client.get("/v2/ep/health")).json()
            return bool(health["workers"]["idle"])

        await eventually(parked)  # the take is in its long-poll
        writer.close()
        await writer.wait_closed()
        job_id = (await client.post("/v2/ep/run", json={"input": 3})).json()["id"]
        taken = await Worker(client, "ep", "stayer").take_job()
        assert taken["id"] == job_id
        status = await _status(client, job_id)
        assert status["workerId"] == "stayer"
    del reader
