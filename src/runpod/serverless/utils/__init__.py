"""``runpod.serverless.utils``: RunPod's worker utilities, re-exported from pitstop.

The ``rp_*`` modules load on first access (``runpod.serverless.utils.rp_upload`` works right
after ``import runpod``, as in the official SDK).
"""

from pitstop.lazy import attach
from pitstop.serverless.utils.download import download_files_from_urls
from pitstop.serverless.utils.upload import upload_file_to_bucket, upload_in_memory_object
from pitstop.serverless.utils.volume_cache import VolumeCache

__all__ = [
    "VolumeCache",
    "download_files_from_urls",
    "upload_file_to_bucket",
    "upload_in_memory_object",
]

__getattr__, __dir__ = attach(
    __name__,
    submodules=(
        "rp_cleanup",
        "rp_cuda",
        "rp_debugger",
        "rp_download",
        "rp_model_cache",
        "rp_ssrf",
        "rp_upload",
        "rp_validator",
        "rp_volume_cache",
    ),
)
