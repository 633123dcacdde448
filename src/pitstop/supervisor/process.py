"""One worker process: ``python -u HANDLER.py ARGS`` in its own process group.

The supervisor owns many of these. Each gets a worker id (``RUNPOD_POD_ID``) and a short
display label (``w3``) that prefixes every line it prints, so interleaved output from several
workers stays readable: ``w3 | [job-id] text``.

Each worker is the leader of its own session and process group, so a terminal Ctrl-C reaches
only the supervisor, which then drains the worker with one SIGTERM (a second signal straight
from the terminal could make it abandon its in-flight jobs). Whatever the worker starts (an
inference server, a shell) joins its group, so the supervisor can end all of it with one
signal. On Linux each worker also asks the kernel for a SIGTERM when the supervisor dies, so a
killed supervisor never leaves orphans behind.

The exit of the worker process itself is the event; its output pipes are not. A child that
inherited stdout keeps the pipe open after the worker is gone, so :meth:`WorkerProcess.wait`
reads the last output for at most :data:`PIPE_LINGER` seconds after the exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from pitstop.supervisor.groups import signal_group
from pitstop.supervisor.transcript import Sink, Transcript

_PR_SET_PDEATHSIG = 1
PIPE_LINGER = 0.25
"""Seconds to wait for a worker's last output after it exited (its pipes may never close)."""


def default_sink(line: str, is_err: bool) -> None:
    """Write a worker's line to the supervisor's own stdout or stderr (looked up per call)."""
    stream = sys.stderr if is_err else sys.stdout
    stream.write(line + "\n")
    stream.flush()


def _load_pdeathsig() -> Callable[[], None] | None:
    """A pre-exec hook that makes the child get SIGTERM when its parent dies (Linux only).

    The libc function is resolved here, in the parent, so the child only makes one plain
    system call between fork and exec (nothing that could take a lock).
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    term = int(signal.SIGTERM)

    def hook() -> None:
        prctl(_PR_SET_PDEATHSIG, term, 0, 0, 0)

    return hook


_PDEATHSIG_HOOK = _load_pdeathsig()


def describe_exit(code: int) -> str:
    """``exit 1`` or ``signal SIGKILL`` for a return code as asyncio reports it."""
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit {code}"


class _Pipes(asyncio.SubprocessProtocol):
    """Splits the worker's stdout and stderr into lines; notes the exit and the pipes' end.

    Reads whatever the loop delivers rather than ``readline`` so an arbitrarily long line (a
    base64 image printed by mistake) cannot hit a limit and stall the worker on a full pipe.
    """

    def __init__(self, on_line: Sink) -> None:
        loop = asyncio.get_running_loop()
        self.exited: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()
        self._on_line = on_line
        self._partial: dict[int, bytes] = {1: b"", 2: b""}

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        *lines, self._partial[fd] = (self._partial.get(fd, b"") + data).split(b"\n")
        for raw in lines:
            self._on_line(_text(raw), fd == 2)

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        rest = self._partial.pop(fd, b"")
        if rest:
            self._on_line(_text(rest), fd == 2)
        if not self._partial and not self.closed.done():
            self.closed.set_result(None)

    def process_exited(self) -> None:
        if not self.exited.done():
            self.exited.set_result(None)


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace").rstrip("\r")


@dataclass(eq=False)
class WorkerProcess:
    """A running (or finished) worker process and what the supervisor knows about it."""

    worker_id: str
    label: str
    pid: int
    """The operating-system process id (also the id of its process group)."""
    transport: asyncio.SubprocessTransport
    pipes: _Pipes
    transcript: Transcript
    started_at: float
    retiring: bool = False
    """Asked to stop (scale-down, reload or drain): its exit is expected, never replaced."""
    killed: bool = False
    devices: tuple[str, ...] = ()
    """The GPUs assigned to it (and to its whole process group) until it was reaped."""
    quarantined: bool = False
    """Its GPU failed the fitness check: its devices are never handed out again."""

    @property
    def running(self) -> bool:
        """True until the process has exited."""
        return self.transport.get_returncode() is None

    def uptime(self, now: float | None = None) -> float:
        """Seconds since the process was started."""
        return (time.monotonic() if now is None else now) - self.started_at

    def terminate(self) -> None:
        """Ask for a graceful stop (SIGTERM to the worker alone): it takes no new job, finishes
        and reports its in-flight ones, which may still need the processes it started."""
        self.retiring = True
        if self.running:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)

    def kill(self) -> None:
        """Stop at once: SIGKILL to the whole process group; in-flight jobs go back to the
        queue when their lease ends."""
        self.retiring = True
        self.killed = True
        signal_group(self.pid, signal.SIGKILL)

    async def wait(self) -> int:
        """Wait for the exit and (for at most :data:`PIPE_LINGER`) its last output lines."""
        await self.pipes.exited
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(self.pipes.closed), PIPE_LINGER)
        code = self.transport.get_returncode()
        assert code is not None
        return code

    def close(self) -> None:
        """Release the pipes (a leftover child writing to them later gets EPIPE)."""
        self.transport.close()


async def spawn(
    handler_path: str,
    env: Mapping[str, str],
    *,
    worker_id: str,
    label: str,
    transcript: Transcript,
    args: Sequence[str] = (),
) -> WorkerProcess:
    """Start ``python -u HANDLER ARGS`` with ``env``; its lines go to ``transcript``."""
    loop = asyncio.get_running_loop()
    started_at = time.monotonic()  # before the exec: a quick process may end before it returns
    transport, pipes = await loop.subprocess_exec(
        lambda: _Pipes(transcript),
        sys.executable,
        "-u",
        handler_path,
        *args,
        env=dict(env),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
        preexec_fn=_PDEATHSIG_HOOK,
    )
    return WorkerProcess(
        worker_id=worker_id,
        label=label,
        pid=transport.get_pid(),
        transport=transport,
        pipes=pipes,
        transcript=transcript,
        started_at=started_at,
    )


def worker_environment(
    base: Mapping[str, str],
    protocol_env: Mapping[str, str],
    *,
    concurrency: int,
    ping_interval_ms: int | None = None,
    shutdown_grace: float | None = None,
) -> dict[str, str]:
    """The environment of one worker process.

    Starts from ``base`` (the supervisor's own environment), overrides the protocol variables
    (``RUNPOD_WEBHOOK_*``, ``RUNPOD_POD_ID``, ``RUNPOD_AI_API_KEY``), and fills in defaults the
    user may override: skip RunPod's system and GPU checks, the ping interval,
    how long in-flight jobs may run after SIGTERM (the supervisor's drain timeout).
    ``PITSTOP_CONCURRENCY`` always follows ``--concurrency``.
    """
    env = dict(base)
    env.update(protocol_env)
    env.setdefault("RUNPOD_SKIP_AUTO_SYSTEM_CHECKS", "true")
    env.setdefault("RUNPOD_SKIP_GPU_CHECK", "true")
    env.setdefault("PYTHONUNBUFFERED", "1")
    if ping_interval_ms is not None:
        env.setdefault("RUNPOD_PING_INTERVAL", str(ping_interval_ms))
    if shutdown_grace is not None:
        env.setdefault("PITSTOP_WORKER_SHUTDOWN_GRACE", f"{shutdown_grace:g}")
    env["PITSTOP_CONCURRENCY"] = str(concurrency)
    return env
