"""The dashboard tests' worker: logs, progress, stream chunks, and failures on request.

Input keys: ``sleep`` (seconds before anything), ``fail_unless`` (a path: fail, creating it,
unless it exists, so a retry succeeds), ``chunks`` (how many to stream, default 2).
"""

import os
import sys
import time

import runpod


def handler(job):
    params = job["input"] or {}
    print(f"job {job['id']} starting", flush=True)
    print("a line on stderr", file=sys.stderr, flush=True)
    time.sleep(float(params.get("sleep", 0)))
    marker = params.get("fail_unless")
    if marker and not os.path.exists(marker):
        open(marker, "w").close()
        raise ValueError("failing once on purpose")
    runpod.serverless.progress_update(job, {"step": 1})
    for i in range(int(params.get("chunks", 2))):
        yield {"chunk": i}


runpod.serverless.start({"handler": handler, "return_aggregate_stream": True})
