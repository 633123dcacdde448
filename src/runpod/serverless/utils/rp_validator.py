"""``runpod.serverless.utils.rp_validator``: re-exported from :mod:`pitstop.serverless.utils.validator`."""

from pitstop.serverless.utils.validator import (
    CONSTRAINTS_ERROR,
    INVALID_TYPE_ERROR,
    MISSING_DEFAULT_ERROR,
    MISSING_REQUIRED_ERROR,
    MISSING_TYPE_ERROR,
    SCHEMA_ERROR,
    UNEXPECTED_INPUT_ERROR,
    validate,
)

__all__ = [
    "CONSTRAINTS_ERROR",
    "INVALID_TYPE_ERROR",
    "MISSING_DEFAULT_ERROR",
    "MISSING_REQUIRED_ERROR",
    "MISSING_TYPE_ERROR",
    "SCHEMA_ERROR",
    "UNEXPECTED_INPUT_ERROR",
    "validate",
]
