"""Sync generator handler yielding ``input["yield"]`` (an item ``{"raise": m}`` raises)."""

import _behave

import runpod


def handler(job):
    for item in _behave.chunks(job):
        if isinstance(item, dict) and "raise" in item:
            raise RuntimeError(item["raise"])
        yield item


if __name__ == "__main__":
    runpod.serverless.start(_behave.config(handler))
