"""Real server and worker processes on one Redis, for the scale-out test and the benchmark.

``start_server(store_url, workdir, env)`` runs ``python -m pitstop.server`` on
``127.0.0.1:0`` and reads the bound URL from its log; ``start_worker(server_url, workdir,
worker_id, env)`` runs ``noop_handler.py`` with RunPod's worker variables pointing at that
server (:func:`pitstop.server.urls.worker_env`). Every process writes its output to files
under ``workdir`` and is killed by :meth:`Proc.kill` (``Cluster`` kills everything at exit).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

from pitstop.server.urls import worker_env

REPO = Path(__file__).resolve().parents[2]
PYTHON = str(REPO / ".venv" / "bin" / "python") if (REPO / ".venv").exists() else sys.executable
NOOP_HANDLER = Path(__file__).with_name("noop_handler.py")
ENDPOINT = "scale"


def clean_env(extra: Mapping[str, str]) -> dict[str, str]:
    """The caller's environment without RunPod/pitstop variables, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RUNPOD_", "PITSTOP_"))}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


class Proc:
    """A child process whose output goes to ``{workdir}/{name}.log``."""

    def __init__(self, name: str, args: list[str], env: Mapping[str, str], workdir: Path) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.log_path = workdir / f"{name}.log"
        self._log = self.log_path.open("wb")
        self.popen = subprocess.Popen(
            args, env=dict(env), cwd=workdir, stdout=self._log, stderr=subprocess.STDOUT
        )

    def output(self) -> str:
        """Everything the process printed so far."""
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL (no cleanup of any kind) and reap."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
        self.popen.wait()
        self._log.close()


def _server_url(proc: Proc, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in proc.output().splitlines():
            try:
                message = json.loads(line).get("msg", "")
            except ValueError:
                continue
            if message.startswith("pitstop server listening on "):
                return str(message.split()[4])
        if proc.popen.poll() is not None:
            break
        time.sleep(0.02)
    raise AssertionError(f"server {proc.name} did not start:\n{proc.output()}")


class Cluster:
    """Servers and workers started for one test; everything is killed on exit."""

    def __init__(self, workdir: Path, store_url: str, server_env: Mapping[str, str]) -> None:
        self.workdir = workdir
        self.store_url = store_url
        self.server_env = dict(server_env)
        self.procs: list[Proc] = []

    def __enter__(self) -> Cluster:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for proc in self.procs:
            proc.kill()

    def start_servers(self, count: int, timeout: float = 30.0) -> list[tuple[Proc, str]]:
        """``count`` ``python -m pitstop.server`` processes (started together); each with its
        base URL once it listens."""
        env = clean_env({**self.server_env, "PITSTOP_STORE": self.store_url})
        args = [PYTHON, "-m", "pitstop.server", "--host", "127.0.0.1", "--port", "0"]
        first = sum(p.name.startswith("server") for p in self.procs)
        started = [Proc(f"server{first + i}", args, env, self.workdir) for i in range(count)]
        self.procs.extend(started)
        return [(proc, _server_url(proc, timeout)) for proc in started]

    def start_worker(self, server_url: str, worker_id: str, env: Mapping[str, str]) -> Proc:
        """One no-op worker process taking jobs from ``server_url``."""
        variables = {**worker_env(server_url, ENDPOINT, worker_id, ""), **env}
        proc = Proc(worker_id, [PYTHON, str(NOOP_HANDLER)], clean_env(variables), self.workdir)
        self.procs.append(proc)
        return proc
