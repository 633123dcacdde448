"""The clients on pitstop's additions, through a proxy that breaks connections on purpose:
a submit whose answer is lost is sent again with its Idempotency-Key and makes ONE job;
``job.stream()`` follows Server-Sent Events and resumes a cut stream without loss or
repeats; a server answering JSON only is long-polled; ``runpod.Endpoint`` sends no key
and polls JSON like RunPod's client. Blocking and asyncio clients, a real live server."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from tests.client.client_support import CLIENT_KEY, WORKER_KEY, ThreadServer, unique
from tests.client.proxy import Proxy

import runpod
from pitstop.client import AsyncClient, Client, RetryPolicy

FAST = RetryPolicy(attempts=4, backoff=0.01, max_backoff=0.05)
Q = "gpu=none"


@pytest.fixture
def proxy(live: ThreadServer) -> Iterator[Proxy]:
    p = Proxy(live.url).start()
    yield p
    p.stop()


class Worker:
    """Plays a worker over RunPod's worker API, so the test decides when each chunk lands."""

    def __init__(self, base_url: str, endpoint: str) -> None:
        self.http = httpx.Client(base_url=base_url, headers={"Authorization": WORKER_KEY})
        self.ep = endpoint
        self.id = f"w-{endpoint}"

    def take(self) -> str:
        response = self.http.get(f"/v2/{self.ep}/job-take/{self.id}?{Q}&job_in_progress=0")
        assert response.status_code == 200, response.text
        return str(response.json()["id"])

    def chunk(self, job_id: str, output: Any) -> None:
        url = f"/v2/{self.ep}/job-stream/{self.id}/{job_id}?{Q}&isStream=false"
        assert self.http.post(url, json={"output": output}).status_code == 200

    def done(self, job_id: str, output: Any) -> None:
        url = f"/v2/{self.ep}/job-done/{self.id}/{job_id}?{Q}&isStream=false"
        assert self.http.post(url, json={"output": output}).status_code == 200

    def finish(self, job_id: str, chunks: list[Any]) -> None:
        for item in chunks:
            self.chunk(job_id, item)
        self.done(job_id, None)


def queued(live: ThreadServer, endpoint: str) -> tuple[int, list[str]]:
    """(``/health`` inQueue, ids of the endpoint's jobs), read directly from the server."""
    with Client(live.url, CLIENT_KEY) as direct:
        health = direct.endpoint(endpoint).health()
        ids = [j["id"] for j in direct.jobs(endpoint)["jobs"]]
    return health["jobs"]["inQueue"], ids


def _keys(proxy: Proxy, route: str) -> list[str]:
    lines = [line for head in proxy.requests("POST", route) for line in head.split("\r\n")]
    return [line.split(":", 1)[1].strip() for line in lines if line.startswith("idempotency-key")]


# -- idempotent submits ---------------------------------------------------------------------


def test_submit_whose_answer_is_dropped_is_resent_and_makes_one_job(
    live: ThreadServer, proxy: Proxy
) -> None:
    ep = unique("drop")
    proxy.drop_run_answers = 1
    with Client(proxy.url, CLIENT_KEY, retry=FAST) as client:
        job = client.endpoint(ep).run({"n": 1})
    keys = _keys(proxy, f"/v2/{ep}/run ")
    assert len(keys) == 2 and keys[0] == keys[1]  # resent, with the same key
    assert queued(live, ep) == (1, [job.id])


async def test_async_submit_whose_answer_is_dropped_is_resent_and_makes_one_job(
    live: ThreadServer, proxy: Proxy
) -> None:
    ep = unique("drop")
    proxy.drop_run_answers = 1
    async with AsyncClient(proxy.url, CLIENT_KEY, retry=FAST) as client:
        job = await client.endpoint(ep).run({"n": 1}, idempotency_key=f"mine-{ep}")
    assert _keys(proxy, f"/v2/{ep}/run ") == [f"mine-{ep}"] * 2
    assert queued(live, ep) == (1, [job.id])


def test_same_key_twice_is_one_job_and_runsync_carries_a_key(
    live: ThreadServer, proxy: Proxy
) -> None:
    ep = unique("key")
    with Client(proxy.url, CLIENT_KEY) as client:
        first = client.endpoint(ep).run({"n": 1}, idempotency_key="k1")
        assert client.endpoint(ep).run({"n": 1}, idempotency_key="k1").id == first.id
        worker = Worker(live.url, ep)
        assert worker.take() == first.id
        outputs: list[Any] = []
        runsync = threading.Thread(
            target=lambda: outputs.append(client.endpoint(ep).run_sync({"n": 2}, timeout=10))
        )
        runsync.start()
        worker.done(worker.take(), "synced")
        runsync.join(10)
    assert outputs == ["synced"]
    assert len(_keys(proxy, f"/v2/{ep}/runsync")) == 1
    assert queued(live, ep)[0] == 0


# -- Server-Sent Events ---------------------------------------------------------------------


def test_stream_follows_events_as_chunks_land(live: ThreadServer, proxy: Proxy) -> None:
    ep = unique("sse")
    with Client(proxy.url, CLIENT_KEY) as client:
        job = client.endpoint(ep).run({"n": 1})
        worker = Worker(live.url, ep)
        job_id = worker.take()
        got: list[Any] = []
        reader = threading.Thread(target=lambda: got.extend(job.stream(timeout=10)))
        reader.start()
        worker.finish(job_id, ["a", {"b": 2}, [3]])
        reader.join(10)
    assert got == ["a", {"b": 2}, [3]]
    assert job.last is not None and job.last["status"] == "COMPLETED"
    assert all("text/event-stream" in h for h in proxy.requests("GET", "/stream/"))


def test_cut_stream_resumes_without_loss_or_repeats(live: ThreadServer, proxy: Proxy) -> None:
    ep = unique("cut")
    proxy.cut_event_streams, proxy.cut_at = 2, 3
    with Client(proxy.url, CLIENT_KEY, retry=FAST) as client:
        job = client.endpoint(ep).run({"n": 1})
        worker = Worker(live.url, ep)
        worker.finish(worker.take(), list(range(8)))
        assert list(job.stream(timeout=10)) == list(range(8))
    streams = proxy.requests("GET", "/stream/")
    assert len(streams) == 3
    assert "last-event-id: 1" in streams[1] and "last-event-id: 3" in streams[2]


async def test_async_cut_stream_resumes_without_loss_or_repeats(
    live: ThreadServer, proxy: Proxy
) -> None:
    ep = unique("cut")
    proxy.cut_event_streams = 1
    async with AsyncClient(proxy.url, CLIENT_KEY, retry=FAST) as client:
        job = await client.endpoint(ep).run({"n": 1})
        worker = Worker(live.url, ep)
        worker.finish(worker.take(), ["x", "y", "z", "w"])
        assert [item async for item in job.stream(timeout=10)] == ["x", "y", "z", "w"]
        assert job.last is not None and job.last["status"] == "COMPLETED"
    assert "last-event-id: 1" in proxy.requests("GET", "/stream/")[1]


def test_server_answering_json_only_is_polled(live: ThreadServer, proxy: Proxy) -> None:
    ep = unique("json")
    proxy.strip_sse = True
    with Client(proxy.url, CLIENT_KEY, poll_wait=1.0) as client:
        job = client.endpoint(ep).run({"n": 1})
        worker = Worker(live.url, ep)
        worker.finish(worker.take(), [1, 2, 3])
        assert list(job.stream(timeout=10)) == [1, 2, 3]
    assert any("wait=" in h for h in proxy.requests("GET", "/stream/"))


async def test_async_server_answering_json_only_is_polled(live: ThreadServer, proxy: Proxy) -> None:
    ep = unique("json")
    proxy.strip_sse = True
    async with AsyncClient(proxy.url, CLIENT_KEY, poll_wait=1.0) as client:
        job = await client.endpoint(ep).run({"n": 1})
        worker = Worker(live.url, ep)
        worker.finish(worker.take(), [1, 2, 3])
        assert [item async for item in job.stream(timeout=10)] == [1, 2, 3]


# -- runpod.Endpoint keeps RunPod's behaviour ------------------------------------------------


@pytest.fixture
def via_proxy(proxy: Proxy, monkeypatch: pytest.MonkeyPatch) -> Proxy:
    monkeypatch.setattr(runpod, "api_key", CLIENT_KEY)
    monkeypatch.setattr(runpod, "endpoint_url_base", f"{proxy.url}/v2")
    return proxy


def _runpod_like(proxy: Proxy, ep: str) -> None:
    assert _keys(proxy, f"/v2/{ep}/run ") == []
    streams = proxy.requests("GET", f"/v2/{ep}/stream/")
    assert streams and not any("text/event-stream" in h for h in streams)


def test_runpod_endpoint_sends_no_key_and_polls_json(live: ThreadServer, via_proxy: Proxy) -> None:
    ep = unique("rp")
    job = runpod.Endpoint(ep).run({"n": 1})
    worker = Worker(live.url, ep)
    worker.finish(worker.take(), ["a", "b"])
    assert list(job.stream()) == ["a", "b"]
    _runpod_like(via_proxy, ep)


async def test_runpod_asyncio_endpoint_sends_no_key_and_polls_json(
    live: ThreadServer, via_proxy: Proxy
) -> None:
    ep = unique("rp")
    async with runpod.AsyncioEndpoint(ep, None) as endpoint:
        job = await endpoint.run({"n": 1})
        worker = Worker(live.url, ep)
        worker.finish(worker.take(), ["a", "b"])
        assert [item async for item in job.stream()] == ["a", "b"]
    _runpod_like(via_proxy, ep)
