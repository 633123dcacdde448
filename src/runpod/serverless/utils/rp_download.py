"""``runpod.serverless.utils.rp_download``: re-exported from :mod:`pitstop.serverless.utils.download`.

Downloads go through pitstop's SSRF-safe fetcher (:mod:`pitstop.serverless.utils.ssrf`);
``safe_get`` returns a response with requests' reading API (``iter_content``, ``content``).
"""

from pitstop.serverless.utils.download import (
    HEADERS,
    calculate_chunk_size,
    download_files_from_urls,
    file,
    parse_content_length,
)
from pitstop.serverless.utils.download import disposition_params as extract_disposition_params
from pitstop.serverless.utils.ssrf import iter_content_capped, max_download_bytes, safe_get

__all__ = [
    "HEADERS",
    "calculate_chunk_size",
    "download_files_from_urls",
    "extract_disposition_params",
    "file",
    "iter_content_capped",
    "max_download_bytes",
    "parse_content_length",
    "safe_get",
]
