"""One worker process: spawn ``python HANDLER.py`` with RunPod's environment, pump its output.

The supervisor owns many of these. Each gets a unique worker id (``RUNPOD_POD_ID``) and a
short display label (``w3``) that prefixes every line it prints, so interleaved output from
several workers stays readable: ``w3 | [job-id] text``.

Workers run in their own session so a terminal Ctrl-C reaches only the supervisor, which then
drains them with one SIGTERM each (a second signal straight from the terminal could make a
worker abandon its in-flight jobs). On Linux each worker also asks the kernel for a SIGTERM
when the supervisor dies, so a killed supervisor never leaves orphans behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

Sink = Callable[[str, bool], None]
"""Receives one finished output line (no newline) and whether it came from stderr."""

_READ_CHUNK = 65536
_PR_SET_PDEATHSIG = 1


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


@dataclass
class WorkerProcess:
    """A running (or finished) worker process and what the supervisor knows about it."""

    worker_id: str
    label: str
    proc: asyncio.subprocess.Process
    started_at: float
    retiring: bool = False
    """Asked to stop (scale-down, reload or drain): its exit is expected, never replaced."""
    killed: bool = False
    _pumps: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def pid(self) -> int:
        """The operating-system process id."""
        return self.proc.pid

    @property
    def running(self) -> bool:
        """True until the process has exited."""
        return self.proc.returncode is None

    def uptime(self, now: float | None = None) -> float:
        """Seconds since the process was started."""
        return (time.monotonic() if now is None else now) - self.started_at

    def terminate(self) -> None:
        """Ask for a graceful stop (SIGTERM): no new jobs, in-flight jobs finish and report."""
        self.retiring = True
        self._send(signal.SIGTERM)

    def kill(self) -> None:
        """Stop at once (SIGKILL); in-flight jobs go back to the queue when their lease ends."""
        self.retiring = True
        self.killed = True
        self._send(signal.SIGKILL)

    def _send(self, sig: signal.Signals) -> None:
        if self.running:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(sig)

    async def wait(self) -> int:
        """Wait for the exit, then for the last output lines; return the exit code."""
        code = await self.proc.wait()
        if self._pumps:
            await asyncio.gather(*self._pumps, return_exceptions=True)
        return code


async def spawn(
    handler_path: str,
    env: Mapping[str, str],
    *,
    worker_id: str,
    label: str,
    sink: Sink = default_sink,
) -> WorkerProcess:
    """Start ``python -u HANDLER`` with ``env`` and pump its output through ``sink``."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-u",
        handler_path,
        env=dict(env),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
        preexec_fn=_PDEATHSIG_HOOK,
    )
    worker = WorkerProcess(worker_id=worker_id, label=label, proc=proc, started_at=time.monotonic())
    prefix = f"{label} | "
    for stream, is_err in ((proc.stdout, False), (proc.stderr, True)):
        if stream is not None:
            worker._pumps.append(asyncio.create_task(pump(stream, prefix, is_err, sink)))
    return worker


async def pump(stream: asyncio.StreamReader, prefix: str, is_err: bool, sink: Sink) -> None:
    """Forward complete lines from ``stream`` to ``sink`` with ``prefix``, until EOF.

    Reads fixed-size chunks rather than ``readline`` so an arbitrarily long line (a base64
    image printed by mistake) cannot raise a limit error and stall the worker on a full pipe.
    """
    pending = b""
    while chunk := await stream.read(_READ_CHUNK):
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for raw in lines:
            sink(prefix + _text(raw), is_err)
    if pending:
        sink(prefix + _text(pending), is_err)


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace").rstrip("\r")


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
