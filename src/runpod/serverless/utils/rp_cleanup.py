"""``runpod.serverless.utils.rp_cleanup``: re-exported from :mod:`pitstop.serverless.utils.cleanup`."""

from pitstop.serverless.utils.cleanup import clean

__all__ = ["clean"]
