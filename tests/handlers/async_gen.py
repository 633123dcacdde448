"""Async generator handler yielding ``input["yield"]`` (an item ``{"raise": m}`` raises)."""

import asyncio

import _behave

import runpod


async def handler(job):
    for item in _behave.chunks(job):
        await asyncio.sleep(0)
        if isinstance(item, dict) and "raise" in item:
            raise RuntimeError(item["raise"])
        yield item


if __name__ == "__main__":
    runpod.serverless.start(_behave.config(handler))
