"""The version string the worker reports (banner, ping, error payloads, User-Agent)."""

from __future__ import annotations

from pitstop import __version__

runpod_version: str = __version__
"""Reported where RunPod's SDK reports its own version (``runpod.serverless.runpod_version``)."""
