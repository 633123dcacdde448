"""A no-op worker for the server benchmarks; ``BENCH_CONCURRENCY`` jobs at a time."""

import os

import runpod

CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "1"))


async def handler(job):
    return job["input"]


runpod.serverless.start({"handler": handler, "concurrency_modifier": lambda _: CONCURRENCY})
