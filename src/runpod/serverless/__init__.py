"""``runpod.serverless``: RunPod's worker API, re-exported from ``pitstop.serverless``.

Everything but ``start`` and ``progress_update`` loads on first use (``register_fitness_check``,
``VolumeCache``, ``RunPodLogger``, ``log`` and the ``modules``, ``utils`` and ``worker``
subpackages), so ``import runpod`` stays cheap. ``runpod_version`` is the official SDK
version pitstop is compatible with, as ``runpod.__version__``.
"""

from __future__ import annotations

from pitstop.lazy import attach
from pitstop.serverless import progress_update, start
from pitstop.serverless.version import SDK_VERSION as runpod_version

__all__ = ["start", "progress_update", "register_fitness_check", "runpod_version", "VolumeCache"]  # noqa: RUF022

__getattr__, __dir__ = attach(
    __name__,
    submodules=("modules", "utils", "worker"),
    names={
        "register_fitness_check": "pitstop.serverless.fitness",
        "VolumeCache": "pitstop.serverless.utils.volume_cache",
        "RunPodLogger": "pitstop.serverless.logger",
        "log": "runpod.serverless.worker",
    },
)
