"""``runpod.serverless.modules``: the official SDK's worker internals, on pitstop's runtime.

Each module has the official names; what they do is in :mod:`pitstop.serverless.sdk` (and
README, "Official SDK internals"). Submodules load on first access.
"""

from __future__ import annotations

from pitstop.lazy import attach

__getattr__, __dir__ = attach(
    __name__,
    submodules=(
        "rp_fastapi",
        "rp_fitness",
        "rp_gpu_fitness",
        "rp_handler",
        "rp_http",
        "rp_job",
        "rp_local",
        "rp_logger",
        "rp_ping",
        "rp_progress",
        "rp_scale",
        "rp_system_fitness",
        "rp_tips",
        "worker_state",
    ),
)
