"""``runpod.serverless.modules.rp_gpu_fitness``: pitstop's GPU check is built in.

pitstop runs its GPU check (``nvidia-smi --list-gpus``) itself when a GPU is present, so
``auto_register_gpu_check()`` does nothing; the official CUDA test binary is not bundled.
"""

import os

from pitstop.serverless.fitness import register_fitness_check
from pitstop.serverless.logger import RunPodLogger
from pitstop.serverless.sdk.runner import auto_register_checks as auto_register_gpu_check
from pitstop.serverless.sdk.runner import get_binary_path

log = RunPodLogger()

TIMEOUT_SECONDS = int(os.environ.get("RUNPOD_GPU_TEST_TIMEOUT", "30"))
MAX_ERROR_MESSAGES = int(os.environ.get("RUNPOD_GPU_MAX_ERROR_MESSAGES", "10"))

__all__ = [
    "MAX_ERROR_MESSAGES",
    "TIMEOUT_SECONDS",
    "RunPodLogger",
    "auto_register_gpu_check",
    "get_binary_path",
    "log",
    "register_fitness_check",
]
