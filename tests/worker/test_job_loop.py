"""In-process scaler behaviour that a black-box test cannot force: the refresh race."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.support.platform import FakePlatform

from pitstop.config import WorkerConfig
from pitstop.serverless.job_loop import Scaler
from pitstop.serverless.transport import TakeResult, Transport, Urls


class RacyTransport(Transport):
    """The second take answers with a job just as the worker decides to refresh."""

    scaler: Scaler
    calls = 0

    async def take(self, count: int, in_progress: bool) -> TakeResult:
        self.calls += 1
        if self.calls == 1:
            return TakeResult(jobs=[{"id": "r1", "input": {"refresh": True}}])
        if self.calls == 2:
            self.scaler.request_stop("refresh")
            return TakeResult(jobs=[{"id": "late", "input": {}}])
        raise AssertionError("no take may start after the refresh")


def handler(job: dict[str, Any]) -> Any:
    if job["input"].get("refresh"):
        return {"done": True, "refresh_worker": True}
    return {"late": True}


async def test_job_taken_during_refresh_is_still_run_and_delivered(
    platform: FakePlatform,
) -> None:
    cfg = WorkerConfig.from_env(platform.env())
    transport = RacyTransport(cfg, Urls.from_config(cfg))
    scaler = Scaler({"handler": handler}, transport)
    transport.scaler = scaler
    scaler.concurrency = 2
    try:
        await scaler.take_loop()
        await scaler.drain(None)
    finally:
        await transport.aclose()
    assert transport.calls == 2
    assert platform.results("late")[0].json() == {"output": {"late": True}}
    assert platform.results("r1")[0].json() == {"output": {"done": True}, "stopPod": True}


class OrderTransport(Transport):
    """Scripted takes; records when takes start/end and when result POSTs start."""

    scaler: Scaler
    events: list[str]
    script: list[Any]
    posted: asyncio.Event

    async def take(self, count: int, in_progress: bool) -> TakeResult:
        step = self.script.pop(0)
        self.events.append(f"take>{step['name']}")
        if step.get("hold"):
            await self.posted.wait()  # a held long-poll: answers only after a result POST
        if step.get("stop"):
            self.scaler.request_stop("signal")
        self.events.append(f"<take{step['name']}")
        return TakeResult(jobs=step.get("jobs", []))

    async def post_answer(
        self, url: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        self.events.append(f"post {headers.get('X-Request-ID')}")
        self.posted.set()
        return await super().post_answer(url, body, headers)


async def _run_order(platform: FakePlatform, script: list[Any]) -> list[str]:
    cfg = WorkerConfig.from_env(platform.env())
    transport = OrderTransport(cfg, Urls.from_config(cfg))

    async def quick(job: dict[str, Any]) -> Any:
        await asyncio.sleep(0.005)  # some work: the take loop is parked when the job ends
        return {"id": job["id"]}

    scaler = Scaler({"handler": quick}, transport)
    transport.scaler, transport.events, transport.script = scaler, [], script
    transport.posted = asyncio.Event()
    try:
        await scaler.take_loop()
        await scaler.drain(5.0)
    finally:
        await transport.aclose()
    return transport.events


async def test_next_take_goes_out_before_the_result_while_the_queue_has_work(
    platform: FakePlatform,
) -> None:
    events = await _run_order(
        platform,
        [
            {"name": "1", "jobs": [{"id": "a", "input": {}}]},
            {"name": "2", "jobs": [{"id": "b", "input": {}}]},
            {"name": "3", "stop": True},
        ],
    )
    assert events.index("take>2") < events.index("<take2") < events.index("post a")
    assert platform.results("a")[0].json() == {"output": {"id": "a"}}
    assert platform.results("b")[0].json() == {"output": {"id": "b"}}


async def test_a_held_take_does_not_hold_back_the_result(platform: FakePlatform) -> None:
    events = await _run_order(
        platform,
        [
            {"name": "1", "jobs": [{"id": "a", "input": {}}]},
            {"name": "2", "hold": True, "stop": True},
        ],
    )
    assert events == ["take>1", "<take1", "take>2", "post a", "<take2"]
    assert platform.results("a")[0].json() == {"output": {"id": "a"}}


class OneJobTransport(Transport):
    """The first take returns ``job``; the next one stops the worker."""

    scaler: Scaler
    job: dict[str, Any]
    calls = 0

    async def take(self, count: int, in_progress: bool) -> TakeResult:
        self.calls += 1
        if self.calls == 1:
            return TakeResult(jobs=[self.job])
        self.scaler.request_stop("signal")
        return TakeResult()


def unencodable_chunks(job: dict[str, Any]) -> Any:
    yield "fine"
    yield "lone \ud800 surrogate"
    yield "never sent"


async def test_a_chunk_that_cannot_be_utf8_fails_the_job_with_the_reason(
    platform: FakePlatform,
) -> None:
    cfg = WorkerConfig.from_env(platform.env())
    transport = OneJobTransport(cfg, Urls.from_config(cfg))
    transport.job = {"id": "s1", "input": {}}
    scaler = Scaler({"handler": unencodable_chunks}, transport)
    transport.scaler = scaler
    try:
        await scaler.take_loop()
        await scaler.drain(None)
    finally:
        await transport.aclose()
    assert [r.json() for r in platform.stream_posts("s1")] == [{"output": "fine"}]
    error = platform.results("s1")[0].json()["error"]
    assert error.startswith("Stream output is not JSON serialisable: 'utf-8' codec")


def logs_a_lone_surrogate(job: dict[str, Any]) -> Any:
    from pitstop.serverless import outbox

    box = outbox.lookup(job["id"])
    assert box is not None
    box.log("stdout", "bad \ud800 line")
    return {"ok": True}


async def test_a_log_line_with_a_lone_surrogate_is_sent_with_it_replaced(
    platform: FakePlatform,
) -> None:
    cfg = WorkerConfig.from_env(platform.env())
    transport = OneJobTransport(cfg, Urls.from_config(cfg))
    transport.job = {"id": "l1", "input": {}}
    transport.pitstop = True  # job logs go to a pitstop server only
    scaler = Scaler({"handler": logs_a_lone_surrogate}, transport)
    transport.scaler = scaler
    try:
        await scaler.take_loop()
        await scaler.drain(None)
    finally:
        await transport.aclose()
    assert [r.json() for r in platform.log_posts("l1")] == [
        {"lines": [{"stream": "stdout", "text": "bad ? line"}]}
    ]
    assert platform.results("l1")[0].json() == {"output": {"ok": True}}
