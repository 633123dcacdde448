"""Webhooks for every terminal state, delivered to a real receiver, retried on failure."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
from server_support import Receiver, Worker, eventually  # type: ignore[import-not-found]

from pitstop.server.runner import RunningServer

Start = Callable[..., Awaitable[RunningServer]]


async def test_webhook_for_every_terminal_state(client: httpx.AsyncClient, worker: Worker) -> None:
    async with Receiver() as hook:

        def submit(body: dict[str, object]) -> Awaitable[httpx.Response]:
            return client.post("/v2/ep/run", json={"webhook": hook.url, **body})

        done = (await submit({"input": {"k": "done"}})).json()["id"]
        failed = (await submit({"input": {"k": "failed"}})).json()["id"]
        await worker.take_job()
        await worker.done(done, {"output": {"r": 1}})
        await worker.take_job()
        await worker.done(failed, {"error": "boom"})
        cancelled = (await submit({"input": {"k": "cancelled"}})).json()["id"]
        await client.post(f"/v2/ep/cancel/{cancelled}")
        timed = (await submit({"input": {"k": "timed"}, "policy": {"ttl": 20}})).json()["id"]

        async def all_arrived() -> bool:
            return len(hook.bodies) >= 4

        await eventually(all_arrived)
        by_id = {b["id"]: b for b in hook.bodies}
        assert by_id[done]["status"] == "COMPLETED" and by_id[done]["output"] == {"r": 1}
        assert by_id[done]["input"] == {"k": "done"} and by_id[done]["webhook"] == hook.url
        assert "executionTime" in by_id[done] and by_id[done]["workerId"] == "w1"
        assert by_id[failed]["status"] == "FAILED" and by_id[failed]["error"] == "boom"
        assert by_id[cancelled]["status"] == "CANCELLED"
        assert by_id[timed]["status"] == "TIMED_OUT"


async def test_webhook_retried_until_delivered(start: Start) -> None:
    server = await start(webhook_attempts=3, webhook_backoff=0.01)
    async with Receiver(failures=2) as hook, httpx.AsyncClient(base_url=server.url) as c:
        job_id = (await c.post("/v2/ep/run", json={"input": 1, "webhook": hook.url})).json()["id"]
        await c.post(f"/v2/ep/cancel/{job_id}")

        async def delivered() -> bool:
            # The outcome is recorded after the receiver answered: wait for the record.
            deliveries = await server.store.webhook_deliveries(job_id)
            return bool(deliveries) and deliveries[0].delivered

        await eventually(delivered)
        assert hook.requests == 3 and hook.bodies[0]["id"] == job_id
        deliveries = await server.store.webhook_deliveries(job_id)
        assert len(deliveries) == 1 and deliveries[0].attempts == 3


async def test_webhook_gives_up_after_attempts(start: Start) -> None:
    server = await start(webhook_attempts=2, webhook_backoff=0.01)
    async with Receiver(failures=10) as hook, httpx.AsyncClient(base_url=server.url) as c:
        job_id = (await c.post("/v2/ep/run", json={"input": 1, "webhook": hook.url})).json()["id"]
        await c.post(f"/v2/ep/cancel/{job_id}")

        async def given_up() -> bool:
            deliveries = await server.store.webhook_deliveries(job_id)
            return bool(deliveries) and deliveries[0].attempts == 2

        await eventually(given_up)
        deliveries = await server.store.webhook_deliveries(job_id)
        assert not deliveries[0].delivered and "500" in str(deliveries[0].last_error)
        assert [d for d in await server.store.due_webhooks(10**12, 100) if d.job_id == job_id] == []
        assert hook.requests == 2
