"""Helpers for supervisor and example tests: script workers, fixtures, bounded polling."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from pitstop.config import SupervisorConfig


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting for its reaper counts as gone)."""
    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


async def until(
    cond: Callable[[], object],
    timeout: float = 10.0,
    what: str = "",
    output: Callable[[], str] | None = None,
) -> None:
    """Poll ``cond`` every 10 ms until truthy; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            shown = f"\n--- output ---\n{output()}" if output else ""
            raise AssertionError(f"timed out after {timeout}s waiting for {what or cond}{shown}")
        await asyncio.sleep(0.01)


class Lines:
    """A sink that keeps every line (supervisor and worker output alike)."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, bool]] = []
        self.times: list[float] = []
        """Wall-clock time each line arrived (``time.time()``, comparable with the store's)."""

    def __call__(self, line: str, is_err: bool) -> None:
        self.lines.append((line, is_err))
        self.times.append(time.time())

    def time_of(self, fragment: str) -> float:
        """When the first line containing ``fragment`` arrived."""
        for (line, _), at in zip(self.lines, self.times, strict=True):
            if fragment in line:
                return at
        raise AssertionError(f"no line with {fragment!r} in:\n{self.text()}")

    def text(self) -> str:
        return "\n".join(line for line, _ in self.lines)

    def has(self, fragment: str) -> bool:
        return any(fragment in line for line, _ in self.lines)


@pytest.fixture
def lines() -> Lines:
    return Lines()


@pytest.fixture
def script(tmp_path: Path) -> Callable[[str, str], str]:
    """Write a Python script to tmp_path and return its path."""

    def make(name: str, body: str) -> str:
        path = tmp_path / name
        path.write_text(body)
        return str(path)

    return make


def plain_env(worker_id: str) -> dict[str, str]:
    """Environment for a script worker: ours plus its worker id."""
    return {**os.environ, "RUNPOD_POD_ID": worker_id}


def fast_config(handler: str, **overrides: object) -> SupervisorConfig:
    """A supervisor config with millisecond intervals."""
    values: dict[str, object] = {
        "handler_path": handler,
        "endpoint_id": "ep",
        "restart_backoff_base": 0.01,
        "restart_backoff_max": 0.08,
        "crash_loop_threshold": 4,
        "stable_after": 30.0,
        "drain_timeout": 5.0,
        "scale_interval": 0.02,
        "idle_timeout": 0.3,
    }
    values.update(overrides)
    return SupervisorConfig(**values)  # type: ignore[arg-type]


HANDLERS = Path(__file__).parent / "handlers"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def fast_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Millisecond worker-runtime intervals, inherited by every worker process we spawn."""
    for name in list(os.environ):
        if name.startswith(("RUNPOD_", "PITSTOP_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PITSTOP_WORKER_STOP_POLL_FLOOR", "0.05")
    monkeypatch.setenv("PITSTOP_WORKER_BACKOFF_BASE", "0.01")
    monkeypatch.setenv("PITSTOP_WORKER_BACKOFF_MAX", "0.1")
    monkeypatch.setenv("PITSTOP_WORKER_RESULT_BACKOFF", "0.01")
    monkeypatch.setenv("RUNPOD_LOG_LEVEL", "INFO")
