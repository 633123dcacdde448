"""Every error answers ``{"error": {"code", "message"}}`` with the right status."""

from __future__ import annotations

import asyncio

import httpx
from server_support import Worker  # type: ignore[import-not-found]

from pitstop.server.runner import RunningServer


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"]["code"] == code and isinstance(body["error"]["message"], str)


async def test_bad_requests(client: httpx.AsyncClient) -> None:
    assert_error(await client.post("/v2/ep/run", content=b"{not json"), 400, "bad_request")
    assert_error(await client.post("/v2/ep/run", json={"inpt": 1}), 400, "bad_request")
    assert_error(await client.post("/v2/ep/run", json=[1]), 400, "bad_request")
    assert_error(await client.post("/v2/ep/run"), 400, "bad_request")
    bad_policy = {"input": 1, "policy": {"executionTimeout": "soon"}}
    assert_error(await client.post("/v2/ep/runsync", json=bad_policy), 400, "bad_request")
    assert_error(
        await client.post("/v2/ep/run", json={"input": 1, "webhook": 5}), 400, "bad_request"
    )
    assert_error(
        await client.post("/v2/ep/runsync?wait=abc", json={"input": 1}), 400, "bad_request"
    )
    assert_error(await client.get("/pitstop/v1/jobs?limit=x"), 400, "bad_request")


async def test_not_found(client: httpx.AsyncClient, worker: Worker) -> None:
    for path in ("status/nope", "status-sync/nope", "stream/nope"):
        assert_error(await client.get(f"/v2/ep/{path}"), 404, "not_found")
    for path in ("cancel/nope", "retry/nope"):
        assert_error(await client.post(f"/v2/ep/{path}"), 404, "not_found")
    assert_error(await client.get("/v2/ep/no-such-route"), 404, "not_found")
    assert_error(await client.get("/nothing/here"), 404, "not_found")
    assert_error(await worker.done("nope", {"output": 1}), 404, "not_found")
    assert_error(await client.get("/pitstop/v1/jobs/nope"), 404, "not_found")
    assert_error(await client.get("/v2/ep/run"), 405, "method_not_allowed")
    job_id = (await client.post("/v2/ep/run", json={"input": 1})).json()["id"]
    for path in (f"status/{job_id}", f"stream/{job_id}", f"status-sync/{job_id}?wait=1000"):
        assert_error(await client.get(f"/v2/other/{path}"), 404, "not_found")
    assert_error(await client.post(f"/v2/other/cancel/{job_id}"), 404, "not_found")
    assert (await client.get(f"/v2/ep/status/{job_id}")).json()["status"] == "IN_QUEUE"


async def test_body_limits(start: object) -> None:
    server: RunningServer = await start(max_run_body=100, max_runsync_body=200)  # type: ignore[operator]
    async with httpx.AsyncClient(base_url=server.url) as c:
        mid = {"input": "x" * 150}
        assert_error(await c.post("/v2/ep/run", json=mid), 413, "payload_too_large")
        big = {"input": "x" * 250}
        assert_error(await c.post("/v2/ep/runsync", json=big), 413, "payload_too_large")

        async def chunked() -> object:
            for _ in range(10):
                yield b'{"input": "' + b"y" * 30 + b'"}'

        streamed = await c.post("/v2/ep/run", content=chunked())
        assert_error(streamed, 413, "payload_too_large")
        worker = Worker(c, "ep", "w")

        async def serve_one() -> None:
            job = await worker.take_job()
            await worker.done(job["id"], {"output": len(job["input"])})

        served = asyncio.create_task(serve_one())
        ok = await c.post("/v2/ep/runsync", json=mid)  # over the run limit, under runsync's
        await served
        assert ok.status_code == 200 and ok.json()["output"] == 150


async def test_queue_full_is_429_with_retry_after(start: object) -> None:
    server: RunningServer = await start(max_queue=1)  # type: ignore[operator]
    async with httpx.AsyncClient(base_url=server.url) as c:
        assert (await c.post("/v2/ep/run", json={"input": 1})).status_code == 200
        full = await c.post("/v2/ep/run", json={"input": 2})
        assert_error(full, 429, "queue_full")
        assert int(full.headers["retry-after"]) >= 1
        assert (await c.post("/v2/other/run", json={"input": 3})).status_code == 200


async def test_keys(start: object) -> None:
    server: RunningServer = await start(client_keys=("ck",), worker_keys=("wk",))  # type: ignore[operator]
    async with httpx.AsyncClient(base_url=server.url) as c:
        assert_error(await c.get("/v2/ep/health"), 401, "unauthorized")
        assert_error(
            await c.get("/v2/ep/health", headers={"Authorization": "Bearer no"}),
            401,
            "unauthorized",
        )
        assert_error(
            await c.get("/v2/ep/health", headers={"Authorization": "wk"}), 401, "unauthorized"
        )
        assert (
            await c.get("/v2/ep/health", headers={"Authorization": "Bearer ck"})
        ).status_code == 200
        assert (await c.get("/v2/ep/health", headers={"Authorization": "ck"})).status_code == 200
        assert_error(await c.get("/metrics"), 401, "unauthorized")
        anonymous = Worker(c, "ep", "w")
        assert_error(await anonymous.ping(), 401, "unauthorized")
        assert (await Worker(c, "ep", "w", key="wk").ping()).status_code == 200
        assert (await Worker(c, "ep", "w", key="Bearer wk").ping()).status_code == 200
        assert (await Worker(c, "ep", "w", key="ck").ping()).status_code == 200


async def test_stale_attempt_is_409(client: httpx.AsyncClient, worker: Worker) -> None:
    run = await client.post("/v2/ep/run", json={"input": 1})
    job_id = run.json()["id"]
    job = await worker.take_job()
    assert_error(
        await worker.done(job_id, {"output": 1}, attempt=job["attempt"] + 1), 409, "stale_attempt"
    )
    assert_error(
        await worker.done(job_id, {"output": 1}, worker_id="intruder"), 409, "stale_attempt"
    )
    assert_error(await worker.stream(job_id, {"output": 1}, attempt=99), 409, "stale_attempt")
    assert_error(await worker.done(job_id, {"output": 1}, attempt="x"), 400, "bad_request")  # type: ignore[arg-type]
    assert (await worker.done(job_id, {"output": 1}, attempt=job["attempt"])).status_code == 200


async def test_openapi_documents_errors(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    run = spec["paths"]["/v2/{endpoint_id}/run"]["post"]
    assert {"400", "401", "404", "413", "429", "500"} <= set(run["responses"])
    assert "422" not in run["responses"]
    done = spec["paths"]["/v2/{endpoint_id}/job-done/{worker_id}/{job_id}"]["post"]
    assert "409" in done["responses"]
    assert (await client.get("/docs")).status_code == 200
