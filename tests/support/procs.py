"""Start worker files as real subprocesses, under pitstop or under the official RunPod SDK.

``start_worker(handler, env, runtime=PITSTOP)`` runs ``tests/handlers/<handler>.py`` (or any
path) with the interpreter of the chosen runtime: pitstop's ``.venv`` (where ``import runpod``
is pitstop's facade) or the official SDK's virtualenv (``PITSTOP_OFFICIAL_PYTHON``, else
``.venv-runpod/bin/python``). The child gets a clean environment: the caller's variables
minus every ``RUNPOD_*``/``PITSTOP_*``/``TEST_*`` one, ``HOME`` pointed at its own directory
(so a developer's ``~/.runpod/config.toml`` cannot override the API key), unbuffered
output, then ``env``. stdout and stderr go to files (no pipe can fill up and block the
worker); ``WorkerProcess.stdout`` reads them at any time.

``WorkerProcess`` has ``wait(timeout) -> int`` (raises AssertionError with the output on
timeout), ``signal(sig)``, ``terminate()``, ``shutdown(sig, timeout) -> int``, ``kill()``, ``wait_output(text, timeout)``,
``marks()``/``wait_mark(job_id)`` (handler start times printed by tests/handlers),
``returncode`` and ``stdout``/``stderr``. Use it as a context manager (or through the
``spawn`` fixture) so a stuck worker is always killed.
"""

from __future__ import annotations

import os
import re
import signal as signals
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HANDLERS = REPO / "tests" / "handlers"
PITSTOP = "pitstop"
OFFICIAL = "official"
RUNTIMES = (PITSTOP, OFFICIAL)
_SCRUB = ("RUNPOD_", "PITSTOP_", "TEST_")
_MARK = re.compile(r"MARK START (\S+) ([0-9.]+)")


class MissingRuntimeError(RuntimeError):
    """The official SDK interpreter is not available (run ``scripts/official-sdk``)."""


def pitstop_python() -> str:
    """The interpreter where ``import runpod`` is pitstop's facade."""
    venv = REPO / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def official_python() -> str:
    """The official SDK's interpreter; raises MissingRuntimeError when it is absent."""
    configured = os.environ.get("PITSTOP_OFFICIAL_PYTHON")
    path = Path(configured) if configured else REPO / ".venv-runpod" / "bin" / "python"
    if not path.exists():
        raise MissingRuntimeError(
            f"official runpod SDK interpreter not found at {path}; run scripts/official-sdk"
        )
    return str(path)


def python_for(runtime: str) -> str:
    if runtime == PITSTOP:
        return pitstop_python()
    if runtime == OFFICIAL:
        return official_python()
    raise ValueError(f"unknown runtime {runtime!r}")


def handler_path(handler: str | Path) -> Path:
    """``"echo"`` -> ``tests/handlers/echo.py``; a path is returned as is."""
    path = Path(handler)
    if path.suffix == ".py":
        return path
    return HANDLERS / f"{handler}.py"


def clean_env(home: Path, env: Mapping[str, str]) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUB)}
    base.pop("PYTHONPATH", None)
    base.update({"HOME": str(home), "PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1"})
    base.update(env)
    return base


class WorkerProcess:
    """A worker subprocess with its output captured to files."""

    def __init__(
        self,
        handler: str | Path,
        env: Mapping[str, str],
        *,
        workdir: Path,
        runtime: str = PITSTOP,
        args: Sequence[str] = (),
    ) -> None:
        self.runtime = runtime
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self._out_path = workdir / "stdout.txt"
        self._err_path = workdir / "stderr.txt"
        self._out = self._out_path.open("wb")
        self._err = self._err_path.open("wb")
        cmd = [python_for(runtime), str(handler_path(handler)), *args]
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(
            cmd,
            cwd=workdir,
            env=clean_env(workdir, env),
            stdout=self._out,
            stderr=self._err,
            stdin=subprocess.DEVNULL,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def returncode(self) -> int | None:
        return self.proc.poll()

    @property
    def stdout(self) -> str:
        return self._out_path.read_text("utf-8", errors="replace")

    @property
    def stderr(self) -> str:
        return self._err_path.read_text("utf-8", errors="replace")

    def output(self) -> str:
        """stdout and stderr, labelled, for assertion messages."""
        return f"--- stdout ---\n{self.stdout}\n--- stderr ---\n{self.stderr}"

    def wait(self, timeout: float = 10.0) -> int:
        """Wait for exit and return the code; AssertionError with the output on timeout."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(
                f"{self.runtime} worker did not exit within {timeout}s\n{self.output()}"
            ) from None

    def wait_output(self, text: str, timeout: float = 10.0) -> str:
        """Poll stdout+stderr until ``text`` appears; return everything printed so far."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            seen = self.stdout + self.stderr
            if text in seen:
                return seen
            if self.proc.poll() is not None:
                seen = self.stdout + self.stderr
                if text in seen:
                    return seen
                break
            time.sleep(0.02)
        raise AssertionError(f"{text!r} not printed within {timeout}s\n{self.output()}")

    def marks(self) -> dict[str, float]:
        """Job id -> monotonic start time, from the handlers' ``MARK START`` lines."""
        return {m[1]: float(m[2]) for m in _MARK.finditer(self.stdout)}

    def wait_mark(self, job_id: str, timeout: float = 10.0) -> float:
        """Wait for the handler of ``job_id`` to start; its monotonic start time."""
        self.wait_output(f"MARK START {job_id} ", timeout)
        return self.marks()[job_id]

    def signal(self, sig: int) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)

    def terminate(self) -> None:
        self.signal(signals.SIGTERM)

    def shutdown(self, sig: int = signals.SIGTERM, timeout: float = 5.0) -> int:
        """Send ``sig`` (SIGTERM) and return the exit code (AssertionError on timeout)."""
        self.signal(sig)
        return self.wait(timeout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def close(self) -> None:
        """Kill the worker if it still runs and close the output files."""
        self.kill()
        self._out.close()
        self._err.close()

    def __enter__(self) -> WorkerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def start_worker(
    handler: str | Path,
    env: Mapping[str, str],
    *,
    workdir: Path,
    runtime: str = PITSTOP,
    args: Sequence[str] = (),
) -> WorkerProcess:
    """Start ``handler`` (a name in tests/handlers or a path) as a worker subprocess."""
    return WorkerProcess(handler, env, workdir=workdir, runtime=runtime, args=args)
