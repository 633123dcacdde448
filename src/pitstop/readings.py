"""A GPU reading as one line of text, the same in the dashboard and the CLI.

A row is one entry of a workers list's ``gpuDevices`` or of ``/health``'s ``gpus`` (see
:mod:`pitstop.server.gpus`): ``GPU 0: 37% · 1.0/80.0 GiB · 61 °C``. This module imports
nothing, so the client CLI (no server extras) can use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def gpu_reading(row: Mapping[str, Any]) -> str:
    """One device of a worker: ``GPU 0: 37% · 1.0/80.0 GiB · 61 °C`` (its index alone
    without a current reading; a dash for what NVML did not say)."""
    if row.get("sampledAt") is None:
        return f"GPU {row['index']}"
    util, temp = row.get("utilization"), row.get("temperature")
    used, total = _gib(row.get("memoryUsed")), _gib(row.get("memoryTotal"))
    load = "—" if util is None else f"{util}%"
    heat = "—" if temp is None else f"{temp} °C"
    return f"GPU {row['index']}: {load} · {used}/{total} GiB · {heat}"


def _gib(value: int | None) -> str:
    return "—" if value is None else f"{value / 2**30:.1f}"
