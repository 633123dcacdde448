"""RunPod's worker log format: ``INFO   | msg`` text lines, or JSON lines on the platform.

Levels, lowest first: NOTSET TRACE DEBUG INFO WARN ERROR. ``NOTSET`` prints nothing; the
default is DEBUG. The level comes from ``--rp_log_level``, then ``RUNPOD_LOG_LEVEL``, then
``RUNPOD_DEBUG_LEVEL``. Unlike RunPod's SDK, an invalid level in the environment does not
break ``import runpod``: the logger warns once and keeps DEBUG. While ``RUNPOD_ENDPOINT_ID``
is set every line is ``{"requestId": ..., "message": ..., "level": ...}``; like RunPod's, the
variable is read at each call, so a worker that sets or clears it at run time switches.

Lines go to the *real* stdout (never to a per-job capture proxy, see ``capture``) and are
printed with a flush, as RunPod's. Messages over 4096 characters keep their first and last
2048 characters. Inside a job whose dict has ``batchId`` the text gets ``[batchId=..] ``.
"""

from __future__ import annotations

import json
import os
import sys
from contextvars import ContextVar, Token
from typing import Any, TextIO

LOG_LEVELS = ("NOTSET", "TRACE", "DEBUG", "INFO", "WARN", "ERROR")
MAX_MESSAGE_LENGTH = 4096

_batch_id: ContextVar[str | None] = ContextVar("pitstop_batch_id", default=None)


def set_batch_id(batch_id: str | None) -> Token[str | None]:
    """Attribute the current context's log lines to a batch (reset with the token)."""
    return _batch_id.set(batch_id)


def reset_batch_id(token: Token[str | None]) -> None:
    """Undo :func:`set_batch_id`."""
    _batch_id.reset(token)


def validate_level(level: Any) -> str:
    """Return the canonical level name for a name (any case) or index; ValueError otherwise."""
    if isinstance(level, str) and level.upper() in LOG_LEVELS:
        return level.upper()
    if isinstance(level, int) and not isinstance(level, bool) and 0 <= level < len(LOG_LEVELS):
        return LOG_LEVELS[level]
    raise ValueError(f"Invalid debug level: {level}")


def truncate(message: str) -> str:
    """Cut the middle out of a message longer than ``MAX_MESSAGE_LENGTH`` characters."""
    if len(message) <= MAX_MESSAGE_LENGTH:
        return message
    half = MAX_MESSAGE_LENGTH // 2
    cut = len(message) - MAX_MESSAGE_LENGTH
    return f"{message[:half]}\n...TRUNCATED {cut} CHARACTERS...\n{message[-half:]}"


def _real_stdout() -> TextIO:
    """The stream log lines go to: stdout, unwrapped from a per-job capture proxy."""
    out = sys.stdout
    return getattr(out, "underlying", out)


def _level_from_env() -> tuple[str, str | None]:
    """The environment's level, or DEBUG plus a warning text when it is invalid."""
    raw = os.environ.get("RUNPOD_LOG_LEVEL") or os.environ.get("RUNPOD_DEBUG_LEVEL") or "DEBUG"
    try:
        return validate_level(raw), None
    except ValueError:
        return "DEBUG", f"Invalid RUNPOD_LOG_LEVEL {raw!r}; using DEBUG."


class RunPodLogger:
    """The process-wide worker logger (a singleton, as RunPod's ``runpod.RunPodLogger``)."""

    _instance: RunPodLogger | None = None
    level: str = "DEBUG"

    def __new__(cls) -> RunPodLogger:
        if cls._instance is None:
            inst = object.__new__(cls)
            inst.level, warning = _level_from_env()
            cls._instance = inst
            if warning:
                inst.warn(warning)
        return cls._instance

    def set_level(self, new_level: Any) -> None:
        """Set the level by name or index and say so at INFO (ValueError when invalid)."""
        self.level = validate_level(new_level)
        self.info(f"Log level set to {self.level}")

    def enabled(self, message_level: str) -> bool:
        """True when a message at ``message_level`` would be printed."""
        if self.level == "NOTSET":
            return False
        return LOG_LEVELS.index(message_level) >= LOG_LEVELS.index(self.level)

    def log(self, message: Any, message_level: str = "INFO", job_id: str | None = None) -> None:
        """Print one line at ``message_level`` (RunPod's ``log``)."""
        if not self.enabled(message_level):
            return
        text = str(message)
        batch = _batch_id.get()
        if batch:
            text = f"[batchId={batch}] {text}"
        text = truncate(text)
        if os.environ.get("RUNPOD_ENDPOINT_ID"):
            line = json.dumps({"requestId": job_id, "message": text, "level": message_level})
        elif job_id:
            line = f"{message_level.ljust(7)}| {job_id} | {text}"
        else:
            line = f"{message_level.ljust(7)}| {text}"
        out = _real_stdout()
        out.write(line + "\n")
        out.flush()

    def secret(self, secret_name: str, secret: Any) -> None:
        """Log ``name: f****t`` at INFO."""
        value = str(secret)
        shown = value[0] + "*" * (len(value) - 2) + value[-1] if len(value) > 1 else "*"
        self.info(f"{secret_name}: {shown}")

    def trace(self, message: Any, request_id: str | None = None) -> None:
        """Log at TRACE."""
        self.log(message, "TRACE", request_id)

    def debug(self, message: Any, request_id: str | None = None) -> None:
        """Log at DEBUG."""
        self.log(message, "DEBUG", request_id)

    def info(self, message: Any, request_id: str | None = None) -> None:
        """Log at INFO."""
        self.log(message, "INFO", request_id)

    def warn(self, message: Any, request_id: str | None = None) -> None:
        """Log at WARN."""
        self.log(message, "WARN", request_id)

    def error(self, message: Any, request_id: str | None = None) -> None:
        """Log at ERROR."""
        self.log(message, "ERROR", request_id)

    def tip(self, message: Any, request_id: str | None = None) -> None:
        """Log a tip at INFO (RunPod's ``tip`` crashes; this one does not)."""
        self.log(message, "INFO", request_id)


def get_logger() -> RunPodLogger:
    """The singleton, created on first use (so importing this module reads no environment)."""
    return RunPodLogger()
