"""GPU telemetry end to end: a ``pitstop serve`` supervisor (and a ``pitstop worker`` one)
reads its workers' devices through a fake NVML probe and reports them; the readings appear
in ``/health``, both workers APIs, the dashboard's workers page and ``/metrics``."""

from __future__ import annotations

import asyncio
import contextlib
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from tests.supervisor.harness import running_server, server_config
from tests.supervisor.helpers import HANDLERS, Lines, fast_config, until
from tests.supervisor.test_gpus import FakeProbe

from pitstop.cli import main
from pitstop.config import SupervisorConfig
from pitstop.supervisor import run_workers_async, serve_async
from pitstop.supervisor.endpoints import gpu_probe
from pitstop.supervisor.gpus import GpuStats
from pitstop.supervisor.telemetry import GpuTelemetry, read_devices, wire_reading

pytestmark = pytest.mark.usefixtures("fast_workers")

READING = "GPU {index}: 50% · 1.0/80.0 GiB · 40 °C"
"""How the dashboard shows FakeProbe's reading of a device."""


@contextlib.asynccontextmanager
async def task_of(coro: Any) -> AsyncIterator[asyncio.Task[int]]:
    """Run ``coro`` (a supervisor) in the background; cancel it on the way out (its pools
    kill their workers and the in-process server stops)."""
    task: asyncio.Task[int] = asyncio.ensure_future(coro)
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 15)


async def current_gpus(client: httpx.AsyncClient, endpoint: str, n: int) -> list[dict[str, Any]]:
    """``/health``'s ``gpus`` once ``n`` devices have current readings."""
    rows: list[dict[str, Any]] = []

    async def ready() -> bool:
        nonlocal rows
        rows = (await client.get(f"/v2/{endpoint}/health")).json().get("gpus", [])
        return sum(1 for row in rows if row["sampledAt"] is not None) == n

    deadline = asyncio.get_running_loop().time() + 15
    while not await ready():
        assert asyncio.get_running_loop().time() < deadline, f"no readings for {n}: {rows}"
        await asyncio.sleep(0.02)
    return rows


async def test_serve_reports_each_workers_gpus_everywhere(tmp_path: Path, lines: Lines) -> None:
    sup = fast_config(
        str(HANDLERS / "sleepy.py"),
        endpoint_id="gpu",
        min_workers=2,
        max_workers=2,
        gpus="all",
        gpu_telemetry_interval=0.05,
        data_dir=str(tmp_path),
    )
    serving = serve_async(
        sup, server_config(tmp_path), sink=lines, install_signals=False, probe=FakeProbe()
    )
    async with task_of(serving):
        await until(lambda: re.search(r"endpoint: (\S+)/v2/gpu", lines.text()), what="banner")
        match = re.search(r"endpoint: (\S+)/v2/gpu", lines.text())
        assert match is not None
        async with httpx.AsyncClient(base_url=match.group(1), timeout=10) as client:
            health = await current_gpus(client, "gpu", 2)
            workers = (await client.get("/pitstop/v1/endpoints/gpu/workers")).json()["workers"]
            console = (await client.get("/pitstop/v1/workers?endpoint=gpu")).json()["workers"]
            page = (await client.get("/dashboard/workers")).text
            metrics = (await client.get("/metrics")).text
            url = ["--url", match.group(1)]
            cli_workers = await asyncio.to_thread(CliRunner().invoke, main, [*url, "workers"])
            cli_health = await asyncio.to_thread(CliRunner().invoke, main, [*url, "health", "gpu"])
    assert sorted(row["index"] for row in health) == ["0", "1"], "one device per worker"
    assert len({row["workerId"] for row in health}) == 2
    for row in health:
        assert row["name"] == "Fake A100" and row["utilization"] == 50
        assert (row["memoryUsed"], row["memoryTotal"], row["temperature"]) == (
            1 << 30,
            80 << 30,
            40,
        )
    by_worker = {row["workerId"]: row["index"] for row in health}
    for listing in (workers, console):
        shown = {w["id"]: [d["index"] for d in w["gpuDevices"]] for w in listing}
        assert shown == {wid: [index] for wid, index in by_worker.items()}, listing
        assert all(d["utilization"] == 50 for w in listing for d in w["gpuDevices"])
    for index in ("0", "1"):
        assert READING.format(index=index) in page, page
        assert READING.format(index=index) in cli_workers.stdout, cli_workers.output
    for worker_id, index in by_worker.items():
        line = f"gpu:     {READING.format(index=index)} (worker {worker_id})"
        assert line in cli_health.stdout.splitlines(), cli_health.output
    for worker_id, index in by_worker.items():
        where = f'endpoint="gpu",worker="{worker_id}",gpu="{index}"'
        assert f"pitstop_gpu_utilization_ratio{{{where}}} 0.5" in metrics
        assert f"pitstop_gpu_memory_total_bytes{{{where}}} {float(80 << 30)!r}" in metrics
        assert f"pitstop_gpu_temperature_celsius{{{where}}} 40.0" in metrics
    assert not lines.has("could not report GPU telemetry"), lines.text()


async def test_remote_workers_report_their_gpus_with_the_worker_key(
    tmp_path: Path, lines: Lines
) -> None:
    config = server_config(tmp_path, worker_keys=("wk",), client_keys=("ck",))
    async with running_server(config) as server:
        sup = fast_config(
            str(HANDLERS / "sleepy.py"),
            endpoint_id="remote",
            server_url=server.url,
            worker_key="wk",
            gpus="1",
            gpu_telemetry_interval=0.05,
        )
        headers = {"Authorization": "Bearer ck"}
        running = run_workers_async(sup, sink=lines, install_signals=False, probe=FakeProbe())
        async with (
            task_of(running),
            httpx.AsyncClient(base_url=server.url, headers=headers) as client,
        ):
            (row,) = await current_gpus(client, "remote", 1)
    assert (row["index"], row["utilization"]) == ("1", 50)
    assert not lines.has("could not report GPU telemetry"), lines.text()


class HalfProbe(FakeProbe):
    """Knows device 0 only (device 7 was asserted with --gpus but NVML has no such GPU)."""

    def read(self, index: str) -> GpuStats:
        if index != "0":
            raise RuntimeError("NVML_ERROR_INVALID_ARGUMENT")
        return GpuStats(index, "Fake\u2122 A100\n", 101, 1, 2, None)


def test_unreadable_devices_are_left_out_and_odd_readings_cleaned() -> None:
    readings = read_devices(HalfProbe(), {"w1": ("0", "7"), "w2": ("7",)})
    assert readings == {
        "w1": [
            {
                "index": "0",
                "name": "Fake A100",
                "utilization": None,
                "memoryUsed": 1,
                "memoryTotal": 2,
                "temperature": None,
            }
        ],
        "w2": [],
    }
    assert wire_reading(GpuStats("3", "x" * 300, 0, 0, 0, 0))["name"] == "x" * 255


async def test_a_failing_report_is_said_once_until_one_gets_through() -> None:
    said: list[str] = []

    def log(message: str, *, error: bool = False) -> None:
        said.append(message)

    transport = httpx.MockTransport(lambda request: httpx.Response(refusals.pop(0)))
    refusals = [503, 404, 200, 500]
    async with httpx.AsyncClient(transport=transport) as client:
        telemetry = GpuTelemetry(FakeProbe(), None, client, "http://s/gpus", 0.05, log)  # type: ignore[arg-type]
        assert [await telemetry.report({"w1": []}) for _ in range(4)] == [
            False,
            False,
            True,
            False,
        ]
    assert len(said) == 3, said
    assert said[0].startswith("could not report GPU telemetry to http://s/gpus")
    assert said[1] == "GPU telemetry reaches the server again"


def test_no_nvml_means_no_probe_and_no_telemetry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import pynvml raises ImportError
    listed = SupervisorConfig(handler_path="h.py", gpus="0,1")
    with gpu_probe([listed]) as probe:
        assert probe is None
    given = FakeProbe()
    with gpu_probe([listed], given) as probe:
        assert probe is given
    with gpu_probe([SupervisorConfig(handler_path="h.py", gpus="none")]) as probe:
        assert probe is None
