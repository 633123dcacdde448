"""Versions: the official SDK release pitstop reproduces, and the one the worker reports.

``SDK_VERSION`` is the runpod SDK whose worker and client API pitstop provides: it is
``runpod.__version__`` (worker code compares it), ``runpod.serverless.runpod_version`` and
``runpod.version.get_version()``, and the worker reports it on the wire (ping, User-Agent,
error payloads) as ``runpod_version``, as the official SDK reports its own: RunPod's platform
sees the SDK version whose protocol the worker speaks. pitstop's own version is
``pitstop.__version__``; the worker names it in the start banner and as a ``pitstop/<ver>``
product token at the end of its User-Agent.
"""

from __future__ import annotations

from pitstop import __version__

SDK_VERSION = "1.12.0"
"""The official runpod SDK release whose API pitstop's ``runpod`` package reproduces."""

SDK_VERSION_TUPLE = (1, 12, 0)

runpod_version: str = SDK_VERSION
"""Reported where RunPod's SDK reports its own version (ping, User-Agent, error payloads)."""


def banner() -> str:
    """The worker's first output line (RunPod's banner, plus pitstop's version)."""
    return f"--- Starting Serverless Worker |  Version {SDK_VERSION} (pitstop {__version__}) ---"
