"""A worker started through the official internals, as some custom runners do.

``rp_scale.JobScaler(config).start()`` instead of ``runpod.serverless.start``; the handler
reads ``worker_state.JobsProgress`` (as concurrency modifiers do). ``refresh_worker`` ends
the worker after its first job, so the run ends by itself.
"""

from typing import Any

from runpod.serverless.modules import rp_scale
from runpod.serverless.modules.worker_state import JobsProgress


def handler(job: dict[str, Any]) -> dict[str, Any]:
    progress = JobsProgress()
    return {"jobs": progress.get_job_list(), "count": progress.get_job_count()}


if __name__ == "__main__":
    rp_scale.JobScaler({"handler": handler, "refresh_worker": True}).start()
