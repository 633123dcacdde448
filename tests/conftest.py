"""Project-wide fixtures: a recording fake platform and a worker-process spawner.

``platform`` is a started ``tests.support.platform.FakePlatform`` (idle job-take and job-stop
holds of 200 ms). ``spawn(handler, env, runtime=..., args=..., workdir=...)`` starts a worker subprocess
(``tests.support.procs.WorkerProcess``) in ``workdir`` (default: a fresh directory under
``tmp_path``, also its HOME) and kills it at teardown.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import pytest

_REPO = str(Path(__file__).resolve().parents[1])
if _REPO not in sys.path:
    sys.path.insert(0, _REPO)

from tests.support.platform import FakePlatform  # noqa: E402
from tests.support.procs import PITSTOP, WorkerProcess, start_worker  # noqa: E402

Spawn = Callable[..., WorkerProcess]


@pytest.fixture
def platform() -> Iterator[FakePlatform]:
    with FakePlatform(take_hold=0.2, stop_hold=0.2) as fake:
        yield fake


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Spawn]:
    started: list[WorkerProcess] = []

    def _spawn(
        handler: str | Path,
        env: Mapping[str, str],
        *,
        runtime: str = PITSTOP,
        args: Sequence[str] = (),
        workdir: Path | None = None,
    ) -> WorkerProcess:
        workdir = workdir or tmp_path / f"worker{len(started)}-{runtime}"
        worker = start_worker(handler, env, workdir=workdir, runtime=runtime, args=args)
        started.append(worker)
        return worker

    yield _spawn
    for worker in started:
        worker.close()
