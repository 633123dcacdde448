"""Per-job timing checkpoints for ``--rp_debugger``, as RunPod's ``rp_debugger``.

:class:`Checkpoints` is a process-wide registry of named timers; :class:`LineTimer` (a
context manager) and :class:`FunctionTimer` (a decorator) fill it, and
:func:`get_debugger_output` drains it into the ``rp_debugger`` payload the worker attaches
to a result. Two fixes over RunPod's 1.12.0: timers reused within one job get a numbered
name (``name#2``) instead of raising KeyError mid-job, and timestamps are valid ISO 8601
UTC (``...Z``, not ``...+00:00Z``).
"""

from __future__ import annotations

import datetime
import functools
import platform
import time
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = [
    "Checkpoints",
    "FunctionTimer",
    "LineTimer",
    "clear_debugger_output",
    "get_debugger_output",
]

F = TypeVar("F", bound=Callable[..., Any])


def _utc_now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat().replace("+00:00", "Z")


class Checkpoints:
    """The process-wide checkpoint registry (every instantiation returns the same object)."""

    _instance: Checkpoints | None = None
    checkpoints: list[dict[str, Any]]
    name_lookup: dict[str, int]

    def __new__(cls) -> Checkpoints:
        if cls._instance is None:
            instance = super().__new__(cls)
            instance.checkpoints = []
            instance.name_lookup = {}
            cls._instance = instance
        return cls._instance

    def add(self, name: str) -> None:
        """Register a checkpoint; KeyError if the name exists."""
        if name in self.name_lookup:
            raise KeyError(f'Checkpoint name "{name}" already exists.')
        self.name_lookup[name] = len(self.checkpoints)
        self.checkpoints.append({"name": name})

    def add_unique(self, name: str) -> str:
        """Register ``name``, or ``name#2``, ``name#3``... if taken; return the name used."""
        candidate, n = name, 1
        while candidate in self.name_lookup:
            n += 1
            candidate = f"{name}#{n}"
        self.add(candidate)
        return candidate

    def start(self, name: str) -> None:
        """Start a registered checkpoint; KeyError if unknown."""
        entry = self._entry(name)
        entry["start"] = time.perf_counter()
        entry["start_utc"] = _utc_now()

    def stop(self, name: str) -> None:
        """Stop a started checkpoint; KeyError if unknown or not started."""
        entry = self._entry(name)
        if "start" not in entry:
            raise KeyError("Checkpoint has not been started.")
        entry["end"] = time.perf_counter()
        entry["stop_utc"] = _utc_now()

    def get_checkpoints(self) -> list[dict[str, Any]]:
        """Completed checkpoints as ``{name, start_utc, stop_utc, duration_ms}``."""
        results = []
        for entry in self.checkpoints:
            if "start" in entry and "end" in entry:
                done = {k: v for k, v in entry.items() if k not in ("start", "end")}
                done["duration_ms"] = (entry["end"] - entry["start"]) * 1000
                results.append(done)
        return results

    def clear(self) -> None:
        """Forget every checkpoint."""
        self.checkpoints = []
        self.name_lookup = {}

    def _entry(self, name: str) -> dict[str, Any]:
        if name not in self.name_lookup:
            raise KeyError(f"Checkpoint name '{name}' does not exist.")
        return self.checkpoints[self.name_lookup[name]]


class LineTimer:
    """``with LineTimer("load"):`` records the block's duration as a checkpoint."""

    def __init__(self, name: str) -> None:
        self.checkpoints = Checkpoints()
        self.name = self.checkpoints.add_unique(name)

    def __enter__(self) -> None:
        self.checkpoints.start(self.name)

    def __exit__(self, *exc: object) -> None:
        self.checkpoints.stop(self.name)


class FunctionTimer:
    """Decorator recording each call of the function as a checkpoint named after it."""

    def __init__(self, function: Callable[..., Any]) -> None:
        self.function = function
        self.checkpoints = Checkpoints()
        functools.update_wrapper(self, function)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        name = self.checkpoints.add_unique(self.function.__name__)
        self.checkpoints.start(name)
        try:
            return self.function(*args, **kwargs)
        finally:
            self.checkpoints.stop(name)


def _processor() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "Unable to get processor info."


def system_info() -> dict[str, str]:
    """The machine description in every debugger output (``os``, ``processor``, ...)."""
    from pitstop import __version__

    return {
        "os": f"{platform.system()} {platform.release()}",
        "processor": _processor(),
        "python_version": platform.python_version(),
        "runpod": __version__,
    }


def get_debugger_output() -> dict[str, Any]:
    """Drain the checkpoints into ``{"system_info": {...}, "timestamps": [...]}``."""
    checkpoints = Checkpoints()
    timestamps = checkpoints.get_checkpoints()
    checkpoints.clear()
    return {"system_info": system_info(), "timestamps": timestamps}


def clear_debugger_output() -> None:
    """Forget every checkpoint (the worker calls it when the debugger flag is off)."""
    Checkpoints().clear()
