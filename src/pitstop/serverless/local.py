"""Local one-shot test mode: ``python handler.py --test_input '{"input": {...}}'``.

The job comes from ``--test_input`` or ``./test_input.json`` (``id`` defaults to
``local_test``). It runs through the same handler path as production, except nothing goes on
the wire, and prints RunPod's lines: ``Started.``, ``Handler output: ...`` and
``run_job return: {...}`` at DEBUG, the ``Captured Handler Exception`` block when the
handler raises, then ``Job local_test completed successfully.`` and ``Job result: {...}``
(with ``'stopPod': True`` when the handler returned ``refresh_worker``) or ``Job local_test
failed with error: ...``; ``test_input.json not found, exiting.`` and ``Job has no input
parameter. Unable to run.`` when there is no job. Exit code 0 on success, 1 on any failure.
As in RunPod's SDK the ``refresh_worker`` config key does nothing here.

Unlike RunPod's SDK, generator handlers are drained and each chunk is shown (a generator's
result is the list of its chunks), and ``--rp_debugger`` adds its timings here too.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

from pitstop.config import WorkerConfig
from pitstop.serverless.handler import Kind, Stream, call, classify
from pitstop.serverless.handler_error import report_raised
from pitstop.serverless.job_loop import attach_debugger
from pitstop.serverless.logger import get_logger
from pitstop.serverless.result import chunk_error, generator_error, shape_return
from pitstop.serverless.version import runpod_version


def load_job(rp_args: dict[str, Any]) -> dict[str, Any] | None:
    """The test job from the flag or ``test_input.json``; None (after logging) when absent."""
    log = get_logger()
    if rp_args.get("test_input"):
        log.info("test_input set, using test_input as job input.")
        job = rp_args["test_input"]
    elif os.path.exists("test_input.json"):
        log.info("Using test_input.json as job input.")
        with open("test_input.json", encoding="utf-8") as fh:
            job = json.load(fh)
    else:
        log.warn("test_input.json not found, exiting.")
        return None
    if not isinstance(job, dict) or job.get("input") is None:
        log.error("Job has no input parameter. Unable to run.")
        return None
    job.setdefault("id", "local_test")
    log.debug(f"Retrieved local job: {job}")
    return job


async def _run_stream(handler: Any, kind: Kind, job: dict[str, Any]) -> dict[str, Any]:
    log = get_logger()
    stream = Stream(handler, kind, job)
    chunks: list[Any] = []
    try:
        await stream.open()
        async for value in stream:
            failed = chunk_error(value)
            if failed is not None:
                await stream.close()
                return failed
            log.info(f"Stream chunk {len(chunks)}: {value}", job["id"])
            chunks.append(value)
    except Exception as exc:
        return generator_error(exc)
    return {"output": chunks}


async def _run_call(handler: Any, kind: Kind, job: dict[str, Any]) -> dict[str, Any]:
    try:
        value = await call(handler, kind, job)
    except Exception as exc:
        return report_raised(exc, WorkerConfig.from_env(), runpod_version, job["id"])
    get_logger().debug(f"Handler output: {value}", job["id"])
    return shape_return(value).body


async def run_local_job(config: dict[str, Any], job: dict[str, Any]) -> dict[str, Any]:
    """Run one job and return its body as production would shape it."""
    handler = config["handler"]
    kind = classify(handler)
    get_logger().info("Started.", job["id"])
    if kind.streams:
        body = await _run_stream(handler, kind, job)
    else:
        body = await _run_call(handler, kind, job)
    get_logger().debug(f"run_job return: {body}", job["id"])
    return body


def run_local(config: dict[str, Any]) -> int:
    """Local test mode; returns the exit code."""
    log = get_logger()
    job = load_job(config.get("rp_args") or {})
    if job is None:
        return 1
    body = asyncio.run(run_local_job(config, job))
    attach_debugger(config, body)
    if body.get("error"):
        log.error(f"Job {job['id']} failed with error: {body['error']}")
        return 1
    log.info(f"Job {job['id']} completed successfully.")
    log.info(f"Job result: {body}")
    log.info("Local testing complete, exiting.")
    return 0
