"""The FAILED body of a handler that raised: RunPod's error payload, and its log lines.

The body is ``{"error": "<JSON string>"}`` whose object has RunPod's keys in RunPod's order:
``error_type`` (``str(type(exc))``), ``error_message``, ``error_traceback``, ``hostname``
(``RUNPOD_POD_HOSTNAME`` or ``unknown``), ``worker_id`` (``RUNPOD_POD_ID`` or ``unknown``) and
``runpod_version``. The worker logs it as RunPod's does: ``Captured Handler Exception`` with
the job id, then the object indented by 4 spaces, both at ERROR.

Exception classes that worker code knows by their runpod path (``runpod.error.QueryError``,
``runpod.serverless.utils.rp_ssrf.SSRFError``, ...) are named by that path in the type and
on the traceback's last line, as under RunPod's SDK, even though pitstop defines them
elsewhere. The traceback starts at the first frame outside pitstop's job machinery (RunPod's
starts at its own ``run_job`` frame; the user's frames are the same).
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import traceback
from typing import Any

from pitstop.config import WorkerConfig
from pitstop.serverless.logger import get_logger

OFFICIAL_CLASSES = (
    "runpod.error.RunPodError",
    "runpod.error.AuthenticationError",
    "runpod.error.QueryError",
    "runpod.http_client.TooManyRequests",
    "runpod.serverless.utils.rp_ssrf.SSRFError",
)
"""Exception classes of RunPod's SDK, by the path its error payloads name them with."""

_STDLIB = os.path.dirname(os.__file__)
_MACHINERY = (
    os.path.dirname(os.path.abspath(__file__)) + os.sep,
    os.path.join(_STDLIB, "concurrent", "futures") + os.sep,
    os.path.join(_STDLIB, "asyncio") + os.sep,
)
"""Where the frames that run a job live: pitstop's worker runtime, thread pools, asyncio."""


def official_name(cls: type) -> str:
    """``module.QualName`` of ``cls``, with the runpod path for RunPod's own classes."""
    own = f"{cls.__module__}.{cls.__qualname__}"
    if cls.__module__.startswith("runpod."):
        return own
    for path in OFFICIAL_CLASSES:
        module_name, _, name = path.rpartition(".")
        if name == cls.__name__ and _lookup(module_name, name) is cls:
            return path
    return own


def _lookup(module_name: str, name: str) -> Any:
    """``module_name.name`` when that module imports (the facade may not provide it)."""
    try:
        module = sys.modules.get(module_name) or importlib.import_module(module_name)
    except Exception:  # a missing or broken facade module just means "not that class"
        return None
    return getattr(module, name, None)


def type_repr(cls: type) -> str:
    """``str(cls)``, or ``<class 'runpod....'>`` for RunPod's own classes (as RunPod prints it)."""
    official = official_name(cls)
    if official == f"{cls.__module__}.{cls.__qualname__}":
        return str(cls)
    return f"<class '{official}'>"


def traceback_text(exc: BaseException) -> str:
    """The formatted traceback, from the user's first frame, with RunPod's class names."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename.startswith(_MACHINERY):
        tb = tb.tb_next
    shown = traceback.TracebackException(type(exc), exc, tb or exc.__traceback__)
    lines = list(shown.format())
    own = f"{type(exc).__module__}.{type(exc).__qualname__}"
    official = official_name(type(exc))
    only = len(list(shown.format_exception_only()))
    if official != own and only:
        head = len(lines) - only
        lines[head] = lines[head].replace(own, official, 1)
    return "".join(lines)


def error_info(exc: BaseException, cfg: WorkerConfig, version: str) -> dict[str, Any]:
    """RunPod's error object for a raised exception (keys in RunPod's order)."""
    return {
        "error_type": type_repr(type(exc)),
        "error_message": str(exc),
        "error_traceback": traceback_text(exc),
        "hostname": cfg.hostname,
        "worker_id": cfg.worker_id if cfg.worker_id_from_env else "unknown",
        "runpod_version": version,
    }


def error_body(exc: BaseException, cfg: WorkerConfig, version: str) -> dict[str, Any]:
    """The job-done body for a handler that raised: ``{"error": "<json string>"}``."""
    return {"error": json.dumps(error_info(exc, cfg, version))}


def report_raised(
    exc: BaseException, cfg: WorkerConfig, version: str, job_id: str
) -> dict[str, Any]:
    """Log the exception as RunPod's worker does and return the FAILED body."""
    info = error_info(exc, cfg, version)
    log = get_logger()
    log.error("Captured Handler Exception", job_id)
    log.error(json.dumps(info, indent=4))
    return {"error": json.dumps(info)}
