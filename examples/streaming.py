"""A generator handler: each yield is a stream chunk; the final output aggregates them.

Run it:
    pitstop serve examples/streaming.py
    curl -s -X POST http://127.0.0.1:8000/v2/streaming/run \
        -H 'Content-Type: application/json' -d '{"input": {"count": 3}}'
    curl -s http://127.0.0.1:8000/v2/streaming/stream/JOB_ID     # the chunks so far
    curl -s http://127.0.0.1:8000/v2/streaming/status/JOB_ID     # output = every chunk

Local test mode (RunPod's local test runs generators without iterating them):
    python examples/streaming.py --test_input '{"input": {"count": 3}}'
"""

import runpod


def handler(job):
    """Count up to ``count``, one chunk per number."""
    count = int(job["input"].get("count", 3))
    for n in range(1, count + 1):
        yield {"n": n}


if __name__ == "__main__":
    runpod.serverless.start({"handler": handler, "return_aggregate_stream": True})
