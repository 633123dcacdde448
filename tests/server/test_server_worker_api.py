"""Worker API and job life: long-poll wakeups, batches, leases, fencing, timeouts, retention."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import httpx
from server_support import Worker, eventually  # type: ignore[import-not-found]

from pitstop.server.runner import RunningServer

Start = Callable[..., Awaitable[RunningServer]]


async def status_of(client: httpx.AsyncClient, job_id: str) -> dict[str, object]:
    body: dict[str, object] = (await client.get(f"/v2/ep/status/{job_id}")).json()
    return body


async def test_take_wakes_within_milliseconds_of_run(
    client: httpx.AsyncClient, worker: Worker
) -> None:
    take = asyncio.create_task(worker.take())
    await asyncio.sleep(0.2)  # let the take settle into its long-poll
    assert not take.done()
    submitted = time.monotonic()
    job_id = (await client.post("/v2/ep/run", json={"input": 1})).json()["id"]
    response = await take
    latency = time.monotonic() - submitted
    assert response.status_code == 200 and response.json()["id"] == job_id
    assert response.headers["x-pitstop-server"]
    assert latency < 0.25, f"take answered {latency * 1000:.1f} ms after run"


async def test_take_answers_204_after_take_wait(start: Start) -> None:
    server = await start(take_wait=0.05)
    async with httpx.AsyncClient(base_url=server.url) as c:
        response = await Worker(c, "ep", "w").take()
        assert response.status_code == 204 and response.headers["x-pitstop-server"]


async def test_take_batch(client: httpx.AsyncClient) -> None:
    ids = [(await client.post("/v2/ep/run", json={"input": i})).json()["id"] for i in range(3)]
    response = await client.get("/v2/ep/job-take-batch/wb?gpu=none&batch_size=5&job_in_progress=0")
    assert response.status_code == 200 and response.headers["x-pitstop-server"]
    jobs = response.json()
    assert [j["id"] for j in jobs] == ids and [j["input"] for j in jobs] == [0, 1, 2]
    assert (await status_of(client, ids[2]))["workerId"] == "wb"


async def test_s3_config_and_policy_reach_the_worker(
    client: httpx.AsyncClient, worker: Worker
) -> None:
    body = {
        "input": 1,
        "s3Config": {"bucketName": "b"},
        "webhook": "http://127.0.0.1:9/x",
        "policy": {"executionTimeout": 5000},
    }
    await client.post("/v2/ep/run", json=body)
    job = await worker.take_job()
    assert job["s3Config"] == {"bucketName": "b"} and job["executionTimeout"] == 5000
    assert job["webhook"] == "http://127.0.0.1:9/x"


async def test_ping_renews_lease_then_expiry_requeues(start: Start) -> None:
    server = await start(lease_s=0.6)
    async with httpx.AsyncClient(base_url=server.url) as c:
        w1, w2 = Worker(c, "ep", "w1"), Worker(c, "ep", "w2")
        job_id = (await c.post("/v2/ep/run", json={"input": 1})).json()["id"]
        first = await w1.take_job()
        for _ in range(9):  # 0.9 s of 0.1 s heartbeats: longer than the lease
            assert (await w1.ping(job_id)).status_code == 200
            await asyncio.sleep(0.1)
        assert (await status_of(c, job_id))["status"] == "IN_PROGRESS"
        second = await w2.take_job()  # waits for the sweeper to requeue it
        assert second["id"] == job_id and second["attempt"] == first["attempt"] + 1
        stale = await w1.done(job_id, {"output": "zombie"}, attempt=first["attempt"])
        assert stale.status_code == 409
        assert (
            await w2.done(job_id, {"output": "ok"}, attempt=second["attempt"])
        ).status_code == 200
        final = await status_of(c, job_id)
        assert final["output"] == "ok" and final["retries"] == 1


async def test_lost_leases_fail_after_max_attempts(start: Start) -> None:
    server = await start(lease_s=0.02, max_attempts=2)
    async with httpx.AsyncClient(base_url=server.url) as c:
        w = Worker(c, "ep", "w")
        job_id = (await c.post("/v2/ep/run", json={"input": 1})).json()["id"]
        await w.take_job()
        await w.take_job()

        async def failed() -> bool:
            return (await status_of(c, job_id))["status"] == "FAILED"

        await eventually(failed)
        assert "worker" in str((await status_of(c, job_id))["error"]).lower()


async def test_execution_timeout_times_out_and_stops(
    client: httpx.AsyncClient, worker: Worker
) -> None:
    body = {"input": 1, "policy": {"executionTimeout": 50}}
    job_id = (await client.post("/v2/ep/run", json=body)).json()["id"]
    await worker.take_job()
    stop = await worker.stop_poll()
    assert stop.status_code == 200 and stop.json() == {"jobsToStop": [job_id]}
    assert (await status_of(client, job_id))["status"] == "TIMED_OUT"


async def test_queue_ttl_times_out(client: httpx.AsyncClient) -> None:
    job_id = (await client.post("/v2/ep/run", json={"input": 1, "policy": {"ttl": 30}})).json()[
        "id"
    ]

    async def timed_out() -> bool:
        return (await status_of(client, job_id))["status"] == "TIMED_OUT"

    await eventually(timed_out)


async def test_retention_sweep_deletes_finished_jobs(start: Start) -> None:
    server = await start(retention_run_s=0.05, retention_sync_s=0.05)
    async with httpx.AsyncClient(base_url=server.url) as c:
        w = Worker(c, "ep", "w")
        job_id = (await c.post("/v2/ep/run", json={"input": 1})).json()["id"]
        await w.take_job()
        await w.done(job_id, {"output": 1})

        async def gone() -> bool:
            return (await c.get(f"/v2/ep/status/{job_id}")).status_code == 404

        await eventually(gone)


async def test_job_log_and_pitstop_routes(client: httpx.AsyncClient, worker: Worker) -> None:
    job_id = (await client.post("/v2/ep/run", json={"input": {"a": 1}})).json()["id"]
    await worker.take_job()
    lines = {"lines": [{"stream": "stdout", "text": "hello"}, {"stream": "log", "text": "step 2"}]}
    logged = await client.post(f"/v2/ep/job-log/w1/{job_id}?gpu=none&isStream=false", json=lines)
    assert logged.status_code == 200
    bad = await client.post(f"/v2/ep/job-log/w1/{job_id}?gpu=none", json={"lines": "x"})
    assert bad.status_code == 400
    logs = (await client.get(f"/pitstop/v1/jobs/{job_id}/logs")).json()
    assert [(ln["stream"], ln["text"]) for ln in logs["lines"]] == [
        ("stdout", "hello"),
        ("log", "step 2"),
    ]
    after = (
        await client.get(f"/pitstop/v1/jobs/{job_id}/logs?after={logs['lines'][0]['seq']}")
    ).json()
    assert [ln["text"] for ln in after["lines"]] == ["step 2"]
    record = (await client.get(f"/pitstop/v1/jobs/{job_id}")).json()
    assert record["id"] == job_id and record["input"] == {"a": 1} and record["attempt"] == 1
    listed = (await client.get("/pitstop/v1/jobs?endpoint=ep&status=IN_PROGRESS&limit=5")).json()
    assert [j["id"] for j in listed["jobs"]] == [job_id]
    assert (await client.get("/pitstop/v1/endpoints")).json() == {"endpoints": ["ep"]}


async def test_metrics_exposition(client: httpx.AsyncClient, worker: Worker) -> None:
    job_id = (await client.post("/v2/ep/run", json={"input": 1})).json()["id"]
    await client.post("/v2/ep/run", json={"input": 2})
    await worker.take_job()
    await worker.done(job_id, {"output": 1})
    text = (await client.get("/metrics")).text
    assert 'pitstop_queue_depth{endpoint="ep"} 1.0' in text
    assert 'pitstop_jobs{endpoint="ep",status="COMPLETED"} 1.0' in text
    assert 'pitstop_end_to_end_latency_seconds_count{endpoint="ep"} 1.0' in text
    assert 'pitstop_take_latency_seconds_count{endpoint="ep"} 1.0' in text
    assert 'pitstop_workers{endpoint="ep",state="idle"}' in text
