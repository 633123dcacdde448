"""A scripted worker for the process-level tests, one file for every handler kind.

``W_KIND`` picks the handler: function, async, generator, async_generator, partial (of a
sync function), callable (an object whose ``__call__`` is async). The job input drives it:
``print`` a line, ``progress`` a list of updates, ``sleep`` seconds, ``raise`` a message
(ValueError), ``exit`` (sys.exit code), ``bytes`` (return bytes), ``refresh`` (return/yield ``refresh_worker``), ``return`` a value, ``yield`` a
list of chunks (generators), ``mark`` print ``START <id>``. Config from env: ``W_REFRESH``,
``W_AGGREGATE``, ``W_CONC_FILE`` (a file holding the concurrency; re-read on every call).
"""

from __future__ import annotations

import asyncio
import functools
import os
import sys
import time
from typing import Any

import runpod


def _spec(job: dict[str, Any]) -> dict[str, Any]:
    spec = job.get("input")
    spec = spec if isinstance(spec, dict) else {}
    if spec.get("mark"):
        print(f"START {job['id']}", flush=True)
    if "print" in spec:
        print(spec["print"], flush=True)
    for update in spec.get("progress", []):
        runpod.serverless.progress_update(job, update)
    return spec


def _result(spec: dict[str, Any]) -> Any:
    if "exit" in spec:
        sys.exit(spec["exit"])
    if "raise" in spec:
        raise ValueError(spec["raise"])
    if spec.get("bytes"):
        return {"b": b"\x00"}
    value = spec.get("return", {"ok": True})
    if spec.get("refresh"):
        value = {**value, "refresh_worker": True}
    return value


def sync_handler(job: dict[str, Any], suffix: str = "") -> Any:
    spec = _spec(job)
    time.sleep(spec.get("sleep", 0))
    return _result(spec)


async def async_handler(job: dict[str, Any]) -> Any:
    spec = _spec(job)
    try:
        await asyncio.sleep(spec.get("sleep", 0))
    except asyncio.CancelledError:
        print(f"CANCELLED {job['id']}", flush=True)
        raise
    return _result(spec)


def _items(spec: dict[str, Any]) -> list[Any]:
    items = list(spec.get("yield", []))
    if spec.get("refresh"):
        items.append({"refresh_worker": True, "last": True})
    return items


def gen_handler(job: dict[str, Any]) -> Any:
    spec = _spec(job)
    for item in _items(spec):
        time.sleep(spec.get("sleep", 0))
        yield item
    if "raise" in spec:
        raise RuntimeError(spec["raise"])


async def agen_handler(job: dict[str, Any]) -> Any:
    spec = _spec(job)
    for item in _items(spec):
        await asyncio.sleep(spec.get("sleep", 0))
        yield item
    if "raise" in spec:
        raise RuntimeError(spec["raise"])


class CallableAsync:
    async def __call__(self, job: dict[str, Any]) -> Any:
        return await async_handler(job)


HANDLERS = {
    "function": sync_handler,
    "async": async_handler,
    "generator": gen_handler,
    "async_generator": agen_handler,
    "partial": functools.partial(sync_handler, suffix="x"),
    "callable": CallableAsync(),
}


def concurrency(current: int) -> int:
    path = os.environ["W_CONC_FILE"]
    try:
        with open(path) as fh:
            return int(fh.read().strip() or current)
    except FileNotFoundError:
        return current


config: dict[str, Any] = {"handler": HANDLERS[os.environ.get("W_KIND", "function")]}
if os.environ.get("W_REFRESH"):
    config["refresh_worker"] = True
if os.environ.get("W_AGGREGATE"):
    config["return_aggregate_stream"] = True
if os.environ.get("W_CONC_FILE"):
    config["concurrency_modifier"] = concurrency

runpod.serverless.start(config)
