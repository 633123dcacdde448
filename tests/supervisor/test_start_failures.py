"""A worker that cannot start says why, once: the crash line names the error, ``/health``
counts it unhealthy from the first crash, ``pitstop health`` and ``/pitstop/v1`` show the exit
code and error line, restarts back off, and jobs wait IN_QUEUE."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from tests.supervisor.harness import (
    running_server,
    server_config,
    status,
    submit,
    supervising,
    wait_status,
)
from tests.supervisor.helpers import HANDLERS, Lines, fast_config, until

from pitstop.cli import main

pytestmark = pytest.mark.usefixtures("fast_workers")

IMPORT_ERROR = str(HANDLERS / "import_error.py")
ERROR = "ModuleNotFoundError: No module named 'pitstop_tests_no_such_module'"


async def unhealthy_count(client: httpx.AsyncClient, endpoint: str) -> int:
    health = (await client.get(f"/v2/{endpoint}/health")).json()
    return int(health["workers"]["unhealthy"])


async def eventually_unhealthy(client: httpx.AsyncClient, endpoint: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while await unhealthy_count(client, endpoint) < 1:
        assert time.monotonic() < deadline, "the crash never reached /health"
        await asyncio.sleep(0.01)


async def test_first_crash_at_start_is_unhealthy_with_exit_code_and_error(
    tmp_path: Path, lines: Lines
) -> None:
    # A 30 s backoff: everything below happens between the first crash and the first restart.
    sup = fast_config(
        IMPORT_ERROR, endpoint_id="broken", restart_backoff_base=30.0, restart_backoff_max=30.0
    )
    async with (
        running_server(server_config(tmp_path)) as server,
        supervising(sup, server, lines) as supervisor,
        httpx.AsyncClient(base_url=server.url) as client,
    ):
        job_id = await submit(client, "broken", {"n": 1})
        await until(lambda: supervisor.pool.exits, what="the first crash", output=lines.text)
        await eventually_unhealthy(client, "broken", timeout=5)
        assert len(supervisor.pool.exits) == 1, "unhealthy from the first crash on"
        assert lines.has("w1 crashed (exit 1) after "), lines.text()
        assert lines.has(f"{ERROR}; restarting in 30.00s")

        listing: dict[str, Any] = (await client.get("/pitstop/v1/endpoints/broken/workers")).json()
        (worker,) = listing["workers"]
        assert worker["status"] == "unhealthy"
        assert (worker["exitCode"], worker["error"]) == (1, ERROR)
        assert worker["id"] == supervisor.pool.exits[0].worker_id

        args = ["--url", server.url, "health", "broken"]
        shown = await asyncio.to_thread(CliRunner().invoke, main, args)
        assert shown.exit_code == 0, shown.output
        assert f"unhealthy worker {worker['id']}: exit 1: {ERROR}" in shown.output
        assert "unhealthy=1" in shown.output

        assert (await status(client, "broken", job_id))["status"] == "IN_QUEUE"


async def test_a_failing_start_is_printed_once_across_restarts(
    tmp_path: Path, lines: Lines
) -> None:
    sup = fast_config(IMPORT_ERROR, endpoint_id="broken", crash_loop_threshold=3)
    async with (
        running_server(server_config(tmp_path)) as server,
        supervising(sup, server, lines) as supervisor,
        httpx.AsyncClient(base_url=server.url) as client,
    ):
        job_id = await submit(client, "broken", {"n": 1})
        pool = supervisor.pool
        await until(lambda: len(pool.exits) >= 5, what="five crashes", output=lines.text)
        assert pool.policy.delays[:5] == [0.01, 0.02, 0.04, 0.08, 0.08], "backoff up to the cap"
        assert (await status(client, "broken", job_id))["status"] == "IN_QUEUE"
    text = lines.text()
    assert text.count("Traceback (most recent call last)") == 1, text
    assert text.count(ERROR) == 2, "once from the worker, once in the crash line"
    assert text.count("crashed again (exit 1)") >= 4
    assert text.count("same output; restarting in") >= 4
    assert text.count("UNHEALTHY: crash loop") == 1


async def test_a_restart_that_starts_clears_the_unhealthy_mark(
    tmp_path: Path, lines: Lines
) -> None:
    marker = tmp_path / "started-once"
    sup = fast_config(
        str(HANDLERS / "crash_once.py"),
        endpoint_id="flaky",
        handler_args=(str(marker),),
        restart_backoff_base=0.5,
    )
    async with (
        running_server(server_config(tmp_path)) as server,
        supervising(sup, server, lines) as supervisor,
        httpx.AsyncClient(base_url=server.url) as client,
    ):
        await eventually_unhealthy(client, "flaky", timeout=5)
        assert lines.has("w1 crashed (exit 1)") and lines.has("RuntimeError: first start fails")
        done = await wait_status(client, "flaky", await submit(client, "flaky", {}))
        assert done["status"] == "COMPLETED"
        await until(lambda: lines.has("w2 started"), what="the replacement")
        assert supervisor.pool.workers[0].worker_id == supervisor.pool.exits[0].worker_id
        assert await unhealthy_count(client, "flaky") == 0, "the replacement's ping cleared it"
