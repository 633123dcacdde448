"""Shared behaviour of the scripted test handlers, driven by the job's input.

Input keys, applied in this order (all optional; with none the handler echoes its input):
``show`` print ``SAW <job as JSON>``; ``mark`` print ``MARK START <id> <monotonic>``; ``print`` print a line; ``progress`` a list of
``progress_update`` payloads; ``sleep`` seconds (``time.sleep`` in the sync handler,
``asyncio.sleep`` in the async one); ``exit`` call ``sys.exit(n)``; ``raise`` raise
``ValueError(msg)``; ``unserialisable`` return ``{"b": b"\\x00"}``; ``return`` the value to
return. The config comes from env: ``TEST_REFRESH_WORKER``, ``TEST_AGGREGATE``,
``TEST_CONCURRENCY`` (a constant concurrency_modifier). Only ``import runpod`` APIs are used,
so the official SDK and pitstop run these files alike.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from typing import Any

import runpod


def _before(job: dict[str, Any]) -> dict[str, Any]:
    spec = job.get("input")
    spec = spec if isinstance(spec, dict) else {}
    if spec.get("show"):
        print(f"SAW {json.dumps(job, sort_keys=True)}", flush=True)
    if spec.get("mark"):
        print(f"MARK START {job['id']} {time.monotonic():.6f}", flush=True)
    if "print" in spec:
        print(spec["print"], flush=True)
    for update in spec.get("progress", []):
        runpod.serverless.progress_update(job, update)
    return spec


def _after(job: dict[str, Any], spec: dict[str, Any]) -> Any:
    if "exit" in spec:
        sys.exit(spec["exit"])
    if "raise" in spec:
        raise ValueError(spec["raise"])
    if spec.get("unserialisable"):
        return {"b": b"\x00"}
    if "return" in spec:
        return spec["return"]
    return job.get("input")


def act(job: dict[str, Any]) -> Any:
    """The sync handler."""
    spec = _before(job)
    if "sleep" in spec:
        time.sleep(spec["sleep"])
    return _after(job, spec)


async def act_async(job: dict[str, Any]) -> Any:
    """The async handler; prints ``CANCELLED <id>`` when a stop signal cancels it."""
    spec = _before(job)
    try:
        if "sleep" in spec:
            await asyncio.sleep(spec["sleep"])
    except asyncio.CancelledError:
        print(f"CANCELLED {job['id']}", flush=True)
        raise
    return _after(job, spec)


def chunks(job: dict[str, Any]) -> list[Any]:
    """Generator items: ``input["yield"]``; an item ``{"raise": msg}`` raises RuntimeError."""
    spec = job.get("input")
    return list(spec.get("yield", [])) if isinstance(spec, dict) else []


def config(handler: Any) -> dict[str, Any]:
    """The ``start()`` config for ``handler`` from the ``TEST_*`` environment."""
    cfg: dict[str, Any] = {"handler": handler}
    if os.environ.get("TEST_REFRESH_WORKER"):
        cfg["refresh_worker"] = True
    if os.environ.get("TEST_AGGREGATE"):
        cfg["return_aggregate_stream"] = True
    if os.environ.get("TEST_CONCURRENCY"):
        target = int(os.environ["TEST_CONCURRENCY"])
        cfg["concurrency_modifier"] = lambda current: target
    return cfg
