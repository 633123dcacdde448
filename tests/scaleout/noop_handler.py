"""A no-op RunPod worker for the scale-out test and the Redis benchmark.

It echoes ``input["n"]`` back so every result can be checked against its job.
``NOOP_CONCURRENCY`` (default 10) jobs run at once; ``NOOP_SLEEP_MS`` (default 0) makes each
job take that long, so a test can catch jobs while they run.
"""

import asyncio
import os

import runpod

CONCURRENCY = int(os.environ.get("NOOP_CONCURRENCY", "10"))
SLEEP_S = float(os.environ.get("NOOP_SLEEP_MS", "0")) / 1000


async def handler(job):
    """Return the job's number (async: no thread per job)."""
    if SLEEP_S:
        await asyncio.sleep(SLEEP_S)
    return {"n": job["input"]["n"]}


runpod.serverless.start({"handler": handler, "concurrency_modifier": lambda _: CONCURRENCY})
