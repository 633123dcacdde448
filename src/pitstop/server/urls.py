"""The environment a supervisor gives a worker so it talks to a pitstop server.

These are RunPod's variables; the URLs carry ``?gpu=none`` because RunPod's worker SDK
appends its parameters with ``&``.
"""

from __future__ import annotations


def worker_env(base_url: str, endpoint: str, worker_id: str, key: str) -> dict[str, str]:
    """``RUNPOD_WEBHOOK_*``, ``RUNPOD_AI_API_KEY`` and ``RUNPOD_POD_ID`` for one worker."""
    base = f"{base_url.rstrip('/')}/v2/{endpoint}"
    return {
        "RUNPOD_WEBHOOK_GET_JOB": f"{base}/job-take/$ID?gpu=none",
        "RUNPOD_WEBHOOK_POST_OUTPUT": f"{base}/job-done/$RUNPOD_POD_ID/$ID?gpu=none",
        "RUNPOD_WEBHOOK_POST_STREAM": f"{base}/job-stream/$RUNPOD_POD_ID/$ID?gpu=none",
        "RUNPOD_WEBHOOK_PING": f"{base}/ping/$RUNPOD_POD_ID?gpu=none",
        "RUNPOD_AI_API_KEY": key,
        "RUNPOD_POD_ID": worker_id,
    }
