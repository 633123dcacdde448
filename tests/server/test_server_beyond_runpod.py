"""Beyond RunPod's client API: Server-Sent-Event streams, idempotent submissions, signed
webhooks. SSE runs on SQLite and across two servers sharing one Redis."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from server_support import Receiver, Worker, eventually  # type: ignore[import-not-found]
from standardwebhooks import Webhook

from pitstop.errors import WebhookVerificationError
from pitstop.server.runner import RunningServer
from pitstop.webhooks import new_secret, verify

Start = Callable[..., Awaitable[RunningServer]]
SSE = {"Accept": "text/event-stream"}
REDIS_URL = "redis://127.0.0.1:6379/15"


async def events(response: httpx.Response) -> AsyncIterator[dict[str, str]]:
    """Parse a ``text/event-stream`` body into events (comments as ``{"comment": ...}``)."""
    event: dict[str, str] = {}
    async for line in response.aiter_lines():
        if line.startswith(":"):
            yield {"comment": line[1:].strip()}
        elif not line:
            if event:
                yield event
            event = {}
        else:
            name, _, value = line.partition(":")
            event[name] = value.removeprefix(" ")


async def read_all(client: httpx.AsyncClient, url: str, **headers: str) -> list[dict[str, str]]:
    """Every event of one SSE response until the server closes it (comments dropped)."""
    async with client.stream("GET", url, headers={**SSE, **headers}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        return [e async for e in events(response) if "comment" not in e]


async def running_job(client: httpx.AsyncClient, worker: Worker) -> str:
    job_id: str = (await client.post("/v2/ep/run", json={"input": 1})).json()["id"]
    assert (await worker.take_job())["id"] == job_id
    return job_id


def chunk_events(got: list[dict[str, str]]) -> list[tuple[str, Any]]:
    return [(e["id"], json.loads(e["data"])["output"]) for e in got if "id" in e]


# -- Server-Sent Events -----------------------------------------------------------------------


async def test_sse_sends_every_chunk_then_the_status_and_closes(
    client: httpx.AsyncClient, worker: Worker
) -> None:
    job_id = await running_job(client, worker)
    reader = asyncio.create_task(read_all(client, f"/v2/ep/stream/{job_id}"))
    for part in ("a", {"b": 2}, "c"):
        assert (await worker.stream(job_id, {"output": part})).status_code == 200
    assert (await worker.done(job_id, {"output": "all"})).status_code == 200
    got = await asyncio.wait_for(reader, 10)
    assert chunk_events(got) == [("0", "a"), ("1", {"b": 2}), ("2", "c")]
    assert got[-1]["event"] == "status"
    final = json.loads(got[-1]["data"])
    assert final["status"] == "COMPLETED" and final["output"] == "all"


async def test_sse_resumes_after_last_event_id_and_after_the_job_finished(
    client: httpx.AsyncClient, worker: Worker
) -> None:
    job_id = await running_job(client, worker)
    for n in range(5):
        await worker.stream(job_id, {"output": n})
    await worker.done(job_id, {"output": None})
    resumed = await read_all(client, f"/v2/ep/stream/{job_id}", **{"Last-Event-ID": "2"})
    assert chunk_events(resumed) == [("3", 3), ("4", 4)]
    whole = await read_all(client, f"/v2/ep/stream/{job_id}")  # a reader after the end
    assert [n for _, n in chunk_events(whole)] == [0, 1, 2, 3, 4]
    bad = await client.get(f"/v2/ep/stream/{job_id}", headers={**SSE, "Last-Event-ID": "x"})
    assert bad.status_code == 400 and "Last-Event-ID" in bad.json()["error"]["message"]


async def test_two_sse_readers_and_a_json_reader_are_independent(
    client: httpx.AsyncClient, worker: Worker
) -> None:
    job_id = await running_job(client, worker)
    readers = [asyncio.create_task(read_all(client, f"/v2/ep/stream/{job_id}")) for _ in range(2)]
    await worker.stream(job_id, {"output": "x"})
    json_read = (await client.get(f"/v2/ep/stream/{job_id}")).json()  # consumes the cursor
    assert [c["output"] for c in json_read["stream"]] == ["x"]
    await worker.stream(job_id, {"output": "y"})
    await worker.done(job_id, {"output": "done"})
    for reader in readers:
        assert chunk_events(await asyncio.wait_for(reader, 10)) == [("0", "x"), ("1", "y")]
    rest = (await client.get(f"/v2/ep/stream/{job_id}")).json()
    assert [c["output"] for c in rest["stream"]] == ["y"]  # the JSON cursor moved on its own


async def test_sse_heartbeats_while_the_job_waits_and_wrong_endpoint_is_404(
    start: Start,
) -> None:
    server = await start(sse_heartbeat=0.05)
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        job_id = (await client.post("/v2/ep/run", json={"input": 1})).json()["id"]
        async with client.stream("GET", f"/v2/ep/stream/{job_id}", headers=SSE) as response:
            first = await anext(events(response))
        assert first == {"comment": "keep-alive"}
        other = await client.get(f"/v2/other/stream/{job_id}", headers=SSE)
        assert other.status_code == 404


async def test_sse_across_two_servers_on_redis(start: Start) -> None:
    if not os.environ.get("CI"):
        pytest.importorskip("redis")
    store = f"{REDIS_URL}?prefix=sse-{uuid.uuid4().hex[:8]}"
    submit_side, stream_side = await start(store_url=store), await start(store_url=store)
    async with (
        httpx.AsyncClient(base_url=submit_side.url, timeout=10) as a,
        httpx.AsyncClient(base_url=stream_side.url, timeout=10) as b,
    ):
        worker = Worker(a, "ep", "w-redis")
        job_id = await running_job(a, worker)
        reader = asyncio.create_task(read_all(b, f"/v2/ep/stream/{job_id}"))
        for part in ("r1", "r2"):
            await worker.stream(job_id, {"output": part})
        await worker.done(job_id, {"output": "fin"})
        got = await asyncio.wait_for(reader, 10)
        assert chunk_events(got) == [("0", "r1"), ("1", "r2")]
        assert json.loads(got[-1]["data"])["status"] == "COMPLETED"


# -- Idempotency keys ---------------------------------------------------------------------------


async def test_a_repeated_key_returns_the_original_job(client: httpx.AsyncClient) -> None:
    key = {"Idempotency-Key": f"order-{uuid.uuid4()}"}
    first = (await client.post("/v2/ep/run", json={"input": {"n": 1}}, headers=key)).json()
    again = (await client.post("/v2/ep/run", json={"input": {"n": 1}}, headers=key)).json()
    assert again["id"] == first["id"]
    other = await client.post("/v2/ep/run", json={"input": {"n": 2}}, headers=key)
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_conflict"
    elsewhere = await client.post("/v2/ep2/run", json={"input": {"n": 2}}, headers=key)
    assert elsewhere.status_code == 200  # keys are per endpoint


async def test_concurrent_submissions_with_one_key_make_one_job(
    client: httpx.AsyncClient,
) -> None:
    key = {"Idempotency-Key": f"burst-{uuid.uuid4()}"}
    answers = await asyncio.gather(
        *(client.post("/v2/burst/run", json={"input": 7}, headers=key) for _ in range(25))
    )
    assert {r.status_code for r in answers} == {200}
    assert len({r.json()["id"] for r in answers}) == 1
    health = (await client.get("/v2/burst/health")).json()
    assert health["jobs"]["inQueue"] == 1


async def test_runsync_with_a_used_key_waits_for_the_original(
    client: httpx.AsyncClient, worker: Worker
) -> None:
    key = {"Idempotency-Key": f"sync-{uuid.uuid4()}"}
    first = (await client.post("/v2/ep/run", json={"input": 3}, headers=key)).json()
    waiting = asyncio.create_task(
        client.post("/v2/ep/runsync?wait=10000", json={"input": 3}, headers=key)
    )
    taken = await worker.take_job()
    assert taken["id"] == first["id"]
    await worker.done(first["id"], {"output": "three"})
    body = (await waiting).json()
    assert body["id"] == first["id"] and body["output"] == "three"


async def test_bad_idempotency_keys_are_400(client: httpx.AsyncClient) -> None:
    for bad in ("", "x" * 256, "has space"):
        answer = await client.post(
            "/v2/ep/run", json={"input": 1}, headers={"Idempotency-Key": bad}
        )
        assert answer.status_code == 400 and "Idempotency-Key" in answer.json()["error"]["message"]


# -- Signed webhooks ----------------------------------------------------------------------------


async def test_signed_webhooks_verify_and_keep_their_id_across_retries(start: Start) -> None:
    secret = new_secret()
    server = await start(webhook_secret=secret, webhook_allow=("127.0.0.1",))
    async with (
        Receiver(failures=1) as receiver,
        httpx.AsyncClient(base_url=server.url, timeout=10) as client,
    ):
        body = {"input": 1, "webhook": receiver.url}
        job_id = (await client.post("/v2/ep/run", json=body)).json()["id"]
        worker = Worker(client, "ep", "w-hook")
        await worker.take_job()
        await worker.done(job_id, {"output": "signed"})
        await eventually(lambda: _settled(receiver), timeout=10)
    (first_headers, _), (headers, raw) = receiver.raw
    assert first_headers["webhook-id"] == headers["webhook-id"]  # stable across the retry
    assert verify(secret, headers, raw)["output"] == "signed"
    assert Webhook(secret).verify(raw, headers)["id"] == job_id  # the standard library agrees
    with pytest.raises(WebhookVerificationError):
        verify(secret, headers, raw.replace(b"signed", b"forged"))


async def _settled(receiver: Receiver) -> bool:
    return len(receiver.raw) >= 2


async def test_a_malformed_secret_stops_the_server_start(start: Start) -> None:
    from pitstop.errors import ConfigError

    with pytest.raises(ConfigError, match="whsec_"):
        await start(webhook_secret="not a secret")
