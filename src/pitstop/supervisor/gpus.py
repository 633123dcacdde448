"""The machine's GPUs: which devices ``--gpus`` names, and what NVML says about them.

``--gpus`` is ``all`` (the devices NVML reports; none when there is no NVIDIA driver),
``none``, or a comma list of device indices (``0,1,2,3``) that the user asserts exist, so it
works without NVML at all. NVML sits behind :class:`GpuProbe`: :class:`NvmlProbe` is the real
one (``pynvml`` from the ``nvidia-ml-py`` package, the ``gpu`` extra, imported only when a
probe is opened); tests hand in a fake.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from pitstop.errors import ConfigError

ALL = "all"
NONE = "none"


@dataclass(frozen=True)
class GpuStats:
    """One device as NVML reads it now (None where the device would not say)."""

    index: str
    name: str
    utilization: int | None
    """GPU utilisation in percent over NVML's last sample period."""
    memory_used: int | None
    """Bytes."""
    memory_total: int | None
    temperature: int | None
    """Degrees Celsius."""

    def as_json(self) -> dict[str, Any]:
        """The shape ``/health`` and the workers API show (camelCase like RunPod's JSON)."""
        return {
            "index": self.index,
            "name": self.name,
            "utilization": self.utilization,
            "memoryUsed": self.memory_used,
            "memoryTotal": self.memory_total,
            "temperature": self.temperature,
        }


class GpuProbe(Protocol):
    """Where device facts come from (NVML in production, a fake in tests)."""

    def devices(self) -> list[str]:
        """The device indices present, as strings (``["0", "1"]``)."""
        ...

    def read(self, index: str) -> GpuStats:
        """The device's current utilisation, memory and temperature."""
        ...


def parse_gpus(spec: str | Sequence[int | str]) -> str | tuple[str, ...]:
    """``all``, ``none`` or the device indices of a comma list (or a TOML list) as strings."""
    if isinstance(spec, str):
        text = spec.strip().lower()
        if text in (ALL, NONE):
            return text
        items: Sequence[int | str] = [part.strip() for part in text.split(",")]
    else:
        items = spec
    devices: list[str] = []
    for item in items:
        token = str(item).strip()
        if not token.isdigit() or isinstance(item, bool):
            raise ConfigError(f"--gpus: {item!r} is not a device index (use all, none or 0,1,2)")
        if str(int(token)) in devices:
            raise ConfigError(f"--gpus: device {int(token)} is listed twice")
        devices.append(str(int(token)))
    return tuple(devices)


def format_gpus(spec: str | tuple[str, ...]) -> str:
    """The ``--gpus`` text for a parsed spec (``0,1`` for a tuple)."""
    return spec if isinstance(spec, str) else ",".join(spec)


class NvmlProbe:
    """:class:`GpuProbe` over NVML. One NVML session per probe; calls are serialised."""

    def __init__(self, nvml: Any) -> None:
        self._nvml = nvml
        self._lock = threading.Lock()

    @classmethod
    def open(cls) -> NvmlProbe | None:
        """A probe when ``pynvml`` imports and the NVIDIA driver answers; None otherwise."""
        try:
            import pynvml
        except ImportError:
            return None
        try:
            pynvml.nvmlInit()
        except Exception:  # NVMLError_LibraryNotFound, DriverNotLoaded, ...: no usable GPUs
            return None
        return cls(pynvml)

    def close(self) -> None:
        """End the NVML session."""
        with contextlib.suppress(Exception):
            self._nvml.nvmlShutdown()

    def devices(self) -> list[str]:
        with self._lock:
            return [str(i) for i in range(self._nvml.nvmlDeviceGetCount())]

    def read(self, index: str) -> GpuStats:
        nvml = self._nvml
        with self._lock:
            handle = nvml.nvmlDeviceGetHandleByIndex(int(index))
            name = _ask(nvml.nvmlDeviceGetName, handle)
            rates = _ask(nvml.nvmlDeviceGetUtilizationRates, handle)
            memory = _ask(nvml.nvmlDeviceGetMemoryInfo, handle)
            temperature = _ask(nvml.nvmlDeviceGetTemperature, handle, nvml.NVML_TEMPERATURE_GPU)
        return GpuStats(
            index=index,
            name=name.decode() if isinstance(name, bytes) else str(name or ""),
            utilization=None if rates is None else int(rates.gpu),
            memory_used=None if memory is None else int(memory.used),
            memory_total=None if memory is None else int(memory.total),
            temperature=None if temperature is None else int(temperature),
        )


def _ask(call: Any, *args: Any) -> Any:
    """One NVML query; None when the device does not support it (or fails to answer)."""
    try:
        return call(*args)
    except Exception:
        return None


def resolve_devices(spec: str | tuple[str, ...], probe: GpuProbe | None) -> tuple[str, ...]:
    """The device indices ``spec`` names: a list as given, ``all`` as the probe reports."""
    if isinstance(spec, tuple):
        return spec
    if spec == NONE or probe is None:
        return ()
    return tuple(probe.devices())


def gpu_environment(devices: Sequence[str]) -> dict[str, str]:
    """What a worker with ``devices`` sees: CUDA's and the NVIDIA runtime's device lists,
    ``RUNPOD_GPU_COUNT`` as RunPod sets it, and the GPU fitness check switched on.

    Device indices are NVML's (``nvidia-smi``'s), which count in PCI bus order; CUDA counts
    fastest first unless ``CUDA_DEVICE_ORDER=PCI_BUS_ID``, so on a box with mixed GPUs index
    1 could be another card to CUDA than to NVML (and to the telemetry). The order is set to
    the bus order unless the user chose one."""
    listed = ",".join(devices)
    return {
        "CUDA_VISIBLE_DEVICES": listed,
        "CUDA_DEVICE_ORDER": os.environ.get("CUDA_DEVICE_ORDER", "PCI_BUS_ID"),
        "NVIDIA_VISIBLE_DEVICES": listed,
        "RUNPOD_GPU_COUNT": str(len(devices)),
        # A worker with GPUs runs RunPod's GPU fitness check unless the user skips it.
        "RUNPOD_SKIP_GPU_CHECK": os.environ.get("RUNPOD_SKIP_GPU_CHECK", "false"),
    }


_FITNESS_FAILED = re.compile(r"Fitness check failed: (\S+)")
_GPU_CHECK = re.compile(r"gpu|cuda|nvml", re.IGNORECASE)


def failed_gpu_check(lines: Iterable[tuple[str, bool]]) -> str | None:
    """The name of the GPU fitness check a worker's output says failed, or None.

    The worker runtime logs ``Fitness check failed: <name> | ...`` before it exits 1; a
    check counts as a GPU check when its name says gpu, cuda or nvml (the built-in
    ``_gpu_health_check`` and ``_cuda_version_check``, or a user's ``check_gpu_memory``).
    """
    for text, _ in lines:
        match = _FITNESS_FAILED.search(text)
        if match and _GPU_CHECK.search(match.group(1)):
            return match.group(1)
    return None
