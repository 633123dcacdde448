"""A worker's output: forwarded line by line, remembered for crash reports, said only once.

Every line a worker prints goes to the supervisor's sink with the worker's label. The
transcript also keeps what the supervisor needs when the worker crashes: its first lines (to
recognise the same failure next time) and its last ones (the error line shown in the crash
message, in ``/health`` and in ``pitstop health``).

A worker that cannot start fails the same way on every restart. So a replacement started
after a crash (an error exit, not a signal) holds back its lines while they repeat the failed run's output (digits
ignored: pids, times); the first different line releases everything held, and so does
``hold_limit`` seconds of life. If it then crashes having printed nothing new, the pool says
so in one short line instead of printing the traceback again (the pool announces such a
replacement only once it does something new: :attr:`Transcript.on_release`).
"""

from __future__ import annotations

import asyncio
import re
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

Sink = Callable[[str, bool], None]
"""Receives one finished output line (no newline) and whether it came from stderr."""

Line = tuple[str, bool]
"""One output line and whether it came from stderr."""

KEPT_LINES = 1000
"""Lines remembered from the start of a run (a longer failure is compared on these only)."""
TAIL_LINES = 10
ERROR_LINE_CHARS = 300
_DIGITS = re.compile(r"\d+")
_ERRORISH = re.compile(r"error|exception|traceback|fatal", re.IGNORECASE)


def _same(a: Line, b: Line) -> bool:
    """Equal apart from numbers (pids, timestamps, durations differ on every run)."""
    return a[1] == b[1] and _DIGITS.sub("0", a[0]) == _DIGITS.sub("0", b[0])


def error_line(tail: Sequence[Line]) -> str:
    """The line that best says why a process ended: the last non-blank stderr line, else the
    last stdout line that names an error (RunPod's logger writes to stdout); or ``""``.
    Shortened to ``ERROR_LINE_CHARS``."""
    texts = [(text.strip(), is_err) for text, is_err in reversed(tail) if text.strip()]
    chosen = next((t for t, is_err in texts if is_err), None)
    if chosen is None:
        chosen = next((t for t, _ in texts if _ERRORISH.search(t)), "")
    if len(chosen) > ERROR_LINE_CHARS:
        chosen = chosen[: ERROR_LINE_CHARS - 3] + "..."
    return chosen


@dataclass(frozen=True)
class Failure:
    """What a crashed worker printed: enough to recognise the same failure next time."""

    code: int
    lines: tuple[Line, ...]
    tail: tuple[Line, ...]

    @property
    def error(self) -> str:
        """The error line (see :func:`error_line`)."""
        return error_line(self.tail)


class Transcript:
    """Routes one worker's output lines (see the module docstring)."""

    def __init__(
        self,
        prefix: str,
        sink: Sink,
        *,
        replay_of: Failure | None = None,
        hold_limit: float = 10.0,
    ) -> None:
        self.prefix = prefix
        self.sink = sink
        self.lines: list[Line] = []
        self.tail: deque[Line] = deque(maxlen=TAIL_LINES)
        self._expected = replay_of.lines if replay_of is not None else ()
        self._holding = replay_of is not None
        self._held: list[Line] = []
        self._release_timer: asyncio.TimerHandle | None = None
        self.on_release: Callable[[], None] | None = None
        """Called once, before the held lines, when a held-back run turns out different."""
        if self._holding:
            loop = asyncio.get_running_loop()
            self._release_timer = loop.call_later(hold_limit, self.release)

    def __call__(self, text: str, is_err: bool) -> None:
        """One complete line from the worker."""
        line = (text, is_err)
        if len(self.lines) < KEPT_LINES:
            self.lines.append(line)
        self.tail.append(line)
        if self._holding:
            index = len(self._held)
            if index < len(self._expected) and _same(line, self._expected[index]):
                self._held.append(line)
                return
            self.release()
        self.sink(self.prefix + text, is_err)

    def release(self) -> None:
        """Stop holding back: print what was held and forward every later line at once."""
        self._cancel_timer()
        if not self._holding:
            return
        self._holding = False
        if self.on_release is not None:
            self.on_release()
        held, self._held = self._held, []
        for text, is_err in held:
            self.sink(self.prefix + text, is_err)

    def discard(self) -> None:
        """Drop the held lines unprinted (the run repeated its failure) and stop holding."""
        self._cancel_timer()
        self._holding = False
        self._held = []

    def _cancel_timer(self) -> None:
        if self._release_timer is not None:
            self._release_timer.cancel()
            self._release_timer = None

    @property
    def repeated(self) -> bool:
        """True when the run printed exactly the held-back failure's output, nothing else."""
        return self._holding and len(self._held) == len(self._expected)

    def failure(self, code: int) -> Failure:
        """This run as a :class:`Failure` with exit code ``code``."""
        return Failure(code, tuple(self.lines), tuple(self.tail))
