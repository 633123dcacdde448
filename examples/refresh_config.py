"""``refresh_worker`` in the config: every job runs in a fresh process.

After each job the worker posts its result and exits 0; ``pitstop serve`` starts a new one at
once. Useful when a handler leaks memory or GPU state. Each output names the process id, so
two jobs show two different pids.

Run it:
    pitstop serve examples/refresh_config.py
    curl -s -X POST http://127.0.0.1:8000/v2/refresh_config/runsync \
        -H 'Content-Type: application/json' -d '{"input": {}}'

Local test mode (refresh is ignored there):
    python examples/refresh_config.py --test_input '{"input": {}}'
"""

import os

import runpod


def handler(job):
    """Report which process ran the job."""
    return {"pid": os.getpid()}


if __name__ == "__main__":
    runpod.serverless.start({"handler": handler, "refresh_worker": True})
