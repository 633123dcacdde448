"""Log lines for the utilities, in the worker log format (``LEVEL  | message`` on stdout).

The worker runtime's :class:`pitstop.serverless.logger.RunPodLogger` is used when it is
importable, so level filtering and JSON mode apply; until then lines are printed in the
same text format. Never the ``logging`` module: configuring the root logger on import is a
side effect RunPod's SDK has and pitstop does not copy.
"""

from __future__ import annotations

from typing import Any

_logger: Any = None


def _get_logger() -> Any:
    global _logger
    if _logger is None:
        try:
            from pitstop.serverless.logger import RunPodLogger
        except ImportError:
            _logger = False
        else:
            _logger = RunPodLogger()
    return _logger


def log(level: str, message: str) -> None:
    """Write one line at ``level`` (``debug``, ``info``, ``warn`` or ``error``)."""
    logger = _get_logger()
    method = getattr(logger, level, None) if logger else None
    if method is not None:
        method(message)
        return
    print(f"{level.upper():<7}| {message}", flush=True)


def debug(message: str) -> None:
    """Log at DEBUG."""
    log("debug", message)


def info(message: str) -> None:
    """Log at INFO."""
    log("info", message)


def warn(message: str) -> None:
    """Log at WARN."""
    log("warn", message)


def error(message: str) -> None:
    """Log at ERROR."""
    log("error", message)
