"""What the worker pool reacts to (its events), and what it hands out (crash reports).

Signal handlers, process watchers, the scaler and the file watcher only post these onto the
pool's queue; :meth:`pitstop.supervisor.pool.Pool.run` alone acts on them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pitstop.supervisor.process import WorkerProcess


@dataclass(frozen=True)
class Exited:
    """A worker process ended with ``code`` (negative: killed by that signal)."""

    worker: WorkerProcess
    code: int


@dataclass(frozen=True)
class Scale:
    """The scaler wants ``count`` live workers."""

    count: int


@dataclass(frozen=True)
class Reload:
    """The handler's code changed: replace every worker (gracefully)."""

    paths: tuple[str, ...] = ()


@dataclass(frozen=True)
class Stop:
    """Drain and stop (a signal, or the caller); a second one stops at once."""

    reason: str = "stop requested"


@dataclass(frozen=True)
class Reaped:
    """Nothing of an exited worker's process group is left (or it was sent SIGKILL)."""

    worker: WorkerProcess


@dataclass(frozen=True)
class Freed:
    """Device sets became free (any endpoint's worker was reaped): retry waiting spawns."""


Event = Exited | Scale | Reload | Stop | Reaped | Freed
EnvFactory = Callable[[str], Mapping[str, str]]
"""Builds a worker's environment from its worker id."""


@dataclass(frozen=True)
class CrashReport:
    """A crashed worker as the server hears about it (an ``unhealthy`` ping)."""

    worker_id: str
    exit_code: int
    error: str
    """The error line: the last line the worker wrote to stderr."""
    check: str
    """``crashed``, or ``crash_loop`` once the streak reached the threshold."""
    reason: str


Reporter = Callable[[CrashReport], Awaitable[None]]

Releaser = Callable[[str], Awaitable[None]]
"""Hands a gone worker's jobs back to the queue (by worker id) through the server."""
"""Reports a crash to the server; must never raise."""
