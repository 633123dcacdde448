"""A no-op RunPod worker for the scale-out test and the Redis benchmark.

It echoes ``input["n"]`` back so every result can be checked against its job.
``NOOP_CONCURRENCY`` (default 10) jobs run at once.
"""

import os

import runpod

CONCURRENCY = int(os.environ.get("NOOP_CONCURRENCY", "10"))


async def handler(job):
    """Return the job's number (async: no thread per job)."""
    return {"n": job["input"]["n"]}


runpod.serverless.start({"handler": handler, "concurrency_modifier": lambda _: CONCURRENCY})
