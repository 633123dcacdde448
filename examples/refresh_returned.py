"""``refresh_worker`` in the return value: the handler decides, job by job.

Returning ``{"refresh_worker": True, ...}`` marks the result with ``stopPod`` so the platform
replaces the worker; the other keys are the job's output. Here the handler asks for a fresh
process only when the input says so.

Run it:
    pitstop serve examples/refresh_returned.py
    curl -s -X POST http://127.0.0.1:8000/v2/refresh_returned/runsync \
        -H 'Content-Type: application/json' -d '{"input": {"refresh": true}}'

Local test mode:
    python examples/refresh_returned.py --test_input '{"input": {"refresh": false}}'
"""

import os

import runpod


def handler(job):
    """Report the process id; ask for a refresh when ``input.refresh`` is true."""
    refresh = bool(job["input"].get("refresh", False))
    return {"pid": os.getpid(), "refresh_worker": refresh}


if __name__ == "__main__":
    runpod.serverless.start({"handler": handler})
