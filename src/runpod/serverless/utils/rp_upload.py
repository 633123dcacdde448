"""``runpod.serverless.utils.rp_upload``: re-exported from :mod:`pitstop.serverless.utils.upload`.

``FMT`` is the official module's log format; pitstop does not configure logging with it.
"""

from pitstop.serverless.utils.upload import (
    bucket_upload,
    extract_region_from_url,
    files,
    get_boto_client,
    upload_file_to_bucket,
    upload_image,
    upload_in_memory_object,
)

FMT = "%(filename)-20s:%(lineno)-4d %(asctime)s %(message)s"

__all__ = [
    "FMT",
    "bucket_upload",
    "extract_region_from_url",
    "files",
    "get_boto_client",
    "upload_file_to_bucket",
    "upload_image",
    "upload_in_memory_object",
]
