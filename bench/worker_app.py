"""The benchmark worker: one RunPod-style handler file, run unchanged by both SDKs.

``python bench/worker_app.py MODE`` with pitstop's interpreter (``import runpod`` is
pitstop's facade) or the official SDK's. Modes: ``noop``, ``async16`` (10 ms async sleep,
concurrency 16), ``plain4`` (10 ms blocking sleep, concurrency 4), ``gen1000`` (a generator
yielding 1000 small chunks), ``refresh`` (no-op with ``refresh_worker``), ``bigin`` (reads a
5 MB input), ``bigout`` (returns 5 MB). Imports nothing from the bench package: it is a
user's worker file.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Iterator
from typing import Any

import runpod

BIG_OUTPUT = "x" * (5 * 1024 * 1024)


def noop(job: dict[str, Any]) -> dict[str, Any]:
    return {"ok": True}


async def sleep_async(job: dict[str, Any]) -> dict[str, Any]:
    await asyncio.sleep(0.01)
    return {"ok": True}


def sleep_blocking(job: dict[str, Any]) -> dict[str, Any]:
    time.sleep(0.01)
    return {"ok": True}


def chunks(job: dict[str, Any]) -> Iterator[dict[str, int]]:
    for i in range(1000):
        yield {"i": i}


def read_input(job: dict[str, Any]) -> dict[str, Any]:
    return {"size": len(job["input"]["data"])}


def write_output(job: dict[str, Any]) -> dict[str, Any]:
    return {"data": BIG_OUTPUT}


MODES: dict[str, dict[str, Any]] = {
    "noop": {"handler": noop},
    "async16": {"handler": sleep_async, "concurrency_modifier": lambda current: 16},
    "plain4": {"handler": sleep_blocking, "concurrency_modifier": lambda current: 4},
    "gen1000": {"handler": chunks},
    "refresh": {"handler": noop, "refresh_worker": True},
    "bigin": {"handler": read_input},
    "bigout": {"handler": write_output},
}

if __name__ == "__main__":
    mode = sys.argv.pop(1)
    runpod.serverless.start(MODES[mode])
