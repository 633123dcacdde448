"""Fitness checks: startup health checks that turn a broken machine into a clear exit.

Users register checks with :func:`register_fitness_check` (sync or async functions that
raise on failure). The worker awaits :func:`run_fitness_checks` once, in production mode,
before its heartbeat and first job-take. User checks run first, in registration order,
then the built-ins unless skipped:

* ``_gpu_health_check`` (only if ``nvidia-smi`` works; skip with ``RUNPOD_SKIP_GPU_CHECK``):
  ``nvidia-smi --list-gpus`` must list a GPU;
* with ``RUNPOD_SKIP_AUTO_SYSTEM_CHECKS`` unset: ``_memory_check`` (available RAM >=
  ``RUNPOD_MIN_MEMORY_GB``, default 4), ``_disk_check`` (free space on ``/`` >=
  ``RUNPOD_MIN_DISK_PERCENT`` of the total, default 10), ``_network_check`` (a TCP connect to
  ``RUNPOD_NETWORK_CHECK_HOST``, default ``8.8.8.8:53``, within
  ``RUNPOD_NETWORK_CHECK_TIMEOUT`` s, default 5) and, with a GPU, ``_cuda_version_check``
  (driver CUDA >= ``RUNPOD_MIN_CUDA_VERSION``, default 11.8; only a warning if unknown).

The network target is configurable (RunPod hard-codes 8.8.8.8:53, which fails every
air-gapped deployment). On the first failure the worker logs
``Fitness check failed: <name> | <Type>: <msg>``, sends RunPod's unhealthy report (a GET to
the ping URL with ``status=unhealthy``), logs ``Worker is unhealthy, exiting.`` and leaves
with ``os._exit(1)``: a hard exit, because live non-daemon threads (model servers started
at import) would make ``sys.exit`` hang.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import shutil
import sys
import time
import traceback
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

from pitstop.config import WorkerConfig, env_float
from pitstop.serverless.utils import _log
from pitstop.serverless.utils.cuda import is_available as gpu_available
from pitstop.serverless.utils.cuda import nvidia_smi

__all__ = ["clear_fitness_checks", "register_fitness_check", "run_fitness_checks"]

F = TypeVar("F", bound=Callable[..., Any])
REPORT_TIMEOUT = 2.0
_checks: list[Callable[[], Any]] = []


def register_fitness_check(func: F) -> F:
    """Register ``func`` (sync or async, no arguments, raises on failure); return it unchanged."""
    _checks.append(func)
    _log.debug(f"Registered fitness check: {_name(func)}")
    return func


def clear_fitness_checks() -> None:
    """Forget every registered user check (for tests)."""
    _checks.clear()


async def run_fitness_checks(cfg: WorkerConfig) -> None:
    """Run user checks then the built-ins; on a failure report, log and ``os._exit(1)``."""
    checks = [*_checks, *builtin_checks(cfg)]
    if not checks:
        _log.debug("No fitness checks registered, skipping.")
        return
    _log.info(f"Running {len(checks)} fitness check(s)...")
    started = time.perf_counter()
    for check in checks:
        name = _name(check)
        _log.debug(f"Executing fitness check: {name}")
        check_started = time.perf_counter()
        try:
            outcome = check()
            if inspect.isawaitable(outcome):
                await outcome
        except Exception as err:
            _fail(cfg, name, err)
        _log.debug(f"Fitness check passed: {name} ({_ms_since(check_started):.2f}ms)")
    _log.info(f"All fitness checks passed. ({_ms_since(started):.2f}ms)")


def builtin_checks(cfg: WorkerConfig) -> list[Callable[[], Any]]:
    """The built-in checks that apply to this machine and configuration, in run order."""
    gpu = False if cfg.skip_gpu_check and cfg.skip_system_checks else gpu_available()
    checks: list[Callable[[], Any]] = []
    if gpu and not cfg.skip_gpu_check:
        checks.append(_gpu_health_check)
    if not cfg.skip_system_checks:
        checks += [_memory_check, _disk_check, _network_check]
        if gpu:
            checks.append(_cuda_version_check)
    return checks


def _fail(cfg: WorkerConfig, name: str, err: Exception) -> NoReturn:
    reason = f"{type(err).__name__}: {err}"
    _log.error(f"Fitness check failed: {name} | {reason}")
    _log.debug(f"Traceback:\n{traceback.format_exc()}")
    report_unhealthy(cfg, name, reason)
    _log.error("Worker is unhealthy, exiting.")
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(1)


def report_unhealthy(cfg: WorkerConfig, check: str, reason: str) -> None:
    """Best-effort ``GET <ping URL>?status=unhealthy&check=..&reason=..``; never raises."""
    if not cfg.api_key or not cfg.ping_url or cfg.ping_url == "PING_NOT_SET":
        return
    params = urllib.parse.urlencode(
        {
            "status": "unhealthy",
            "check": check,
            "reason": reason[:256],
            "runpod_version": _version(),
        }
    )
    url = cfg.ping_url.replace("$RUNPOD_POD_ID", cfg.worker_id)
    url += ("&" if "?" in url else "?") + params
    request = urllib.request.Request(url, headers={"Authorization": cfg.api_key})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        opener.open(request, timeout=REPORT_TIMEOUT).close()
    except Exception as err:
        _log.debug(f"Unhealthy report not delivered: {err}")


def _version() -> str:
    from pitstop.serverless.version import runpod_version

    return runpod_version


def _name(func: Callable[..., Any]) -> str:
    return str(getattr(func, "__name__", repr(func)))


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000


# -- built-in checks ----------------------------------------------------------------------


def _gpu_health_check() -> None:
    listing = nvidia_smi("--list-gpus") or ""
    gpus = [line for line in listing.splitlines() if line.startswith("GPU ")]
    if not gpus:
        raise RuntimeError("No GPUs detected by nvidia-smi --list-gpus")


def _memory_check() -> None:
    minimum = env_float(os.environ, "RUNPOD_MIN_MEMORY_GB", 4.0)
    available = _available_memory_gb()
    if available < minimum:
        raise RuntimeError(
            f"Insufficient memory: {available:.2f}GB available, {minimum:.2f}GB required "
            "(RUNPOD_MIN_MEMORY_GB)"
        )


def _available_memory_gb() -> float:
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / (1024 * 1024)
    except (OSError, ValueError, IndexError):
        pass
    pages = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return float(pages) / 1024**3


def _disk_check() -> None:
    minimum = env_float(os.environ, "RUNPOD_MIN_DISK_PERCENT", 10.0)
    usage = shutil.disk_usage("/")
    free_percent = usage.free / usage.total * 100 if usage.total else 0.0
    if free_percent < minimum:
        raise RuntimeError(
            f"Insufficient disk space: {free_percent:.1f}% free on /, {minimum:.1f}% required "
            "(RUNPOD_MIN_DISK_PERCENT)"
        )


async def _network_check() -> None:
    target = os.environ.get("RUNPOD_NETWORK_CHECK_HOST", "").strip() or "8.8.8.8:53"
    timeout = env_float(os.environ, "RUNPOD_NETWORK_CHECK_TIMEOUT", 5.0)
    host, _sep, port = target.rpartition(":")
    if not host or not port.isdigit():
        raise RuntimeError(f"RUNPOD_NETWORK_CHECK_HOST={target!r} is not HOST:PORT")
    try:
        _reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host.strip("[]"), int(port)), timeout
        )
    except (OSError, asyncio.TimeoutError) as err:
        raise RuntimeError(
            f"No network connectivity: TCP connect to {target} failed within {timeout}s "
            f"({type(err).__name__}: {err}); set RUNPOD_NETWORK_CHECK_HOST to a reachable "
            "HOST:PORT or RUNPOD_SKIP_AUTO_SYSTEM_CHECKS=true"
        ) from err
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()


def _cuda_version_check() -> None:
    minimum = _version_tuple(os.environ.get("RUNPOD_MIN_CUDA_VERSION", "11.8"))
    found = _driver_cuda_version()
    if found is None or minimum is None:
        _log.warn("Could not determine the CUDA version; skipping the CUDA version check.")
        return
    if found < minimum:
        raise RuntimeError(
            f"CUDA {found[0]}.{found[1]} is older than the required "
            f"{minimum[0]}.{minimum[1]} (RUNPOD_MIN_CUDA_VERSION)"
        )


def _driver_cuda_version() -> tuple[int, int] | None:
    output = nvidia_smi() or ""
    marker = "CUDA Version:"
    if marker not in output:
        return None
    return _version_tuple(output.split(marker, 1)[1].split()[0])


def _version_tuple(text: str) -> tuple[int, int] | None:
    parts = text.strip().split(".")
    try:
        return int(parts[0]), int(parts[1]) if len(parts) > 1 else 0
    except ValueError:
        return None
