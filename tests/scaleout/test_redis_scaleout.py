"""Issue #5: three servers and four workers on one Redis survive a server and a worker SIGKILL.

Real processes on loopback: three ``python -m pitstop.server`` sharing one Redis (unique key
prefix), four no-op worker processes spread over them, 2,000 jobs submitted round-robin over
the servers. Mid-run one server and one worker are SIGKILLed; the jobs they held come back
through lease expiry (short leases and sweeps, set through ``PITSTOP_*``). Every job must end
COMPLETED with its own output, exactly once, none lost.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from tests.scaleout.cluster import ENDPOINT, Cluster
from tests.scaleout.conftest import REDIS_URL, OpenStore

from pitstop.models import JobStatus
from pitstop.storage.redis import RedisStore

pytestmark = [pytest.mark.redis, pytest.mark.slow, pytest.mark.timeout(240)]

JOBS = 2000
SERVER_ENV = {
    "PITSTOP_LEASE": "3",
    "PITSTOP_SWEEP_INTERVAL": "0.2",
    "PITSTOP_TAKE_WAIT": "1",
    "PITSTOP_STOP_WAIT": "1",
    "PITSTOP_MAX_ATTEMPTS": "5",
    "PITSTOP_LOG_LEVEL": "info",
}
WORKER_ENV = {
    "RUNPOD_PING_INTERVAL": "500",
    "RUNPOD_LOG_LEVEL": "WARN",
    "PITSTOP_WORKER_BACKOFF_MAX": "0.5",
    "PITSTOP_WORKER_RESULT_BACKOFF": "0.1",
    "NOOP_CONCURRENCY": "10",
    "NOOP_SLEEP_MS": "10",
}


async def submit(client: httpx.AsyncClient, urls: Sequence[str], numbers: range) -> dict[str, int]:
    """POST /run for each number, round-robin over ``urls``; return job id -> number."""
    ids: dict[str, int] = {}
    gate = asyncio.Semaphore(32)

    async def one(n: int) -> None:
        url = urls[n % len(urls)]
        async with gate:
            response = await client.post(f"{url}/v2/{ENDPOINT}/run", json={"input": {"n": n}})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["status"] == "IN_QUEUE"
        ids[body["id"]] = n

    await asyncio.gather(*(one(n) for n in numbers))
    return ids


async def wait_completed(store: RedisStore, count: int, timeout: float, cluster: Cluster) -> None:
    """Poll the shared store until ``count`` jobs of the endpoint are COMPLETED."""
    deadline = time.monotonic() + timeout
    while True:
        counts = await store.counts(ENDPOINT)
        if counts[JobStatus.COMPLETED.value] >= count:
            return
        if time.monotonic() > deadline:
            logs = "\n".join(f"--- {p.name}\n{p.output()[-2000:]}" for p in cluster.procs)
            raise AssertionError(f"only {counts} after {timeout}s\n{logs}")
        await asyncio.sleep(0.05)


async def wait_holding(prefix: str, worker_ids: set[str], timeout: float) -> None:
    """Wait until each of ``worker_ids`` holds a leased (running) job (read from the keys)."""
    client = aioredis.Redis.from_url(REDIS_URL, decode_responses=True)
    deadline = time.monotonic() + timeout
    try:
        while True:
            running = await client.zrange(f"{prefix}:leases", 0, -1)
            holders = {await client.hget(f"{prefix}:job:{job_id}", "wk") for job_id in running}
            if worker_ids <= holders:
                return
            assert time.monotonic() < deadline, f"{worker_ids} never held jobs ({holders})"
            await asyncio.sleep(0.005)
    finally:
        await client.aclose()


async def status_of(client: httpx.AsyncClient, url: str, job_id: str) -> dict[str, Any]:
    response = await client.get(f"{url}/v2/{ENDPOINT}/status/{job_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_jobs_survive_a_server_and_a_worker_sigkill(
    tmp_path: Path, prefix: str, open_store: OpenStore
) -> None:
    store = await open_store()
    store_url = f"{REDIS_URL}?prefix={prefix}"
    with Cluster(tmp_path, store_url, SERVER_ENV) as cluster:
        servers = cluster.start_servers(3)
        urls = [url for _, url in servers]
        limits = httpx.Limits(max_connections=64)
        async with httpx.AsyncClient(timeout=30.0, limits=limits) as client:
            # a backlog first, so the workers are busy when the kills come
            ids = await submit(client, urls, range(JOBS // 2))
            workers = [
                cluster.start_worker(urls[i % 3], f"worker-{i}", WORKER_ENV) for i in range(4)
            ]
            await wait_holding(prefix, {"worker-0", "worker-2"}, 60.0)

            servers[2][0].kill()  # worker-2 talks to it: its running jobs cannot be reported
            workers[0].kill()
            survivors = urls[:2]
            ids.update(await submit(client, survivors, range(JOBS // 2, JOBS)))
            await wait_completed(store, JOBS, 120.0, cluster)

            counts = await store.counts(ENDPOINT)
            assert counts[JobStatus.COMPLETED.value] == JOBS
            assert sum(counts[s.value] for s in JobStatus) == JOBS  # no job in another state
            assert len(ids) == JOBS and sorted(ids.values()) == list(range(JOBS))

            gate = asyncio.Semaphore(32)

            async def check(i: int, job_id: str) -> None:
                async with gate:
                    body = await status_of(client, survivors[i % 2], job_id)
                assert body["status"] == "COMPLETED", body
                assert body["output"] == {"n": ids[job_id]}, body

            await asyncio.gather(*(check(i, job_id) for i, job_id in enumerate(ids)))

        recovered = [job for job in await store.recent(ENDPOINT, limit=JOBS) if job.retries]
        assert recovered, "the kills hit no running job: nothing was exercised"
        for job in recovered:  # a requeued job still has exactly one result: its last attempt's
            assert job.status is JobStatus.COMPLETED and job.output == {"n": ids[job.id]}
