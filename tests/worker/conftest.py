"""Fixtures for the worker runtime's process-level tests.

``worker(kind, *jobs, **env)`` queues jobs on the fake platform (``platform`` fixture of the
root conftest) and starts ``workers/behave.py`` with handler kind ``kind`` and every interval
shortened to milliseconds.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.support.platform import FakePlatform
from tests.support.procs import WorkerProcess

BEHAVE = Path(__file__).parent / "workers" / "behave.py"
FAST = {
    "PITSTOP_WORKER_STOP_POLL_FLOOR": "0.05",
    "PITSTOP_WORKER_BACKOFF_BASE": "0.02",
    "PITSTOP_WORKER_BACKOFF_MAX": "0.1",
    "PITSTOP_WORKER_RATE_LIMIT_WAIT": "0.3",
    "PITSTOP_WORKER_RESULT_ATTEMPTS": "3",
    "PITSTOP_WORKER_RESULT_BACKOFF": "0.02",
    "PITSTOP_WORKER_SHUTDOWN_GRACE": "5",
}


@pytest.fixture
def worker(
    platform: FakePlatform, spawn: Callable[..., WorkerProcess]
) -> Callable[..., WorkerProcess]:
    def _worker(
        kind: str, *jobs: Any, args: tuple[str, ...] = (), pod_id: str | None = "pod1", **env: str
    ) -> WorkerProcess:
        platform.add_jobs(*jobs)
        base = platform.env(pod_id=pod_id, ping_interval_ms=100)
        full = {**base, **FAST, "W_KIND": kind, **env}
        return spawn(BEHAVE, full, args=args)

    return _worker
