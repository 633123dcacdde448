"""Compatibility facade: ``import runpod`` resolves to pitstop.

Worker files written for RunPod's SDK (``runpod.serverless.start``, ``progress_update``,
``runpod.serverless.utils.*``) and client code (``runpod.Endpoint``, ``runpod.api_key``,
``runpod.endpoint_url_base``) run unmodified. No logic lives here: every name is a
re-export, loaded on first use so that ``import runpod`` stays cheap and has no network,
file or logging side effects.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

from pitstop import __version__

api_key: str | None = None
"""Client API key, read by ``runpod.Endpoint`` when it is created (RunPod's global)."""

endpoint_url_base: str = os.environ.get("RUNPOD_ENDPOINT_BASE_URL", "https://api.runpod.ai/v2")
"""Base URL for ``runpod.Endpoint``: point it at a pitstop server, e.g. ``http://HOST:PORT/v2``."""

_LAZY: dict[str, tuple[str, str]] = {
    "Endpoint": ("runpod.endpoint", "Endpoint"),
    "AsyncioEndpoint": ("runpod.endpoint", "AsyncioEndpoint"),
    "AsyncioJob": ("runpod.endpoint", "AsyncioJob"),
    "RunPodLogger": ("pitstop.serverless.logger", "RunPodLogger"),
}

__all__ = [
    "AsyncioEndpoint",
    "AsyncioJob",
    "Endpoint",
    "RunPodLogger",
    "__version__",
    "api_key",
    "endpoint_url_base",
    "serverless",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    if name in ("serverless", "endpoint", "http_client"):
        return importlib.import_module(f"runpod.{name}")
    raise AttributeError(f"module 'runpod' has no attribute {name!r}")
