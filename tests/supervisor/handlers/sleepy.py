"""Test worker: prints a line, sleeps ``input.sleep`` seconds (async) on the job's first
attempt only (a retried attempt runs at once), returns its pid and CUDA_VISIBLE_DEVICES."""

import asyncio
import os

import runpod


async def handler(job):
    print(f"running in {os.getpid()}", flush=True)
    if job.get("attempt", 1) <= 1:
        await asyncio.sleep(float(job["input"].get("sleep", 0)))
    return {"pid": os.getpid(), "cuda": os.environ.get("CUDA_VISIBLE_DEVICES")}


if __name__ == "__main__":
    runpod.serverless.start({"handler": handler})
