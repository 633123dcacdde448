"""``runpod.serverless.modules.rp_system_fitness``: pitstop's system checks are built in.

pitstop runs its memory, disk, network and CUDA-version checks itself (with the same
``RUNPOD_MIN_*`` variables, read when the checks run), so ``auto_register_system_checks()``
does nothing. The constants below are read at import, as in the official SDK.
"""

import os

from pitstop.serverless.fitness import register_fitness_check
from pitstop.serverless.logger import RunPodLogger
from pitstop.serverless.sdk.runner import auto_register_checks as auto_register_system_checks
from pitstop.serverless.utils.cuda import is_available as gpu_available

log = RunPodLogger()

MIN_MEMORY_GB = float(os.environ.get("RUNPOD_MIN_MEMORY_GB", "4.0"))
MIN_DISK_PERCENT = float(os.environ.get("RUNPOD_MIN_DISK_PERCENT", "10.0"))
MIN_CUDA_VERSION = os.environ.get("RUNPOD_MIN_CUDA_VERSION", "11.8")
NETWORK_CHECK_TIMEOUT = int(os.environ.get("RUNPOD_NETWORK_CHECK_TIMEOUT", "5"))
GPU_BENCHMARK_TIMEOUT = int(os.environ.get("RUNPOD_GPU_BENCHMARK_TIMEOUT", "2"))

__all__ = [
    "GPU_BENCHMARK_TIMEOUT",
    "MIN_CUDA_VERSION",
    "MIN_DISK_PERCENT",
    "MIN_MEMORY_GB",
    "NETWORK_CHECK_TIMEOUT",
    "RunPodLogger",
    "auto_register_system_checks",
    "gpu_available",
    "log",
    "register_fitness_check",
]
