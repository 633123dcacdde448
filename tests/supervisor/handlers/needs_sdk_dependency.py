"""Test worker that imports a package the official runpod SDK installs (not pitstop)."""

import aiohttp_retry  # noqa: F401

import runpod

runpod.serverless.start({"handler": lambda job: job["input"]})
