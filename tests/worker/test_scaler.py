"""In-process scaler behaviour that a black-box test cannot force: the refresh race."""

from __future__ import annotations

from typing import Any

from tests.support.platform import FakePlatform

from pitstop.config import WorkerConfig
from pitstop.serverless.scaler import Scaler
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
