"""``runpod.serverless.utils.rp_volume_cache``: re-exported from :mod:`pitstop.serverless.utils.volume_cache`."""

from pitstop.serverless.utils.volume_cache import VolumeCache

__all__ = ["VolumeCache"]
