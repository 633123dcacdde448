"""``runpod.serverless.utils.rp_volume_cache``: re-exported from :mod:`pitstop.serverless.utils.volume_cache`."""

from pitstop.serverless.logger import RunPodLogger
from pitstop.serverless.utils.volume_cache import VolumeCache

log = RunPodLogger()

__all__ = ["RunPodLogger", "VolumeCache", "log"]
