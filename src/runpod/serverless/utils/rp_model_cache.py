"""``runpod.serverless.utils.rp_model_cache``: re-exported from :mod:`pitstop.serverless.utils.model_cache`."""

from pitstop.serverless.logger import RunPodLogger
from pitstop.serverless.utils.model_cache import (
    resolve_model_cache_path_from_hugginface_repository,
)

log = RunPodLogger()

__all__ = ["RunPodLogger", "log", "resolve_model_cache_path_from_hugginface_repository"]
