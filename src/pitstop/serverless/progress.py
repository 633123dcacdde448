"""``progress_update(job, progress)``: RunPod's non-blocking progress report.

The update is queued on the job's outbox and POSTed to the job-done URL (``isStream=false``)
as ``{"status": "IN_PROGRESS", "output": progress}``, through the worker's shared client and
in call order, always before the job's final result. It may be called from async handlers
and from sync handlers running in threads. Outside a running worker (local test mode) the
update is only logged.
"""

from __future__ import annotations

from typing import Any

from pitstop.serverless.logger import get_logger


def progress_update(job: dict[str, Any], progress: Any) -> None:
    """Report ``progress`` for ``job`` (returns at once; delivery is ordered and in the background)."""
    from pitstop.serverless import outbox

    job_id = str(job.get("id"))
    get_logger().debug(f"Sending Progress Update: {progress}", job_id)
    box = outbox.lookup(job_id)
    if box is not None:
        box.progress(progress)
