"""The worker runtime: RunPod's ``runpod.serverless`` API, implemented by pitstop.

``start(config)`` runs a worker for a handler (production queue worker, local test job or
local API server); ``progress_update(job, progress)`` reports progress from a handler.
Importing this package is cheap: the HTTP client and the worker machinery load only when a
worker starts, and nothing here imports the server, storage or redis.
"""

from __future__ import annotations

import time
from typing import Any

from pitstop.serverless.version import runpod_version

IMPORTED_AT = time.perf_counter()
"""When the runtime was imported (``--rp_debugger``'s ``ready_delay_ms`` starts here)."""

__all__ = ["progress_update", "runpod_version", "start"]


def start(config: dict[str, Any]) -> None:
    """RunPod's ``runpod.serverless.start``: see :func:`pitstop.serverless.worker.start`."""
    from pitstop.serverless.worker import start as _start

    _start(config)


def progress_update(job: dict[str, Any], progress: Any) -> None:
    """RunPod's ``progress_update``: see :func:`pitstop.serverless.progress.progress_update`."""
    from pitstop.serverless.progress import progress_update as _progress_update

    _progress_update(job, progress)
