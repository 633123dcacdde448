"""``runpod.serverless.utils.rp_validator``: re-exported from :mod:`pitstop.serverless.utils.validator`."""

from pitstop.serverless.utils.validator import validate

__all__ = ["validate"]
