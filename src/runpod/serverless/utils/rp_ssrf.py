"""``runpod.serverless.utils.rp_ssrf``: re-exported from :mod:`pitstop.serverless.utils.ssrf`."""

from pitstop.serverless.utils.ssrf import SSRFError, is_safe_address, max_download_bytes

__all__ = ["SSRFError", "is_safe_address", "max_download_bytes"]
