"""``runpod.serverless.utils.rp_upload``: re-exported from :mod:`pitstop.serverless.utils.upload`."""

from pitstop.serverless.utils.upload import (
    bucket_upload,
    files,
    upload_file_to_bucket,
    upload_image,
    upload_in_memory_object,
)

__all__ = [
    "bucket_upload",
    "files",
    "upload_file_to_bucket",
    "upload_image",
    "upload_in_memory_object",
]
