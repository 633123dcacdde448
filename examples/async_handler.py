"""An async handler: awaits instead of blocking, so one worker can overlap jobs.

Run it:
    pitstop serve examples/async_handler.py
    curl -s -X POST http://127.0.0.1:8000/v2/async_handler/runsync \
        -H 'Content-Type: application/json' -d '{"input": {"words": ["a", "b", "c"]}}'

Local test mode:
    python examples/async_handler.py --test_input '{"input": {"words": ["a", "b"]}}'
"""

import asyncio

import runpod


async def handler(job):
    """Upper-case each word, pausing briefly as if waiting on I/O."""
    words = job["input"].get("words", [])
    results = []
    for word in words:
        await asyncio.sleep(0.01)
        results.append(word.upper())
    return {"words": results}


if __name__ == "__main__":
    runpod.serverless.start({"handler": handler})
