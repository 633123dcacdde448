"""Hints for a worker that failed to start, read from the tail of its error output.

Workers written for RunPod often use a package without declaring it, because the official
``runpod`` SDK brought it along (``requests``, ``aiohttp``, ``boto3`` ...). Under pitstop's
lighter runtime that import fails; the supervisor adds one line naming the extra that
installs the official SDK's dependencies.
"""

from __future__ import annotations

import re

# Import names of runpod 1.12.0's runtime dependencies, and of what those bring along.
OFFICIAL_SDK_MODULES = frozenset(
    {
        "aiohttp", "aiohttp_retry", "aiosignal", "aiodns", "brotli", "backoff", "boto3",
        "botocore", "s3transfer", "click", "colorama", "cryptography", "fastapi", "starlette",
        "pydantic", "uvicorn", "paramiko", "prettytable", "psutil", "cpuinfo", "InquirerPy",
        "requests", "urllib3", "certifi", "charset_normalizer", "idna", "tomli", "tomlkit",
        "tqdm_loggable", "tqdm", "watchdog", "yarl", "multidict", "frozenlist",
    }
)  # fmt: skip

EXTRA_HINT = "pip install 'pitstop[runpod]'"

_MISSING = re.compile(r"ModuleNotFoundError: No module named '([\w.]+)'")


def missing_dependency_hint(error_text: str) -> str | None:
    """One hint line when ``error_text`` shows a missing module the official SDK brings."""
    found = _MISSING.findall(error_text)
    if not found:
        return None
    module = found[-1].split(".")[0]
    if module not in OFFICIAL_SDK_MODULES:
        return None
    return (
        f"hint: {module!r} comes with the official runpod SDK, not with pitstop's runtime: "
        f"{EXTRA_HINT} installs the official SDK's dependencies"
    )
