"""Supervisor end to end: real server on loopback, real worker processes, real HTTP."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import httpx
import pytest
from tests.supervisor.harness import (
    running_server,
    server_config,
    submit,
    supervising,
    wait_status,
)
from tests.supervisor.helpers import EXAMPLES, HANDLERS, Lines, fast_config, until

pytestmark = pytest.mark.usefixtures("fast_workers")


async def test_refresh_gives_a_new_process_per_job(tmp_path: Path, lines: Lines) -> None:
    sup = fast_config(str(EXAMPLES / "refresh_config.py"), endpoint_id="refresh")
    async with (
        running_server(server_config(tmp_path)) as server,
        supervising(sup, server, lines) as supervisor,
        httpx.AsyncClient(base_url=server.url) as client,
    ):
        ids = [await submit(client, "refresh", {"n": n}) for n in range(2)]
        results = [await wait_status(client, "refresh", job_id) for job_id in ids]
        assert [r["status"] for r in results] == ["COMPLETED"] * 2
        pids = {r["output"]["pid"] for r in results}
        assert len(pids) == 2, f"jobs shared a process: {results}"
        await until(lambda: len(supervisor.pool.exits) >= 2, what="two refresh exits")
        assert all(e.code == 0 for e in supervisor.pool.exits)
        assert all(d == 0.0 for d in supervisor.pool.policy.delays), "refresh is not a crash"


async def test_sigkilled_worker_is_replaced_and_its_job_completes(
    tmp_path: Path, lines: Lines
) -> None:
    lease = 0.4
    sup = fast_config(str(HANDLERS / "sleepy.py"), endpoint_id="sleepy")
    async with (
        running_server(server_config(tmp_path, lease_s=lease)) as server,
        supervising(sup, server, lines, lease_s=lease) as supervisor,
        httpx.AsyncClient(base_url=server.url) as client,
    ):
        job_id = await submit(client, "sleepy", {"sleep": 1.0})
        await wait_status(client, "sleepy", job_id, {"IN_PROGRESS"})
        await until(lambda: lines.has("] running in "), output=lines.text)
        victim = supervisor.pool.workers[0]
        os.kill(victim.pid, signal.SIGKILL)
        done = await wait_status(client, "sleepy", job_id, timeout=10)
        assert done["status"] == "COMPLETED"
        assert done["output"]["pid"] != victim.pid
        assert supervisor.pool.exits[0].code == -signal.SIGKILL
        assert lines.has("w1 crashed (signal SIGKILL)")
        assert lines.has("w2 started")


async def test_a_dead_workers_job_runs_again_at_once_not_after_its_lease(
    tmp_path: Path, lines: Lines
) -> None:
    lease = 60.0  # far longer than the test may take: only the release can bring the job back
    sup = fast_config(str(HANDLERS / "sleepy.py"), endpoint_id="sleepy")
    async with (
        running_server(server_config(tmp_path, lease_s=lease)) as server,
        supervising(sup, server, lines, lease_s=lease) as supervisor,
        httpx.AsyncClient(base_url=server.url) as client,
    ):
        job_id = await submit(client, "sleepy", {"sleep": 0.5})
        await until(lambda: lines.has("] running in "), output=lines.text)
        victim = supervisor.pool.workers[0]
        killed_at = time.monotonic()
        os.kill(victim.pid, signal.SIGKILL)
        done = await wait_status(client, "sleepy", job_id, timeout=10)
        took = time.monotonic() - killed_at
        assert done["status"] == "COMPLETED" and done["retries"] == 1, done
        assert done["output"]["pid"] != victim.pid
        assert took < 5, f"{took:.1f}s from SIGKILL to COMPLETED"
        assert lines.has(f"worker {victim.worker_id} exited holding 1 job(s): requeued")


async def test_a_missing_official_sdk_dependency_names_the_extra(
    tmp_path: Path, lines: Lines
) -> None:
    sup = fast_config(str(HANDLERS / "needs_sdk_dependency.py"), endpoint_id="deps")
    async with (
        running_server(server_config(tmp_path)) as server,
        supervising(sup, server, lines) as supervisor,
    ):
        await until(lambda: len(supervisor.pool.exits) >= 2, what="two crashes")
        assert lines.text().count("pip install 'pitstop[runpod]'") == 1, lines.text()
        assert lines.has("'aiohttp_retry' comes with the official runpod SDK")


async def test_crash_loop_backs_off_and_shows_unhealthy_in_health(
    tmp_path: Path, lines: Lines
) -> None:
    sup = fast_config(str(HANDLERS / "crash_at_import.py"), endpoint_id="crashy")
    async with (
        running_server(server_config(tmp_path)) as server,
        supervising(sup, server, lines) as supervisor,
        httpx.AsyncClient(base_url=server.url) as client,
    ):
        await until(lambda: supervisor.pool.policy.crash_loop, what="a crash loop")

        async def unhealthy() -> int:
            health = (await client.get("/v2/crashy/health")).json()
            return int(health["workers"].get("unhealthy", 0))

        deadline = time.monotonic() + 5
        while await unhealthy() < 1:
            assert time.monotonic() < deadline, "the crash loop never reached /health"
            await asyncio.sleep(0.01)
        delays = supervisor.pool.policy.delays
        assert delays[:4] == [0.01, 0.02, 0.04, 0.08]
        assert lines.has("UNHEALTHY: crash loop, 4 crashes in a row: exit 1, exit 1")


async def test_scales_from_zero_on_a_backlog_and_back_after_idle(
    tmp_path: Path, lines: Lines
) -> None:
    sup = fast_config(
        str(HANDLERS / "sleepy.py"),
        endpoint_id="scaly",
        min_workers=0,
        max_workers=3,
        idle_timeout=0.5,
        scale_interval=0.05,
    )
    async with (
        running_server(server_config(tmp_path)) as server,
        supervising(sup, server, lines) as supervisor,
        httpx.AsyncClient(base_url=server.url) as client,
    ):
        pool = supervisor.pool
        # Nothing is waited for here: this checks that a few scale intervals pass idle.
        await asyncio.sleep(sup.scale_interval * 3)
        assert pool.spawned == 0, "min_workers=0 starts no worker before there is work"
        started = time.monotonic()
        ids = [await submit(client, "scaly", {"sleep": 0.5}) for _ in range(3)]
        await until(lambda: pool.spawned == 3, timeout=1.0, what="three workers within 1 s")
        scale_up = time.monotonic() - started
        results = [await wait_status(client, "scaly", job_id) for job_id in ids]
        assert {r["status"] for r in results} == {"COMPLETED"}
        await until(lambda: not pool.workers, timeout=5, what="scale down to zero")
        records = [await server.store.get(job_id) for job_id in ids]
        last_done = max(r.finished_at or 0.0 for r in records if r is not None)
        idle = lines.time_of(" -> 0 workers") - last_done
        # The last busy reading may precede the last completion by up to one scale interval.
        assert idle >= sup.idle_timeout - sup.scale_interval - 0.02, f"scaled down after {idle}s"
        assert all(e.code == 0 for e in pool.exits), f"scale-down must be graceful:\n{lines.text()}"
        assert scale_up < 1.0
        job_id = await submit(client, "scaly", {"sleep": 0})
        assert (await wait_status(client, "scaly", job_id))["status"] == "COMPLETED"
        assert pool.spawned == 4, "the next job cold-started one worker"
