"""Client API against a real server: shapes, waits, cursor reads, cancel, retry, purge, health."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
from server_support import Worker, eventually  # type: ignore[import-not-found]

from pitstop.server.runner import RunningServer


async def submit(client: httpx.AsyncClient, payload: object = None, ep: str = "ep") -> str:
    response = await client.post(f"/v2/{ep}/run", json={"input": payload or {"n": 1}})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "IN_QUEUE"
    return str(body["id"])


async def test_run_take_progress_done_status(client: httpx.AsyncClient, worker: Worker) -> None:
    job_id = await submit(client, {"prompt": "hi"})
    assert (await client.get(f"/v2/ep/status/{job_id}")).json()["status"] == "IN_QUEUE"
    job = await worker.take_job()
    assert job["id"] == job_id and job["input"] == {"prompt": "hi"} and job["attempt"] == 1
    progress = await worker.done(job_id, {"status": "IN_PROGRESS", "output": {"pct": 50}})
    assert progress.status_code == 200
    status = (await client.get(f"/v2/ep/status/{job_id}")).json()
    assert status["status"] == "IN_PROGRESS" and status["output"] == {"pct": 50}
    assert status["workerId"] == "w1" and "delayTime" in status
    assert (await worker.done(job_id, {"output": {"answer": 42}})).status_code == 200
    final = (await client.post(f"/v2/ep/status/{job_id}")).json()
    assert final["status"] == "COMPLETED" and final["output"] == {"answer": 42}
    assert isinstance(final["executionTime"], int) and final["retries"] == 0


async def test_error_results_are_strings_and_empty_body_is_success(
    client: httpx.AsyncClient, worker: Worker
) -> None:
    first, second = await submit(client), await submit(client)
    await worker.take_job()
    await worker.done(first, {"error": {"kind": "bad", "n": 1}})
    failed = (await client.get(f"/v2/ep/status/{first}")).json()
    assert failed["status"] == "FAILED" and json.loads(failed["error"]) == {"kind": "bad", "n": 1}
    await worker.take_job()
    await worker.done(second, {})
    ok = (await client.get(f"/v2/ep/status/{second}")).json()
    assert ok["status"] == "COMPLETED" and "output" not in ok and "error" not in ok


async def test_nan_body_and_repeated_done_are_accepted(
    client: httpx.AsyncClient, worker: Worker
) -> None:
    job_id = await submit(client)
    await worker.take_job()
    first = await worker.done(job_id, b'{"output": {"x": NaN, "y": Infinity, "z": "\xc3\xbc"}}')
    assert first.status_code == 200, first.text
    again = await worker.done(job_id, b'{"output": {"x": NaN}}')
    assert again.status_code == 200 and again.json()["outcome"] == "duplicate"
    status = (await client.get(f"/v2/ep/status/{job_id}")).json()
    assert status["status"] == "COMPLETED" and status["output"]["z"] == "ü"


async def test_runsync_finishes(client: httpx.AsyncClient, worker: Worker) -> None:
    async def serve_one() -> None:
        job = await worker.take_job()
        await worker.done(job["id"], {"output": job["input"]["n"] * 2})

    task = asyncio.create_task(serve_one())
    response = await client.post("/v2/ep/runsync", json={"input": {"n": 21}})
    await task
    body = response.json()
    assert body["status"] == "COMPLETED" and body["output"] == 42 and body["id"].startswith("sync-")


async def test_runsync_times_out_with_non_terminal_body(client: httpx.AsyncClient) -> None:
    started = time.monotonic()
    response = await client.post("/v2/ep/runsync?wait=10", json={"input": {}})  # clamped to 1 s
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert response.json()["status"] == "IN_QUEUE" and 0.9 < elapsed < 3


async def test_status_sync_waits_for_terminal(client: httpx.AsyncClient, worker: Worker) -> None:
    job_id = await submit(client)
    waiter = asyncio.create_task(client.get(f"/v2/ep/status-sync/{job_id}?wait=5000"))
    await worker.take_job()
    await worker.done(job_id, {"output": "done"})
    body = (await waiter).json()
    assert body["status"] == "COMPLETED" and body["output"] == "done"
    posted = await client.post(f"/v2/ep/status-sync/{job_id}?wait=1000")
    assert posted.json()["status"] == "COMPLETED"


async def test_stream_cursor_and_wait(client: httpx.AsyncClient, worker: Worker) -> None:
    job_id = await submit(client)
    job = await worker.take_job()
    empty = (await client.get(f"/v2/ep/stream/{job_id}")).json()
    assert empty["stream"] == [] and empty["status"] == "IN_PROGRESS"
    await worker.stream(job_id, {"output": "a"}, attempt=job["attempt"])
    await worker.stream(job_id, {"outputs": ["b", "c"]}, attempt=job["attempt"])
    first = (await client.post(f"/v2/ep/stream/{job_id}")).json()
    assert [c["output"] for c in first["stream"]] == ["a", "b", "c"]
    waiter = asyncio.create_task(client.get(f"/v2/ep/stream/{job_id}?wait=5000"))
    await asyncio.sleep(0)
    await worker.stream(job_id, {"output": "d"})
    assert [c["output"] for c in (await waiter).json()["stream"]] == ["d"]
    await worker.done(job_id, {"output": []}, is_stream=True)
    drained = (await client.get(f"/v2/ep/stream/{job_id}?wait=5000")).json()
    assert drained == {
        "id": job_id,
        "status": "COMPLETED",
        "delayTime": drained["delayTime"],
        "stream": [],
    }


async def test_cancel_queued_and_running(client: httpx.AsyncClient, worker: Worker) -> None:
    running, queued = await submit(client), await submit(client)
    await worker.take_job()
    cancelled = await client.post(f"/v2/ep/cancel/{queued}")
    assert cancelled.json() == {"id": queued, "status": "CANCELLED"}
    stop = asyncio.create_task(worker.stop_poll())
    assert (await client.post(f"/v2/ep/cancel/{running}")).json()["status"] == "CANCELLED"
    answer = await stop
    assert answer.status_code == 200 and answer.json() == {"jobsToStop": [running]}
    late = await worker.done(running, {"output": 1})
    assert late.status_code == 200 and late.json()["outcome"] == "ignored"
    assert (await client.get(f"/v2/ep/status/{running}")).json()["status"] == "CANCELLED"


async def test_job_stop_answers_204_when_idle(start: object) -> None:
    server: RunningServer = await start(stop_wait=0.05)  # type: ignore[operator]
    async with httpx.AsyncClient(base_url=server.url) as c:
        assert (await Worker(c, "ep", "idle").stop_poll()).status_code == 204


async def test_retry_only_failed_or_timed_out(client: httpx.AsyncClient, worker: Worker) -> None:
    job_id = await submit(client, {"v": 7})
    assert (await client.post(f"/v2/ep/retry/{job_id}")).status_code == 400
    await worker.take_job()
    await worker.done(job_id, {"error": "boom"})
    again = await client.post(f"/v2/ep/retry/{job_id}")
    assert again.json() == {"id": job_id, "status": "IN_QUEUE"}
    job = await worker.take_job()
    assert job["id"] == job_id and job["input"] == {"v": 7} and job["attempt"] == 2
    await worker.done(job_id, {"output": "ok"}, attempt=job["attempt"])
    status = (await client.get(f"/v2/ep/status/{job_id}")).json()
    assert status["status"] == "COMPLETED" and status["retries"] == 1 and "error" not in status
    assert (await client.post(f"/v2/ep/retry/{job_id}")).status_code == 400


async def test_purge_queue_keeps_running_jobs(client: httpx.AsyncClient, worker: Worker) -> None:
    running = await submit(client)
    await worker.take_job()
    queued = [await submit(client) for _ in range(3)]
    assert (await client.post("/v2/ep/purge-queue")).json() == {"removed": 3, "status": "completed"}
    assert (await client.get(f"/v2/ep/status/{queued[0]}")).json()["status"] == "CANCELLED"
    assert (await client.get(f"/v2/ep/status/{running}")).json()["status"] == "IN_PROGRESS"


async def test_health_counts_jobs_and_workers(client: httpx.AsyncClient, worker: Worker) -> None:
    done, failed, _queued = await submit(client), await submit(client), await submit(client)
    await worker.take_job()
    await worker.done(done, {"output": 1})
    await worker.take_job()
    await worker.done(failed, {"error": "x"})
    await worker.ping()
    await Worker(client, "ep", "sick").ping(extra="&status=unhealthy&check=gpu&reason=no+gpu")
    await Worker(client, "ep", "busy").ping("some-job")
    health = (await client.get("/v2/ep/health")).json()
    assert health["jobs"] == {
        "completed": 1,
        "failed": 1,
        "inProgress": 0,
        "inQueue": 1,
        "retried": 0,
        "cancelled": 0,
        "timedOut": 0,
    }
    assert health["workers"] == {
        "idle": 1,
        "initializing": 0,
        "ready": 0,
        "running": 1,
        "throttled": 0,
        "unhealthy": 1,
    }
    other = (await client.get("/v2/other/health")).json()
    assert other["jobs"]["inQueue"] == 0 and other["workers"]["idle"] == 0


async def test_status_ttl_shortens_retention(client: httpx.AsyncClient, worker: Worker) -> None:
    job_id = await submit(client)
    await worker.take_job()
    await worker.done(job_id, {"output": 1})
    assert (await client.get(f"/v2/ep/status/{job_id}?ttl=1")).status_code == 200

    async def gone() -> bool:
        return (await client.get(f"/v2/ep/status/{job_id}")).status_code == 404

    await eventually(gone)


async def test_health_shows_a_worker_idle_while_its_take_is_held(
    client: httpx.AsyncClient, worker: Worker
) -> None:
    job_id = await submit(client)
    await worker.take_job()
    await worker.done(job_id, {"output": 1})
    held = asyncio.create_task(worker.take())  # idle long-poll, held by the server

    async def shows_idle() -> bool:
        workers = (await client.get("/v2/ep/health")).json()["workers"]
        return bool(workers["idle"] == 1 and workers["running"] == 0)

    await eventually(shows_idle, timeout=5)
    assert not held.done()
    held.cancel()


async def test_workers_route_shows_why_a_worker_is_unhealthy(
    client: httpx.AsyncClient, worker: Worker
) -> None:
    await worker.ping()
    crash = "&status=unhealthy&check=crashed&reason=exit+1&exit_code=1&error=ImportError%3A+x"
    await Worker(client, "ep", "sick").ping(extra=crash)
    await Worker(client, "ep", "odd").ping(extra="&status=unhealthy&exit_code=one")
    rows = (await client.get("/pitstop/v1/endpoints/ep/workers")).json()["workers"]
    by_id = {row["id"]: row for row in rows}
    assert by_id[worker.id]["status"] == "idle"
    sick = by_id["sick"]
    assert (sick["status"], sick["check"], sick["reason"]) == ("unhealthy", "crashed", "exit 1")
    assert (sick["exitCode"], sick["error"]) == (1, "ImportError: x")
    assert by_id["odd"]["exitCode"] is None, "a malformed exit code is dropped"
    await Worker(client, "ep", "sick").ping()
    rows = (await client.get("/pitstop/v1/endpoints/ep/workers")).json()["workers"]
    assert {row["id"]: row["status"] for row in rows}["sick"] == "idle", "a healthy ping clears it"


async def test_job_ids_are_uuid7_in_time_order(client: httpx.AsyncClient) -> None:
    """Ids are RFC 9562 version 7: valid UUIDs whose text sorts by submission time (the
    stores' id indexes grow at one edge); ``/runsync`` ids keep RunPod's ``sync-`` prefix."""
    import uuid

    from pitstop.server.submit import uuid7

    ids = [(await client.post("/v2/ep/run", json={"input": i})).json()["id"] for i in range(3)]
    parsed = [uuid.UUID(job_id) for job_id in ids]
    assert all(u.version == 7 and u.variant == uuid.RFC_4122 for u in parsed)
    assert len(set(ids)) == 3
    earlier, later = uuid7(1_700_000_000_000_000_000), uuid7(1_700_000_000_002_000_000)
    assert earlier < later and earlier[:13] != later[:13]
    assert uuid.UUID(earlier).int >> 80 == 1_700_000_000_000
    sync = await client.post("/v2/ep/runsync?wait=1000", json={"input": 1})
    assert sync.json()["id"].startswith("sync-")
    assert uuid.UUID(sync.json()["id"].removeprefix("sync-")).version == 7
