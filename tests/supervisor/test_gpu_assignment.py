"""GPU assignment with ``--gpus LIST`` on a machine without GPUs: real worker processes report
the ``CUDA_VISIBLE_DEVICES`` they were given; sets never overlap, bound the scale-up, and pass
to a new worker only once the old one's whole process group has exited."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from tests.supervisor.harness import running_server, server_config, submit, supervising, wait_status
from tests.supervisor.helpers import HANDLERS, Lines, alive, fast_config, until

from pitstop.supervisor import Supervisor
from pitstop.supervisor.devices import DeviceLease, plan_leases

pytestmark = pytest.mark.usefixtures("fast_workers")


def lease_for(devices: str, per_worker: int, endpoint: str = "gpu") -> DeviceLease:
    lease = plan_leases({endpoint: tuple(devices.split(","))}, {endpoint: per_worker}, [])
    assert lease[endpoint] is not None
    return lease[endpoint]


def assert_disjoint(supervisor: Supervisor) -> None:
    """No two processes that may still run (live, retiring or being reaped) share a device."""
    pool = supervisor.pool
    held = [d for w in {*pool.workers, *pool._reaping} if not w.quarantined for d in w.devices]
    assert len(held) == len(set(held)), f"a device is shared: {held}"


async def test_scale_up_stops_at_the_free_sets_and_sets_are_disjoint(
    tmp_path: Path, lines: Lines
) -> None:
    sup = fast_config(str(HANDLERS / "sleepy.py"), endpoint_id="gpu", min_workers=0, max_workers=4)
    async with (
        running_server(server_config(tmp_path)) as server,
        supervising(sup, server, lines, devices=lease_for("0,1,2,3", 2)) as supervisor,
        httpx.AsyncClient(base_url=server.url) as client,
    ):
        jobs = [await submit(client, "gpu", {"sleep": 0.3}) for _ in range(4)]
        outputs = [(await wait_status(client, "gpu", job))["output"] for job in jobs]
        assert_disjoint(supervisor)
    assert {o["cuda"] for o in outputs} == {"0,1", "2,3"}, outputs
    assert supervisor.pool.spawned == 2, "four jobs wanted four workers; two sets exist"
    assert lines.text().count("but no free set of 2 GPU(s)") == 1, lines.text()
    assert lines.has("GPU 0,1)") and lines.has("GPU 2,3)")


async def test_a_set_passes_on_only_after_the_old_group_exited(
    tmp_path: Path, lines: Lines
) -> None:
    pid_file = tmp_path / "children"
    sup = fast_config(
        str(HANDLERS / "with_child.py"),
        endpoint_id="gpu",
        handler_args=(str(pid_file), "ignore-term"),
        drain_timeout=0.5,
    )
    async with (
        running_server(server_config(tmp_path)) as server,
        supervising(sup, server, lines, devices=lease_for("3", 1)) as supervisor,
        httpx.AsyncClient(base_url=server.url) as client,
    ):
        first = await wait_status(client, "gpu", await submit(client, "gpu", {"refresh": True}))
        old_child = first["output"]["child"]
        second_job = await submit(client, "gpu", {})
        await until(lambda: lines.has("w2 started"), what="the replacement", output=lines.text)
        child_alive_at_start = alive(old_child)
        second = await wait_status(client, "gpu", second_job)
        supervisor.stop()
        supervisor.stop()
    assert not child_alive_at_start, "the replacement started while the old child held GPU 3"
    text = lines.text()
    assert text.index("outlived SIGTERM: killed") < text.index("w2 started"), text
    for output in (first["output"], second["output"]):
        assert output["CUDA_VISIBLE_DEVICES"] == output["NVIDIA_VISIBLE_DEVICES"] == "3"
        assert output["RUNPOD_GPU_COUNT"] == "1"
        assert output["CUDA_DEVICE_ORDER"] == "PCI_BUS_ID", "CUDA counts as NVML does"


async def test_a_crash_hands_its_set_to_the_replacement_only(tmp_path: Path, lines: Lines) -> None:
    pid_file = tmp_path / "children"
    sup = fast_config(
        str(HANDLERS / "with_child.py"),
        endpoint_id="gpu",
        handler_args=(str(pid_file),),
        min_workers=2,
        max_workers=2,
    )
    async with (
        running_server(server_config(tmp_path)) as server,
        supervising(sup, server, lines, devices=lease_for("0,1", 1)) as supervisor,
        httpx.AsyncClient(base_url=server.url) as client,
    ):
        await until(lambda: len(supervisor.pool.live) == 2, what="two workers")
        before = {w.worker_id: w.devices for w in supervisor.pool.live}
        job = await submit(client, "gpu", {"exit": 3})
        await until(lambda: supervisor.pool.exits, what="the crash", output=lines.text)
        done = await wait_status(client, "gpu", job)
        await until(lambda: len(supervisor.pool.live) == 2, what="the replacement")
        assert_disjoint(supervisor)
        after = {w.worker_id: w.devices for w in supervisor.pool.live}
    assert done["status"] == "COMPLETED", done
    assert after == before, "the replacement (same worker id) got the crashed worker's set"


async def test_a_gpu_failing_its_fitness_check_is_quarantined(tmp_path: Path, lines: Lines) -> None:
    sup = fast_config(str(HANDLERS / "gpu_fitness.py"), endpoint_id="gpu", min_workers=2)
    sup.max_workers = 2
    lease = lease_for("0,1", 1)
    async with (
        running_server(server_config(tmp_path)) as server,
        supervising(sup, server, lines, devices=lease) as supervisor,
        httpx.AsyncClient(base_url=server.url) as client,
    ):
        await until(lambda: lines.has("quarantined until"), what="quarantine", output=lines.text)
        await until(lambda: lines.has("no free set"), what="the shortage line")
        output = (await wait_status(client, "gpu", await submit(client, "gpu", {})))["output"]
        health = (await client.get("/v2/gpu/health")).json()
        assert [w.devices for w in supervisor.pool.live] == [("0",)]
    assert output == {"cuda": "0"}
    assert lease.allocator.quarantined == {"1"}
    assert lease.capacity == 1
    assert lines.has("UNHEALTHY: GPU 1 failed the fitness check check_gpu_memory")
    assert health["workers"]["unhealthy"] == 1, health
