"""``--gpus`` parsing, NVML behind :class:`GpuProbe` (a fake, and the real one on a GPU box),
and the allocator's sharing rules across endpoints."""

from __future__ import annotations

import sys
import types
from typing import Any

import pytest

from pitstop.config import SupervisorConfig
from pitstop.errors import ConfigError
from pitstop.supervisor.devices import allowed_devices, plan_leases
from pitstop.supervisor.endpoints import device_leases
from pitstop.supervisor.gpus import (
    GpuStats,
    NvmlProbe,
    failed_gpu_check,
    gpu_environment,
    parse_gpus,
)


class FakeProbe:
    """Two GPUs with fixed readings."""

    def devices(self) -> list[str]:
        return ["0", "1"]

    def read(self, index: str) -> GpuStats:
        return GpuStats(index, "Fake A100", 50, 1 << 30, 80 << 30, 40)


def test_gpus_spec_parses_all_none_and_lists() -> None:
    assert parse_gpus("all") == "all"
    assert parse_gpus(" NONE ") == "none"
    assert parse_gpus("0, 2,10") == ("0", "2", "10")
    assert parse_gpus([1, 3]) == ("1", "3")
    for bad in ("0,0", "gpu0", "", [True]):
        with pytest.raises(ConfigError):
            parse_gpus(bad)


def test_all_means_the_probes_devices_and_none_without_nvml() -> None:
    sup = SupervisorConfig(handler_path="h.py", endpoint_id="ep", max_workers=3)
    lease = device_leases([sup], FakeProbe())["ep"]
    assert lease is not None and lease.allowed == ("0", "1")
    lines: list[str] = []
    leases = device_leases([sup], FakeProbe(), lines.append)
    assert lines == ["ep: at most 2 worker(s) of 1 GPU(s) each on GPU 0,1 (--max-workers 3)"]
    assert leases["ep"] is not None
    listed = SupervisorConfig(handler_path="h.py", endpoint_id="ep", gpus="4,5")
    assert device_leases([listed], None)["ep"].allowed == ("4", "5")  # type: ignore[union-attr]
    nothing = SupervisorConfig(handler_path="h.py", endpoint_id="ep", gpus="none")
    assert device_leases([nothing], FakeProbe())["ep"] is None


def test_listed_devices_are_reserved_and_all_shares_the_rest() -> None:
    specs: dict[str, Any] = {"a": ("0", "1"), "b": "all", "c": "all", "d": "none"}
    allowed = allowed_devices(specs, ["0", "1", "2", "3"])
    assert allowed == {"a": ("0", "1"), "b": ("2", "3"), "c": ("2", "3"), "d": ()}


def test_an_endpoint_keeps_to_its_fair_share_while_another_waits() -> None:
    leases = plan_leases({"a": "all", "b": "all"}, {"a": 1, "b": 1}, ["0", "1", "2", "3"])
    a, b = leases["a"], leases["b"]
    assert a is not None and b is not None
    assert [a.acquire() for _ in range(3)] == [("0",), ("1",), ("2",)], "nobody else waits"
    assert b.acquire() == ("3",)
    assert b.acquire() is None and b.waiting
    a.release(["2"])
    assert a.acquire() is None, "a holds its share (2 of 4) while b waits"
    assert b.acquire() == ("2",)
    b.satisfied()
    a.quarantine(["0"])
    a.release(["0"])
    assert a.allocator.free() == [], "a quarantined device is never free again"
    assert a.capacity == 3


def test_workers_count_devices_in_nvml_order_unless_the_user_chose_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CUDA_DEVICE_ORDER", raising=False)
    env = gpu_environment(("1", "3"))
    assert env["CUDA_VISIBLE_DEVICES"] == env["NVIDIA_VISIBLE_DEVICES"] == "1,3"
    assert env["CUDA_DEVICE_ORDER"] == "PCI_BUS_ID"
    assert env["RUNPOD_GPU_COUNT"] == "2"
    monkeypatch.setenv("CUDA_DEVICE_ORDER", "FASTEST_FIRST")
    assert gpu_environment(("0",))["CUDA_DEVICE_ORDER"] == "FASTEST_FIRST"


def test_a_failed_gpu_fitness_check_is_recognised() -> None:
    failed = [("Fitness check failed: _gpu_health_check | RuntimeError: no GPU", False)]
    assert failed_gpu_check(failed) == "_gpu_health_check"
    assert failed_gpu_check([("Fitness check failed: _memory_check | low", False)]) is None
    assert failed_gpu_check([("all fine", False)]) is None


def fake_pynvml() -> types.ModuleType:
    """A ``pynvml`` stand-in with two devices (the second answers no temperature)."""
    module = types.ModuleType("pynvml")
    state = {"init": 0, "shutdown": 0}

    def temperature(handle: int, sensor: int) -> int:
        if handle == 1:
            raise RuntimeError("NVML_ERROR_NOT_SUPPORTED")
        return 61

    module.__dict__.update(
        state=state,
        NVML_TEMPERATURE_GPU=0,
        nvmlInit=lambda: state.__setitem__("init", state["init"] + 1),
        nvmlShutdown=lambda: state.__setitem__("shutdown", state["shutdown"] + 1),
        nvmlDeviceGetCount=lambda: 2,
        nvmlDeviceGetHandleByIndex=lambda i: i,
        nvmlDeviceGetName=lambda h: b"NVIDIA H100" if h == 0 else "NVIDIA L4",
        nvmlDeviceGetUtilizationRates=lambda h: types.SimpleNamespace(gpu=37 + h, memory=5),
        nvmlDeviceGetMemoryInfo=lambda h: types.SimpleNamespace(used=1024 * (h + 1), total=8192),
        nvmlDeviceGetTemperature=temperature,
    )
    return module


def test_nvml_probe_reads_each_device(monkeypatch: pytest.MonkeyPatch) -> None:
    module = fake_pynvml()
    monkeypatch.setitem(sys.modules, "pynvml", module)
    probe = NvmlProbe.open()
    assert probe is not None
    assert probe.devices() == ["0", "1"]
    first, second = probe.read("0"), probe.read("1")
    probe.close()
    assert first == GpuStats("0", "NVIDIA H100", 37, 1024, 8192, 61)
    assert second == GpuStats("1", "NVIDIA L4", 38, 2048, 8192, None)
    assert first.as_json()["memoryTotal"] == 8192
    assert module.state == {"init": 1, "shutdown": 1}


def test_no_nvml_library_or_driver_means_no_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    module = fake_pynvml()

    def no_driver() -> None:
        raise RuntimeError("NVML Shared Library Not Found")

    module.__dict__["nvmlInit"] = no_driver
    monkeypatch.setitem(sys.modules, "pynvml", module)
    assert NvmlProbe.open() is None
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import pynvml raises ImportError
    assert NvmlProbe.open() is None


def test_real_nvml_reads_the_machines_gpus() -> None:
    probe = NvmlProbe.open()
    if probe is None:
        pytest.skip("no NVIDIA GPU here (pynvml missing or no driver): the real NVML path")
    try:
        devices = probe.devices()
        assert devices, "NVML answered but lists no device"
        stats = probe.read(devices[0])
    finally:
        probe.close()
    assert stats.name and stats.memory_total and stats.memory_total > 0
