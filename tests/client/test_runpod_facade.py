"""``runpod.Endpoint`` / ``runpod.AsyncioEndpoint``: RunPod's signatures on pitstop's client,
without the official client's bugs (dropped errors, endless stream on CANCELLED, async
``output()`` timing out at once, async ``run`` unable to send a webhook)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from tests.client.client_support import (
    CLIENT_KEY,
    HANDLER_EP,
    STREAM_EP,
    ThreadServer,
    eventually,
    unique,
)

import runpod
from pitstop.client import Client
from pitstop.errors import JobFailed, Unauthorized
from runpod.http_client import AsyncClientSession

pytestmark = pytest.mark.usefixtures("workers")


@pytest.fixture
def configured(live: ThreadServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """``runpod.api_key`` and ``runpod.endpoint_url_base`` pointed at the live server."""
    monkeypatch.setattr(runpod, "api_key", CLIENT_KEY)
    monkeypatch.setattr(runpod, "endpoint_url_base", f"{live.url}/v2")
    yield live.url


def test_run_status_output(configured: str) -> None:
    endpoint = runpod.Endpoint(HANDLER_EP)
    job = endpoint.run({"return": {"ok": True}})
    assert job.status() in ("IN_QUEUE", "IN_PROGRESS", "COMPLETED")
    assert job.output(timeout=20) == {"ok": True}
    assert job.status() == "COMPLETED"


def test_output_without_timeout_does_not_wait(configured: str) -> None:
    job = runpod.Endpoint(unique("idle")).run({"x": 1})
    assert job.output() is None
    assert job.status() == "IN_QUEUE"
    job.cancel()


def test_run_sync_returns_output_and_raises_on_failure(configured: str) -> None:
    endpoint = runpod.Endpoint(HANDLER_EP)
    assert endpoint.run_sync({"return": 7}, timeout=20) == 7
    with pytest.raises(JobFailed) as info:
        endpoint.run_sync({"raise": "facade-boom"}, timeout=20)
    assert "facade-boom" in (info.value.error or "")


def test_run_wraps_input_unless_it_is_a_submit_body(configured: str) -> None:
    endpoint = runpod.Endpoint(unique("idle"))
    plain = endpoint.run({"prompt": "a"})
    body = endpoint.run({"input": {}, "webhook": "http://127.0.0.1:9/h", "policy": {"ttl": 60000}})
    with Client(configured, CLIENT_KEY) as client:
        assert client.job_record(plain.job_id)["input"] == {"prompt": "a"}
        record = client.job_record(body.job_id)
    assert record["input"] == {}
    assert record["webhook"] == "http://127.0.0.1:9/h"
    assert record["policy"]["ttl"] == 60000


def test_stream_then_health_and_purge(configured: str) -> None:
    job = runpod.Endpoint(STREAM_EP).run({"yield": [1, 2, 3]})
    assert list(job.stream()) == [1, 2, 3]
    assert job.status() == "COMPLETED"
    idle = runpod.Endpoint(unique("idle"))
    idle.run({"x": 1})
    assert idle.health()["jobs"]["inQueue"] == 1
    assert idle.purge_queue()["removed"] == 1


def test_stream_ends_on_cancelled(configured: str) -> None:
    job = runpod.Endpoint(HANDLER_EP).run({"sleep": 30})
    eventually(lambda: job.status() == "IN_PROGRESS")
    reader = threading.Thread(target=lambda: list(job.stream()))
    reader.start()
    assert job.cancel()["status"] == "CANCELLED"
    reader.join(10)
    assert not reader.is_alive(), "stream did not end on CANCELLED"
    assert job.status() == "CANCELLED"


def test_settings_are_read_at_construction(
    configured: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint = runpod.Endpoint(unique("idle"), api_key="wrong")
    with pytest.raises(Unauthorized):
        endpoint.health()
    endpoint = runpod.Endpoint(unique("idle"))
    monkeypatch.setattr(runpod, "endpoint_url_base", "http://127.0.0.1:9/v2")
    assert endpoint.health()["jobs"]["inQueue"] == 0


async def test_asyncio_endpoint(configured: str) -> None:
    async with AsyncClientSession() as session:
        endpoint = runpod.AsyncioEndpoint(HANDLER_EP, session)
        job = await endpoint.run({"return": "async-ok"})
        assert isinstance(job, runpod.AsyncioJob)
        assert await job.output() == "async-ok"
        assert await job.status() == "COMPLETED"
        failing = await endpoint.run({"raise": "async-facade"})
        with pytest.raises(JobFailed):
            await failing.output()
        streamer = runpod.AsyncioEndpoint(STREAM_EP, session)
        streamed = await streamer.run({"yield": ["x", "y"]})
        assert [item async for item in streamed.stream()] == ["x", "y"]
        workers = (await endpoint.health())["workers"]
        assert workers["idle"] + workers["running"] >= 1


async def test_asyncio_run_sends_webhook_and_cancel_ends_stream(configured: str) -> None:
    async with AsyncClientSession() as session:
        idle = runpod.AsyncioEndpoint(unique("idle"), session)
        job = await idle.run({"input": {"a": 1}, "webhook": "http://127.0.0.1:9/h"})
        with Client(configured, CLIENT_KEY) as client:
            record = client.job_record(job.job_id)
        assert record["input"] == {"a": 1}
        assert record["webhook"] == "http://127.0.0.1:9/h"
        assert (await job.cancel())["status"] == "CANCELLED"
        assert [item async for item in job.stream()] == []
        assert (await idle.purge_queue())["removed"] == 0
