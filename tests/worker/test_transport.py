"""URL building (spec §4.2, §4.8), take-answer parsing and backoff."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

import pitstop
from pitstop.config import WorkerConfig
from pitstop.serverless.backoff import Backoff
from pitstop.serverless.transport import Urls, parse_jobs, parse_stop_ids, user_agent
from pitstop.serverless.version import runpod_version

BASE = "http://h/v2/ep"


def urls(**kw: Any) -> Urls:
    cfg = WorkerConfig(
        job_take_url=f"{BASE}/job-take/$ID?gpu=T",
        job_done_url=f"{BASE}/job-done/$RUNPOD_POD_ID/$ID?gpu=T",
        job_stream_url=f"{BASE}/job-stream/$RUNPOD_POD_ID/$ID?gpu=T",
        ping_url=f"{BASE}/ping/$RUNPOD_POD_ID?gpu=T",
        worker_id="pod1",
    )
    for key, value in kw.items():
        setattr(cfg, key, value)
    return Urls.from_config(cfg)


def test_take_urls() -> None:
    u = urls()
    assert u.take_url(1, False) == f"{BASE}/job-take/pod1?gpu=T&job_in_progress=0"
    assert u.take_url(1, True) == f"{BASE}/job-take/pod1?gpu=T&job_in_progress=1"
    assert u.take_url(3, False) == (
        f"{BASE}/job-take-batch/pod1?gpu=T&batch_size=3&job_in_progress=0"
    )


def test_only_id_is_substituted_in_take_url() -> None:
    u = urls(job_take_url=f"{BASE}/job-take/$RUNPOD_POD_ID?gpu=T")
    assert u.take == f"{BASE}/job-take/$RUNPOD_POD_ID?gpu=T"


def test_stop_url_and_disabled_stop() -> None:
    assert urls().stop == f"{BASE}/job-stop/pod1?gpu=T"
    assert urls(job_take_url="http://h/take?x=1").stop is None


def test_result_stream_log_urls() -> None:
    u = urls()
    assert u.result_url("j1", False) == f"{BASE}/job-done/pod1/j1?gpu=T&isStream=false"
    assert u.result_url("j1", True) == f"{BASE}/job-done/pod1/j1?gpu=T&isStream=true"
    assert u.stream_url("j1") == f"{BASE}/job-stream/pod1/j1?gpu=T&isStream=false"
    assert u.log_url("j1") == f"{BASE}/job-log/pod1/j1?gpu=T"


def test_ping_url() -> None:
    u = urls(restarts=2, gpus="0,1")
    assert u.ping_url([]) == f"{BASE}/ping/pod1?gpu=T&runpod_version={runpod_version}"
    assert u.ping_url(["a", "b"]) == (
        f"{BASE}/ping/pod1?gpu=T&job_id=a%2Cb&runpod_version={runpod_version}"
    )
    pitstop = u.ping_url([], process=True)  # a pitstop server: the process is named too
    assert pitstop == f"{BASE}/ping/pod1?gpu=T&runpod_version={runpod_version}&{u.process}"


def test_ping_names_the_worker_process() -> None:
    import os
    import socket
    import time
    from urllib.parse import parse_qs

    u = urls(restarts=2, gpus="0,1")
    sent = {k: v[0] for k, v in parse_qs(u.process).items()}
    assert sent["pitstop_pid"] == str(os.getpid())
    assert sent["pitstop_host"] == socket.gethostname()
    assert abs(float(sent["pitstop_started"]) - time.time()) < 60
    assert (sent["pitstop_restarts"], sent["pitstop_gpus"]) == ("2", "0,1")
    assert "pitstop_restarts" not in urls().process


def test_user_agent_prefix() -> None:
    assert user_agent().startswith(f"RunPod-Python-SDK/{runpod_version} (")
    assert runpod_version == "1.12.0"  # the SDK version, as the official worker reports it
    assert user_agent().endswith(f" pitstop/{pitstop.__version__}")


def _response(body: bytes, ctype: str = "application/json") -> httpx.Response:
    return httpx.Response(200, content=body, headers={"content-type": ctype})


def test_parse_jobs() -> None:
    assert parse_jobs(_response(b'{"id": "a", "input": null}')) == [{"id": "a", "input": None}]
    assert parse_jobs(_response(b'[{"id": "a"}, {"id": "b", "input": 1}]')) == [
        {"id": "a"},
        {"id": "b", "input": 1},
    ]
    assert parse_jobs(_response(b"[]")) == []
    assert parse_jobs(_response(b"null")) == []
    assert parse_jobs(_response(b"{bad")) == []
    assert parse_jobs(_response(b'{"id": "a", "input": 1}', "text/plain")) == []
    with pytest.raises(ValueError, match=r"missing field\(s\): id or input"):
        parse_jobs(_response(b'{"input": {}}'))


def test_parse_stop_ids_drops_non_strings() -> None:
    assert parse_stop_ids(_response(b'{"jobsToStop": ["a1", "zzz", 5]}')) == ["a1", "zzz"]
    assert parse_stop_ids(_response(b'{"jobsToStop": "a1"}')) == []
    assert parse_stop_ids(_response(b"nope")) == []


def test_backoff_is_bounded_exponential_with_jitter() -> None:
    backoff = Backoff(0.1, 1.0)
    waits = [backoff.next() for _ in range(8)]
    assert 0.05 <= waits[0] <= 0.1
    assert 0.1 <= waits[1] <= 0.2
    assert all(w <= 1.0 for w in waits) and waits[-1] >= 0.5
    backoff.reset()
    assert backoff.next() <= 0.1


def _transport(reply: Any) -> Any:
    from pitstop.serverless.transport import Transport

    cfg = WorkerConfig(
        job_take_url=f"{BASE}/job-take/$ID?gpu=T",
        worker_id="pod1",
        backoff_base=0.1,
        backoff_max=10.0,
        rate_limit_wait=5.0,
    )
    transport = Transport(cfg, Urls.from_config(cfg))
    transport.client = httpx.AsyncClient(transport=httpx.MockTransport(reply))
    return transport


async def test_take_classification() -> None:
    import asyncio

    answers: list[httpx.Response] = []

    async def reply(request: httpx.Request) -> httpx.Response:
        response = answers.pop(0)
        if response.headers.get("x-hold"):
            await asyncio.sleep(0.06)
        return response

    transport = _transport(reply)
    answers.append(httpx.Response(204))
    assert 0.05 <= (await transport.take(1, False)).wait <= 0.1
    answers.append(httpx.Response(204, headers={"x-hold": "1"}))
    assert (await transport.take(1, False)).wait == 0.0
    answers.append(httpx.Response(429))
    assert (await transport.take(1, False)).wait == 5.0
    for _ in range(6):
        answers.append(httpx.Response(500))
        failed = await transport.take(1, False)
    assert failed.failed and 1.6 <= failed.wait <= 3.2
    answers.append(
        httpx.Response(200, json={"id": "a", "input": 1}, headers={"X-Pitstop-Server": "0.1"})
    )
    taken = await transport.take(2, True)
    assert taken.jobs == [{"id": "a", "input": 1}] and taken.wait == 0.0
    assert transport.pitstop is True
    for _ in range(8):
        answers.append(httpx.Response(204))
        empty = await transport.take(1, False)
    assert empty.wait <= 1.0  # instant empty answers back off, but stay responsive
    await transport.aclose()


async def test_result_post_retries_5xx_only() -> None:
    calls: list[int] = []
    statuses = [502, 503, 200, 400]

    def reply(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(statuses.pop(0))

    transport = _transport(reply)
    transport.cfg.result_backoff = 0.001
    assert await transport.post("http://h/x", b"{}", {}) == 200
    assert len(calls) == 3
    assert await transport.post("http://h/x", b"{}", {}) == 400
    assert len(calls) == 4
    await transport.aclose()


def test_ping_id_list_is_capped_at_a_comma() -> None:
    from urllib.parse import parse_qs, urlsplit

    ids = [f"job-{i:05d}" for i in range(2000)]
    query = parse_qs(urlsplit(urls().ping_url(ids)).query)
    sent = query["job_id"][0].split(",")
    assert 0 < len(sent) < 2000 and sent == ids[: len(sent)]


def _platform_transport(platform: Any, **overrides: Any) -> Any:
    from pitstop.serverless.transport import Transport

    cfg = WorkerConfig.from_env(platform.env(pod_id="pod1"))
    for name, value in overrides.items():
        setattr(cfg, name, value)
    return Transport(cfg, Urls.from_config(cfg))


async def test_take_and_stop_poll_wait_out_a_503_as_retry_after_says(platform: Any) -> None:
    from tests.support.platform import Reply

    unavailable = Reply(503, {"error": {"code": "store_unavailable"}}, headers={"Retry-After": "3"})
    platform.script("take", unavailable)
    platform.script("stop", unavailable)
    transport = _platform_transport(platform, backoff_base=0.01)
    taken = await transport.take(1, False)
    assert taken.failed and taken.wait == 3.0  # not the 10 ms backoff
    assert await transport.stop_poll() == ([], 3.0)
    await transport.aclose()


async def test_result_post_outlives_503s_without_using_up_attempts(platform: Any) -> None:
    import time

    from tests.support.platform import Reply

    platform.script("done", Reply(503, headers={"Retry-After": "1"}), Reply(500))
    transport = _platform_transport(platform, result_attempts=2, result_backoff=0.01)
    started = time.monotonic()
    url = transport.urls.result_url("j1", False)
    assert await transport.post(url, b'{"output": 1}', {}) == 200
    assert time.monotonic() - started >= 1.0  # waited as the server asked
    assert len(platform.results("j1")) == 3  # 503 (waited out), 500 (one attempt), 200
    transport.cfg.unavailable_wait = 0.5  # a hint beyond the budget is an ordinary failure
    platform.script("done", Reply(503, headers={"Retry-After": "1"}), Reply(503))
    assert await transport.post(url, b'{"output": 1}', {}) == 503
    await transport.aclose()


async def test_a_pitstop_server_is_told_the_process_at_once() -> None:
    seen: list[str] = []

    async def reply(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, headers={"X-Pitstop-Server": "0.1"})

    transport = _transport(reply)
    transport.urls.ping = f"{BASE}/ping/pod1"
    assert await transport.ping([], 1.0) == 200
    assert len(seen) == 2 and "pitstop_pid" not in seen[0] and "pitstop_pid=" in seen[1]
    assert await transport.ping([], 1.0) == 200
    assert len(seen) == 3 and "pitstop_pid=" in seen[2]
    await transport.aclose()


async def test_a_batch_post_that_raises_reaches_every_waiting_result() -> None:
    """An unexpected error while posting a batch is each job's own error, not a hang."""
    import asyncio

    from pitstop.serverless.done_batch import DoneBatcher

    class Raising:
        pitstop = True

        async def post_answer(self, url: str, body: bytes, headers: dict[str, str]) -> Any:
            if "batch" in url:
                raise RuntimeError("boom")
            await asyncio.sleep(0.01)
            return 200, b"{}"

    batcher = DoneBatcher(Raising(), "http://x/v2/ep/job-done-batch/w")  # type: ignore[arg-type]
    first = asyncio.create_task(batcher.post({"id": "a"}, "http://x/a", b"{}", {}))
    await asyncio.sleep(0)
    rest = [asyncio.create_task(batcher.post({"id": i}, f"http://x/{i}", b"{}", {})) for i in "bc"]
    assert await first == (200, b"{}")
    for task in rest:
        with pytest.raises(RuntimeError, match="boom"):
            await asyncio.wait_for(task, 2)
