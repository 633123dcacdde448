"""Per-job output capture: what a handler prints or logs is attributed to its job.

While a worker runs, ``sys.stdout``/``sys.stderr`` are wrapped by :class:`JobStream` and a
:class:`JobLogHandler` sits on the root logger. Both look at the ``current_job`` context
variable, which the worker sets in each job's task; handler threads get a copy of the
context, so attribution works for sync handlers too. When the worker talks to a pitstop
server (the ``tagging`` predicate given to :func:`install`), a line written inside a job
still goes to the real stream, prefixed ``[<job id>] ``, and is queued on the job's outbox
(sent to the server's job-log URL, before the final result). On RunPod's platform output
passes through untouched, as under RunPod's SDK, and so does output outside any job.
:func:`install` returns an undo function.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, TextIO

from pitstop.serverless import outbox

current_job: ContextVar[str | None] = ContextVar("pitstop_current_job", default=None)
Tagging = Callable[[], bool]
"""Answers whether job output is tagged and recorded now (True on a pitstop server)."""
MAX_PARTIAL = 64 * 1024
"""Longest unterminated line kept for the job log (a progress bar is one endless line)."""


class JobStream:
    """A text stream proxy that tags lines written inside a job with the job's id.

    Text is passed through at once (so progress bars still move); only complete lines are
    recorded for the job's log. An unterminated last line is recorded when the job ends.
    """

    def __init__(self, underlying: TextIO, name: str, tagging: Tagging = lambda: True) -> None:
        self.underlying = underlying
        self.name = name
        self._tagging = tagging
        self._partial: dict[str, str] = {}
        self._mid_line: set[str] = set()

    def write(self, text: str) -> int:
        job_id = current_job.get()
        if job_id is None or not text or not self._tagging():
            return self.underlying.write(text)
        self.underlying.write(self._prefixed(job_id, text))
        *lines, rest = (self._partial.pop(job_id, "") + text).split("\n")
        if rest:
            self._partial[job_id] = rest[-MAX_PARTIAL:]
        for line in lines:
            _record(job_id, self.name, line)
        return len(text)

    def _prefixed(self, job_id: str, text: str) -> str:
        prefix = f"[{job_id}] "
        head = "" if job_id in self._mid_line else prefix
        body = text[:-1].replace("\n", "\n" + prefix) + text[-1]
        if text.endswith("\n"):
            self._mid_line.discard(job_id)
        else:
            self._mid_line.add(job_id)
        return head + body

    def flush_job(self, job_id: str) -> None:
        """Record a job's unterminated last line and end it (called when the job ends)."""
        rest = self._partial.pop(job_id, "")
        if rest:
            _record(job_id, self.name, rest)
        if job_id in self._mid_line:
            self._mid_line.discard(job_id)
            self.underlying.write("\n")

    def flush(self) -> None:
        self.underlying.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.underlying, name)


def _record(job_id: str, stream: str, text: str) -> None:
    box = outbox.lookup(job_id)
    if box is not None:
        box.log(stream, text)


_OWN_LOGGERS = ("httpx", "httpcore")


class JobLogHandler(logging.Handler):
    """Root-logger handler: records made inside a job go to the job's log lines."""

    def __init__(self, tagging: Tagging = lambda: True) -> None:
        super().__init__()
        self._tagging = tagging

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(_OWN_LOGGERS):
            return  # the worker's own HTTP traffic: recording it would feed back forever
        job_id = current_job.get() if self._tagging() else None
        _last_resort(record, job_id)
        if job_id is None:
            return
        try:
            _record(job_id, "log", self.format(record))
        except Exception:  # a formatting error in user logging must not break the job
            self.handleError(record)


def _last_resort(record: logging.LogRecord, job_id: str | None) -> None:
    """Keep Python's fallback: with no handler of the user's, warnings still reach stderr."""
    fallback = logging.lastResort
    if fallback is None or record.levelno < fallback.level:
        return
    if not all(isinstance(h, JobLogHandler) for h in logging.getLogger().handlers):
        return
    err = sys.stderr
    target = getattr(err, "underlying", err)
    prefix = f"[{job_id}] " if job_id else ""
    target.write(f"{prefix}{fallback.format(record)}\n")


def flush_job(job_id: str) -> None:
    """Emit the job's partial stdout/stderr lines (no-op when capture is not installed)."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, JobStream):
            stream.flush_job(job_id)


def install(tagging: Tagging = lambda: True) -> Callable[[], None]:
    """Wrap stdout/stderr and add the logging handler; returns the undo function."""
    old_out, old_err = sys.stdout, sys.stderr
    sys.stdout = JobStream(old_out, "stdout", tagging)
    sys.stderr = JobStream(old_err, "stderr", tagging)
    handler = JobLogHandler(tagging)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)

    def undo() -> None:
        sys.stdout, sys.stderr = old_out, old_err
        logging.getLogger().removeHandler(handler)

    return undo
