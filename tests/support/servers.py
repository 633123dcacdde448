"""Run ``pitstop server`` as a real subprocess (for crashes, fd limits and outages).

``ServerProcess(args, workdir, env=..., nofile=...)`` starts ``python -m pitstop.cli server
--port 0 ARGS`` with a clean environment (see :func:`tests.support.procs.clean_env`), waits
for its "listening on URL" log line and exposes ``url``. ``nofile`` lowers the child's
``RLIMIT_NOFILE`` before it starts (as ``ulimit -n`` would). Output goes to files;
``output()`` shows it for assertion messages. Use it as a context manager: the process is
killed on exit.
"""

from __future__ import annotations

import re
import resource
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from tests.support.procs import clean_env, pitstop_python

_LISTENING = re.compile(r"listening on (http://[^\s]+)")


class ServerProcess:
    """A ``pitstop server`` subprocess (see the module docstring)."""

    def __init__(
        self,
        args: Sequence[str],
        workdir: Path,
        *,
        env: Mapping[str, str] | None = None,
        nofile: int | None = None,
        timeout: float = 15.0,
    ) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self._err_path = workdir / "server.stderr"
        self._err = self._err_path.open("wb")
        cmd = [pitstop_python(), "-m", "pitstop.cli", "server", "--port", "0", *args]
        self.proc = subprocess.Popen(
            cmd,
            cwd=workdir,
            env=clean_env(workdir, {"PITSTOP_LOG_LEVEL": "info", **(env or {})}),
            stdout=subprocess.DEVNULL,
            stderr=self._err,
            stdin=subprocess.DEVNULL,
            preexec_fn=_limit_files(nofile) if nofile else None,
        )
        self.url = self._wait_url(timeout)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def output(self) -> str:
        return self._err_path.read_text("utf-8", errors="replace")

    def _wait_url(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = _LISTENING.search(self.output())
            if found:
                return found[1]
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        self.kill()
        raise AssertionError(f"server did not start within {timeout}s\n{self.output()}")

    def kill(self) -> None:
        """SIGKILL (a crash) and reap."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(5)

    def close(self) -> None:
        self.kill()
        self._err.close()

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _limit_files(nofile: int) -> Callable[[], None]:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

    return limit
