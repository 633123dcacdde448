"""GPU telemetry: the supervisor reads its workers' devices and reports them to the server.

The supervisor assigned every worker its devices, so it is the one that reads them (through
its :class:`~pitstop.supervisor.gpus.GpuProbe`, NVML in production): the worker runtime never
loads NVML and stays light. Every ``gpu_telemetry_interval`` seconds each device held by a
running worker of the pool is read once, and the readings go to the server in one report
(``POST /pitstop/v1/endpoints/{endpoint}/gpus``, see :mod:`pitstop.server.gpus`), the same
way for ``pitstop serve`` (in-process server) and ``pitstop worker`` (remote server).

A device NVML cannot read is left out of that report; a report the server does not take is
said once, and again only after one got through. Telemetry never stops or slows the pool.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from pitstop.supervisor.gpus import GpuProbe, GpuStats
from pitstop.supervisor.pool import Pool

_MAX_BYTES = 2**53 - 1
_BOUNDS = {
    "utilization": 100,
    "temperature": 1000,
    "memoryUsed": _MAX_BYTES,
    "memoryTotal": _MAX_BYTES,
}
"""What the server accepts (larger readings are shown as unknown rather than refused)."""


class GpuTelemetry:
    """Samples one pool's devices every ``interval`` seconds and reports them."""

    def __init__(
        self,
        probe: GpuProbe,
        pool: Pool,
        client: httpx.AsyncClient,
        url: str,
        interval: float,
        log: Callable[..., None],
    ) -> None:
        self.probe = probe
        self.pool = pool
        self.client = client
        self.url = url
        self.interval = max(0.01, interval)
        self.log = log
        self._failing = False

    async def run(self) -> None:
        """Sample and report until cancelled."""
        while True:
            workers = {w.worker_id: w.devices for w in self.pool.workers if w.devices}
            if workers:
                readings = await asyncio.to_thread(read_devices, self.probe, workers)
                await self.report(readings)
            await asyncio.sleep(self.interval)

    async def report(self, readings: Mapping[str, list[dict[str, Any]]]) -> bool:
        """Send one report; True when the server took it (a failure is said once)."""
        body = {"intervalMs": round(self.interval * 1000), "workers": readings}
        try:
            response = await self.client.post(self.url, json=body)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            if not self._failing:
                self._failing = True
                self.log(f"could not report GPU telemetry to {self.url}: {exc}", error=True)
            return False
        if self._failing:
            self._failing = False
            self.log("GPU telemetry reaches the server again")
        return True


def read_devices(
    probe: GpuProbe, workers: Mapping[str, tuple[str, ...]]
) -> dict[str, list[dict[str, Any]]]:
    """Each worker's device readings (blocking NVML calls: run it in a thread)."""
    readings: dict[str, list[dict[str, Any]]] = {}
    for worker_id, devices in workers.items():
        rows = []
        for index in devices:
            try:
                rows.append(wire_reading(probe.read(index)))
            except Exception:  # a device NVML does not know (asserted with --gpus) or lost
                continue
        readings[worker_id] = rows
    return readings


def wire_reading(stats: GpuStats) -> dict[str, Any]:
    """A reading as the server accepts it: an ASCII name, out-of-range numbers unknown."""
    row = stats.as_json()
    row["name"] = "".join(c for c in stats.name if " " <= c <= "~")[:255]
    for field, bound in _BOUNDS.items():
        value = row[field]
        if value is not None and not 0 <= value <= bound:
            row[field] = None
    return row
