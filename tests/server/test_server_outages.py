"""Store outages answer 503 ``store_unavailable`` with ``Retry-After``; the server recovers by
itself when the store returns, and nothing acknowledged is lost.

Real outages only: SQLite on a small tmpfs the test fills up or remounts read-only, and a
``redis-server`` of the test's own that it kills, pauses and restarts.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from server_support import Worker, eventually  # type: ignore[import-not-found]
from tests.support.outages import RedisProcess, Tmpfs
from tests.support.servers import ServerProcess

from pitstop.server.runner import RunningServer

Start = Callable[..., Awaitable[RunningServer]]
BIG = "x" * 1_000_000
"""An input that needs new pages in the database: it cannot fit on a full disk."""


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Tmpfs]:
    fs = Tmpfs(tmp_path / "fs", size="4m")
    yield fs
    fs.close()


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "store_unavailable"
    assert int(response.headers["retry-after"]) >= 1


async def test_sqlite_disk_full_answers_503_and_recovers(start: Start, tmpfs: Tmpfs) -> None:
    server = await start(store_url=f"sqlite:///{tmpfs.path}/pitstop.db")
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as c:
        worker = Worker(c, "ep", "w1")
        acked = (await c.post("/v2/ep/run", json={"input": {"n": 1}})).json()["id"]
        assert (await worker.take_job())["id"] == acked
        tmpfs.fill()

        assert_unavailable(await c.post("/v2/ep/run", json={"input": BIG}))
        assert_unavailable(await worker.done(acked, {"output": BIG}))
        running = await c.get(f"/v2/ep/status/{acked}")
        assert running.status_code == 200 and running.json()["status"] == "IN_PROGRESS"

        tmpfs.free()
        again = await c.post("/v2/ep/run", json={"input": BIG})
        assert again.status_code == 200, again.text
        assert (await worker.done(acked, {"output": BIG})).status_code == 200
        done = (await c.get(f"/v2/ep/status/{acked}")).json()
        assert done["status"] == "COMPLETED" and done["output"] == BIG
        listed = (await c.get("/pitstop/v1/jobs")).json()["jobs"]
        assert {j["id"] for j in listed} == {acked, again.json()["id"]}  # the 503 stored nothing


def test_sqlite_read_only_filesystem_answers_503_and_recovers(tmpfs: Tmpfs, tmp_path: Path) -> None:
    store = f"sqlite:///{tmpfs.path}/pitstop.db"
    with ServerProcess(["--store", store], tmp_path / "first") as first:
        acked = httpx.post(f"{first.url}/v2/ep/run", json={"input": 1}).json()["id"]
        first.kill()  # a crash leaves the WAL behind: the restart can read it read-only
    tmpfs.read_only()
    with ServerProcess(["--store", store], tmp_path / "second") as second:
        c = httpx.Client(base_url=second.url, timeout=10)
        assert c.get(f"/v2/ep/status/{acked}").json()["status"] == "IN_QUEUE"
        assert_unavailable(c.post("/v2/ep/run", json={"input": 2}))
        assert_unavailable(c.get("/v2/ep/job-take/w1?job_in_progress=0"))

        tmpfs.writable()
        taken = _first_answer(lambda: c.get("/v2/ep/job-take/w1?job_in_progress=0"))
        assert taken.json()["id"] == acked
        finished = c.post(f"/v2/ep/job-done/w1/{acked}", json={"output": "ok"})
        assert finished.status_code == 200, finished.text
        assert c.get(f"/v2/ep/status/{acked}").json()["status"] == "COMPLETED"
        assert "Traceback" not in second.output()


def _first_answer(send: Callable[[], httpx.Response], timeout: float = 5.0) -> httpx.Response:
    """Repeat ``send`` while it answers 503 (as a client honouring Retry-After would)."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        response = send()
        if response.status_code != 503 or time.monotonic() > deadline:
            assert response.status_code == 200, response.text
            return response
        time.sleep(0.05)


@pytest.fixture
def redis_proc(tmp_path: Path) -> Iterator[RedisProcess]:
    proc = RedisProcess(tmp_path / "redis")
    yield proc
    proc.close()


async def test_redis_down_answers_503_and_recovers(start: Start, redis_proc: RedisProcess) -> None:
    server = await start(store_url=f"{redis_proc.url}?timeout_s=0.5", take_wait=3.0)
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as c:
        worker = Worker(c, "ep", "w1")
        acked = (await c.post("/v2/ep/run", json={"input": 1})).json()["id"]
        redis_proc.kill()

        assert_unavailable(await c.post("/v2/ep/run", json={"input": 2}))
        assert_unavailable(await worker.take())
        assert_unavailable(await c.get(f"/v2/ep/status/{acked}"))

        redis_proc.start()  # same port and data: every acknowledged write is back
        await eventually(lambda: _answers(c.get(f"/v2/ep/status/{acked}")), timeout=5)
        assert (await worker.take_job())["id"] == acked
        assert (await worker.done(acked, {"output": "ok"})).status_code == 200
        assert (await c.get(f"/v2/ep/status/{acked}")).json()["status"] == "COMPLETED"
        listed = (await c.get("/pitstop/v1/jobs")).json()["jobs"]
        assert [j["id"] for j in listed] == [acked]  # the refused submit stored nothing

        # The wakeup subscriber reconnected: an idle take answers as soon as a job arrives.
        take = asyncio.create_task(worker.take())

        async def take_waiting() -> bool:  # its empty claim recorded the worker idle
            health = (await c.get("/v2/ep/health")).json()
            return bool(health["workers"]["idle"] == 1)

        await eventually(take_waiting)
        started = time.monotonic()
        fresh = (await c.post("/v2/ep/run", json={"input": 3})).json()["id"]
        assert (await take).json()["id"] == fresh
        assert time.monotonic() - started < 1.5  # woken, not the end of the 3 s hold


async def test_redis_hung_answers_503_and_submit_outcome_is_knowable(
    start: Start, redis_proc: RedisProcess
) -> None:
    # No sweeper pass while Redis hangs: the submit is the only command in flight.
    server = await start(store_url=f"{redis_proc.url}?timeout_s=0.3", sweep_interval=60)
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as c:
        acked = (await c.post("/v2/ep/run", json={"input": 1})).json()["id"]
        redis_proc.pause()
        refused = await c.post("/v2/ep/run", json={"input": 2})
        assert_unavailable(refused)
        details = refused.json()["error"]["details"]
        assert details["stored"] == "unknown"  # sent before Redis hung: it may have run
        redis_proc.resume()

        looked_up = await eventually(lambda: _answers(c.get(f"/v2/ep/status/{details['jobId']}")))
        stored = looked_up.status_code == 200
        listed = (await c.get("/pitstop/v1/jobs")).json()["jobs"]
        expected = {acked, details["jobId"]} if stored else {acked}
        assert {j["id"] for j in listed} == expected  # the lookup is final: nothing runs late
        assert (await c.post("/v2/ep/run", json={"input": 3})).status_code == 200


async def _answers(request: Awaitable[httpx.Response]) -> httpx.Response | None:
    response = await request
    return None if response.status_code == 503 else response
