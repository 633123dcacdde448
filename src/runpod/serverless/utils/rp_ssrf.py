"""``runpod.serverless.utils.rp_ssrf``: re-exported from :mod:`pitstop.serverless.utils.ssrf`.

pitstop fetches with httpx and pins each connection itself, so the official requests
transport adapter ``PinnedIPAdapter`` cannot be used here (it raises when constructed).
"""

from typing import Any, NoReturn

from pitstop.errors import UnsupportedOperation
from pitstop.lazy import attach
from pitstop.serverless.utils.ssrf import (
    SSRFError,
    is_safe_address,
    iter_content_capped,
    max_download_bytes,
    resolve_and_validate,
    safe_get,
)


class PinnedIPAdapter:
    """The official requests adapter; pitstop pins connections in ``safe_get`` instead."""

    def __init__(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise UnsupportedOperation(
            "rp_ssrf.PinnedIPAdapter is a requests adapter; pitstop fetches with httpx and "
            "pins connections itself: use rp_ssrf.safe_get(url)."
        )


__all__ = [
    "PinnedIPAdapter",
    "SSRFError",
    "is_safe_address",
    "iter_content_capped",
    "max_download_bytes",
    "resolve_and_validate",
    "safe_get",
]

__getattr__, __dir__ = attach(__name__, names={"SyncClientSession": "runpod.http_client"})
