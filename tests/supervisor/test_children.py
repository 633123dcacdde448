"""Workers that start child processes: a refresh or a crash ends the worker's whole process
group, and never waits for it before starting the replacement."""

from __future__ import annotations

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
from tests.supervisor.helpers import HANDLERS, Lines, alive, fast_config, until

pytestmark = pytest.mark.usefixtures("fast_workers")

WITH_CHILD = str(HANDLERS / "with_child.py")


def child_pids(pid_file: Path) -> list[int]:
    """Pids of the children the workers started, in order."""
    return [int(line) for line in pid_file.read_text().split()] if pid_file.exists() else []


async def test_refresh_starts_the_replacement_while_the_old_child_lives(
    tmp_path: Path, lines: Lines
) -> None:
    pid_file = tmp_path / "children"
    sup = fast_config(
        WITH_CHILD,
        endpoint_id="kids",
        handler_args=(str(pid_file), "ignore-term"),
        drain_timeout=3.0,
    )
    async with (
        running_server(server_config(tmp_path)) as server,
        supervising(sup, server, lines) as supervisor,
        httpx.AsyncClient(base_url=server.url) as client,
    ):
        first = await wait_status(client, "kids", await submit(client, "kids", {"refresh": True}))
        assert first["status"] == "COMPLETED", first
        refreshed_at = time.monotonic()
        old_child = first["output"]["child"]
        second = await wait_status(client, "kids", await submit(client, "kids", {}), timeout=5)
        served_in = time.monotonic() - refreshed_at
        old_child_alive = alive(old_child)
        assert second["status"] == "COMPLETED", second
        assert second["output"]["pid"] != first["output"]["pid"], "served by a new process"
        assert old_child_alive, "the old child (it ignores SIGTERM) lives until drain_timeout"
        assert served_in < sup.drain_timeout, f"the replacement waited {served_in:.2f}s"
        await until(lambda: not alive(old_child), timeout=sup.drain_timeout + 2, what="SIGKILL")
        assert lines.has("w1 left processes running: SIGTERM to its group"), lines.text()
        killed = "w1's leftover processes outlived SIGTERM: killed"
        # logged once the killed group is gone, which may be a poll after the test saw it die
        await until(lambda: lines.has(killed), timeout=2, what="the SIGKILL line")
        assert [e.code for e in supervisor.pool.exits] == [0]
        # w2's child ignores SIGTERM too: stop twice rather than wait out the drain timeout.
        supervisor.stop()
        supervisor.stop()


async def test_crash_ends_the_childs_group_and_the_job_completes_on_the_replacement(
    tmp_path: Path, lines: Lines
) -> None:
    lease = 0.4
    pid_file = tmp_path / "children"
    sup = fast_config(WITH_CHILD, endpoint_id="kids", handler_args=(str(pid_file),))
    async with (
        running_server(server_config(tmp_path, lease_s=lease)) as server,
        supervising(sup, server, lines, lease_s=lease) as supervisor,
        httpx.AsyncClient(base_url=server.url) as client,
    ):
        job_id = await submit(client, "kids", {"exit": 3})
        await until(lambda: supervisor.pool.exits, what="the crash", output=lines.text)
        assert supervisor.pool.exits[0].code == 3
        old_child = child_pids(pid_file)[0]
        await until(lambda: not alive(old_child), timeout=2, what="the old child to end")
        done = await wait_status(client, "kids", job_id, timeout=10)
        assert done["status"] == "COMPLETED", done
        assert done["output"]["child"] != old_child
        assert lines.has("w1 crashed (exit 3)")
        # Announced with its first line unlike the crashed run's (its job's "Finished.").
        await until(lambda: lines.has("w2 started"), what="w2 announced", output=lines.text)
        assert lines.has("w1 left processes running: SIGTERM to its group"), lines.text()
        assert not lines.has("outlived SIGTERM"), "the child stopped on SIGTERM"
