"""Fixtures for the black-box protocol suite: the pitstop worker against the fake platform.

Every interval is shortened through the environment (``RUNPOD_PING_INTERVAL`` in ms and
pitstop's ``PITSTOP_WORKER_*`` seconds), so each scenario takes well under a few seconds.

* ``run(handler, *jobs, extra=..., args=...)`` queues jobs on the test's own ``platform`` and
  starts a fresh pitstop worker: for scenarios that script the platform or end the process.
* ``shared.get(handler, **extra)`` returns a long-lived worker and its platform (one pair
  per handler and extra env, per module); tests queue jobs with unique ids (``job_id``
  fixture) and read only their own traffic. It saves a process start per test.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tests.support.platform import FakePlatform
from tests.support.procs import WorkerProcess, start_worker

FAST = {
    "PITSTOP_WORKER_STOP_POLL_FLOOR": "0.2",
    "PITSTOP_WORKER_BACKOFF_BASE": "0.05",
    "PITSTOP_WORKER_BACKOFF_MAX": "0.2",
    "PITSTOP_WORKER_RATE_LIMIT_WAIT": "0.5",
    "PITSTOP_WORKER_RESULT_ATTEMPTS": "3",
    "PITSTOP_WORKER_RESULT_BACKOFF": "0.05",
    "PITSTOP_WORKER_SHUTDOWN_GRACE": "5",
}
"""pitstop's intervals for tests: backoff 50-200 ms, stop-poll floor 200 ms, 429 wait 500 ms."""

PING_MS = 200


def fast_env(platform: FakePlatform) -> dict[str, str]:
    return {**platform.env(ping_interval_ms=PING_MS), **FAST}


@pytest.fixture
def env(platform: FakePlatform) -> dict[str, str]:
    """Spec §9's fixture env pointing at ``platform``, with millisecond intervals."""
    return fast_env(platform)


@pytest.fixture
def run(
    platform: FakePlatform, env: dict[str, str], spawn: Callable[..., WorkerProcess]
) -> Iterator[Callable[..., WorkerProcess]]:
    """``run(handler, *jobs, extra={...}, args=[...])``: queue jobs, start a pitstop worker."""

    def _run(
        handler: str, *jobs: Any, extra: dict[str, str] | None = None, args: Any = ()
    ) -> WorkerProcess:
        platform.add_jobs(*jobs)
        return spawn(handler, {**env, **(extra or {})}, args=args)

    yield _run


@dataclass
class Shared:
    """One long-lived pitstop worker and its own platform."""

    platform: FakePlatform
    worker: WorkerProcess


class SharedWorkers:
    """Long-lived pitstop workers, one platform each, started on first use."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self._started: dict[tuple[str, tuple[tuple[str, str], ...]], Shared] = {}

    def get(self, handler: str, **extra: str) -> Shared:
        key = (handler, tuple(sorted(extra.items())))
        shared = self._started.get(key)
        if shared is None:
            platform = FakePlatform(take_hold=0.2, stop_hold=0.2).start()
            env = {**fast_env(platform), **extra}
            workdir = self.workdir / f"shared{len(self._started)}"
            shared = Shared(platform, start_worker(handler, env, workdir=workdir))
            self._started[key] = shared
        assert shared.worker.returncode is None, shared.worker.output()
        return shared

    def close(self) -> None:
        """SIGTERM every worker once it is polling; each must exit 0."""
        codes = {}
        for key, shared in self._started.items():
            shared.platform.wait_for(shared.platform.takes)
            codes[key] = shared.worker.shutdown()
            shared.worker.close()
            shared.platform.stop()
        assert all(code == 0 for code in codes.values()), codes


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedWorkers]:
    workers = SharedWorkers(tmp_path_factory.mktemp("shared"))
    yield workers
    workers.close()


@pytest.fixture
def job_id() -> str:
    """A fresh job id, so tests sharing a platform read only their own requests."""
    return f"j{uuid.uuid4().hex[:10]}"
