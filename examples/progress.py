"""``progress_update``: report how far a job has come while it runs.

``/status/JOB_ID`` shows the latest update under ``output`` while the job is IN_PROGRESS.

Run it:
    pitstop serve examples/progress.py
    curl -s -X POST http://127.0.0.1:8000/v2/progress/run \
        -H 'Content-Type: application/json' -d '{"input": {"steps": 3}}'
    curl -s http://127.0.0.1:8000/v2/progress/status/JOB_ID

Local test mode:
    python examples/progress.py --test_input '{"input": {"steps": 3}}'
"""

import runpod


def handler(job):
    """Work through ``steps`` steps, reporting each one."""
    steps = int(job["input"].get("steps", 3))
    for step in range(1, steps + 1):
        runpod.serverless.progress_update(job, f"step {step}/{steps}")
    return {"steps_done": steps}


if __name__ == "__main__":
    runpod.serverless.start({"handler": handler})
