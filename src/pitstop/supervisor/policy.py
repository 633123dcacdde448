"""Restart policy: when to replace an exited worker, and when to call it a crash loop.

A worker that exits 0 finished on purpose (``refresh_worker``, or it drained after a signal):
it is replaced at once and clears any crash streak; but no process is started less than
``base`` seconds after the one it replaces, so a file that exits 0 at once (it never calls
``runpod.serverless.start``) cannot spin the supervisor. A worker that exits non-zero or dies from
a signal crashed: its replacement waits ``base * 2**(n-1)`` seconds (capped at ``max``) where
``n`` counts crashes in a row. A crash after a long enough run (``stable_after``) starts a new
streak, so one crash a day never escalates. ``threshold`` crashes in a row are a crash loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pitstop.supervisor.process import describe_exit


@dataclass(frozen=True)
class ExitRecord:
    """How one worker process ended."""

    label: str
    worker_id: str
    code: int
    uptime: float

    @property
    def clean(self) -> bool:
        """Exit code 0: the worker stopped on purpose."""
        return self.code == 0


@dataclass
class RestartPolicy:
    """Counts crashes in a row and turns them into restart delays."""

    base: float
    max: float
    threshold: int
    stable_after: float
    streak: list[ExitRecord] = field(default_factory=list)
    delays: list[float] = field(default_factory=list)
    """Every restart delay handed out, in order (for logs and tests)."""

    def record(self, exit_: ExitRecord) -> float:
        """Account for an exit; return how long to wait before starting its replacement."""
        if exit_.clean or exit_.uptime >= self.stable_after:
            self.streak.clear()
        if exit_.clean:
            delay = max(0.0, self.base - exit_.uptime)
            self.delays.append(delay)
            return delay
        self.streak.append(exit_)
        delay = min(self.base * 2.0 ** (len(self.streak) - 1), self.max)
        self.delays.append(delay)
        return delay

    @property
    def crash_loop(self) -> bool:
        """True while the current streak has reached the threshold."""
        return self.threshold > 0 and len(self.streak) >= self.threshold

    def reset(self) -> None:
        """Forget the streak (the code changed under ``--reload``: give it a fresh start)."""
        self.streak.clear()

    def summary(self) -> str:
        """``5 crashes in a row: exit 1, exit 1, signal SIGKILL, ...`` for logs and reports."""
        codes = ", ".join(describe_exit(e.code) for e in self.streak[-10:])
        return f"{len(self.streak)} crashes in a row: {codes}"
