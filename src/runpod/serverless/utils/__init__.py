"""``runpod.serverless.utils``: RunPod's worker utilities, re-exported from pitstop."""

from pitstop.serverless.utils.download import download_files_from_urls
from pitstop.serverless.utils.upload import upload_file_to_bucket, upload_in_memory_object
from pitstop.serverless.utils.volume_cache import VolumeCache

__all__ = [
    "VolumeCache",
    "download_files_from_urls",
    "upload_file_to_bucket",
    "upload_in_memory_object",
]
