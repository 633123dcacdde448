"""``concurrency_modifier``: one worker runs several jobs at once (async handler).

The modifier is called before each fetch with the current concurrency and returns the
new one; here it is a constant 4. Only async handlers really overlap: a sync handler blocks
the worker's event loop.

Run it:
    pitstop serve examples/concurrency.py
    for i in 1 2 3 4; do
        curl -s -X POST http://127.0.0.1:8000/v2/concurrency/run \
            -H 'Content-Type: application/json' -d '{"input": {"seconds": 1}}'
    done

Local test mode:
    python examples/concurrency.py --test_input '{"input": {"seconds": 0.1}}'
"""

import asyncio

import runpod

MAX_CONCURRENCY = 4


async def handler(job):
    """Wait ``seconds`` (as if calling a slow API), then say so."""
    seconds = float(job["input"].get("seconds", 0.1))
    await asyncio.sleep(seconds)
    return {"slept": seconds}


def concurrency_modifier(current):
    """Always allow MAX_CONCURRENCY jobs in flight."""
    return MAX_CONCURRENCY


if __name__ == "__main__":
    runpod.serverless.start({"handler": handler, "concurrency_modifier": concurrency_modifier})
