"""``runpod.serverless``: RunPod's worker API, re-exported from ``pitstop.serverless``.

``register_fitness_check`` and ``VolumeCache`` load on first use, so ``import runpod``
stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

from pitstop.serverless import progress_update, runpod_version, start

__all__ = ["start", "progress_update", "register_fitness_check", "runpod_version", "VolumeCache"]  # noqa: RUF022

_LAZY = {
    "register_fitness_check": ("pitstop.serverless.fitness", "register_fitness_check"),
    "VolumeCache": ("pitstop.serverless.utils.volume_cache", "VolumeCache"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    if name == "utils":
        return importlib.import_module(f"runpod.serverless.{name}")
    raise AttributeError(f"module 'runpod.serverless' has no attribute {name!r}")
