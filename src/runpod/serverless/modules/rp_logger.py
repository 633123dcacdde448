"""``runpod.serverless.modules.rp_logger``: the one worker logger, from :mod:`pitstop.serverless.logger`.

``RunPodLogger`` here is the same class (and the same singleton) as ``runpod.RunPodLogger``.
"""

from pitstop.serverless.logger import LOG_LEVELS, MAX_MESSAGE_LENGTH, RunPodLogger

__all__ = ["LOG_LEVELS", "MAX_MESSAGE_LENGTH", "RunPodLogger"]
