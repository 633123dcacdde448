"""Several endpoints under one supervisor process: their checks, their GPUs, one stop signal.

``pitstop serve a.py b.py`` (or a config file) runs one :class:`~pitstop.supervisor.Supervisor`
per endpoint against one server. Here: the checks that the endpoints fit together (distinct
ids), the device leases they draw GPUs from (one allocator, see
:mod:`pitstop.supervisor.devices`), and running the supervisors side by side with SIGINT and
SIGTERM reaching every one of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

from pitstop.config import SupervisorConfig
from pitstop.errors import ConfigError
from pitstop.supervisor.devices import DeviceLease, plan_leases
from pitstop.supervisor.gpus import (
    ALL,
    NONE,
    GpuProbe,
    NvmlProbe,
    parse_gpus,
    resolve_devices,
)
from pitstop.supervisor.preflight import check_handler

if TYPE_CHECKING:
    from pitstop.supervisor.runner import Supervisor


def handler_env(sup: SupervisorConfig) -> dict[str, str]:
    """The ``NAME=VALUE`` entries of ``--env`` as a mapping; ConfigError for a malformed one."""
    env: dict[str, str] = {}
    for entry in sup.handler_env:
        name, sep, value = entry.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"--env {entry!r}: expected NAME=VALUE")
        env[name.strip()] = value
    return env


def check_endpoints(sups: Sequence[SupervisorConfig]) -> list[SupervisorConfig]:
    """Each config checked (readable handler, endpoint id filled in); ids must differ."""
    checked = [check_handler(sup) for sup in sups]
    seen: dict[str, str] = {}
    for sup in checked:
        handler_env(sup)
        parse_gpus(sup.gpus)
        if sup.endpoint_id in seen:
            raise ConfigError(
                f"{sup.handler_path} and {seen[sup.endpoint_id]} would both be endpoint "
                f"'{sup.endpoint_id}'; name them apart (--endpoint, or the config file)"
            )
        seen[sup.endpoint_id] = sup.handler_path
    return checked


def device_leases(
    sups: Sequence[SupervisorConfig],
    probe: GpuProbe | None = None,
    log: Callable[[str], None] | None = None,
) -> dict[str, DeviceLease | None]:
    """Each endpoint's GPU lease from one allocator. NVML is only asked (``probe`` or a real
    one opened here) when some endpoint says ``--gpus all``."""
    specs = {sup.endpoint_id: parse_gpus(sup.gpus) for sup in sups}
    opened: NvmlProbe | None = None
    if probe is None and ALL in specs.values():
        probe = opened = NvmlProbe.open()
    try:
        machine = resolve_devices(ALL, probe)
    finally:
        if opened is not None:
            opened.close()
    leases = plan_leases(specs, {s.endpoint_id: s.gpus_per_worker for s in sups}, machine)
    for sup in sups:
        lease = leases[sup.endpoint_id]
        if log is not None and lease is not None and lease.capacity < sup.max_workers:
            log(
                f"{sup.endpoint_id}: at most {lease.capacity} worker(s) of "
                f"{lease.per_worker} GPU(s) each on GPU {','.join(lease.allowed)} "
                f"(--max-workers {sup.max_workers})"
            )
    return leases


@contextlib.contextmanager
def gpu_probe(
    sups: Sequence[SupervisorConfig], given: GpuProbe | None = None
) -> Iterator[GpuProbe | None]:
    """The probe the supervisors read GPUs with: ``given``, else NVML (closed afterwards)
    when some endpoint may have GPUs; None without NVML (telemetry is then off)."""
    if given is not None or all(parse_gpus(s.gpus) == NONE for s in sups):
        yield given
        return
    opened = NvmlProbe.open()
    try:
        yield opened
    finally:
        if opened is not None:
            opened.close()


async def run_together(supervisors: Sequence[Supervisor], *, install_signals: bool) -> int:
    """Run every supervisor until drained; the worst exit code (130 after a forced stop)."""
    with stop_signals(supervisors, install_signals):
        codes = await asyncio.gather(*(s.run(install_signals=False) for s in supervisors))
    return max(codes, default=0)


@contextlib.contextmanager
def stop_signals(supervisors: Sequence[Supervisor], install: bool) -> Iterator[None]:
    """SIGINT/SIGTERM only enqueue a Stop in every pool; each pool's loop decides the rest."""
    if not install:
        yield
        return
    loop = asyncio.get_running_loop()
    names = {signal.SIGINT: "interrupted", signal.SIGTERM: "terminated"}

    def stop_all(reason: str) -> None:
        for supervisor in supervisors:
            supervisor.stop(reason)

    for sig, name in names.items():
        loop.add_signal_handler(sig, stop_all, name)
    try:
        yield
    finally:
        for sig in names:
            loop.remove_signal_handler(sig)
