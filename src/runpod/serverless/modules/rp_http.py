"""``runpod.serverless.modules.rp_http``: ``send_result`` / ``stream_result`` with the official
signatures, sent by :mod:`pitstop.serverless.sdk.wire`.

``JOB_DONE_URL`` and ``JOB_STREAM_URL`` are read at call time, so assigning them redirects
these two functions; pitstop's worker loop reads ``RUNPOD_WEBHOOK_*`` itself when it starts.
"""

from __future__ import annotations

import os
from typing import Any

from pitstop.serverless.logger import RunPodLogger
from pitstop.serverless.sdk import wire
from runpod.serverless.modules.worker_state import WORKER_ID

JOB_DONE_URL_TEMPLATE = str(os.environ.get("RUNPOD_WEBHOOK_POST_OUTPUT", "JOB_DONE_URL"))
JOB_DONE_URL = JOB_DONE_URL_TEMPLATE.replace("$RUNPOD_POD_ID", WORKER_ID)

JOB_STREAM_URL_TEMPLATE = str(os.environ.get("RUNPOD_WEBHOOK_POST_STREAM", "JOB_STREAM_URL"))
JOB_STREAM_URL = JOB_STREAM_URL_TEMPLATE.replace("$RUNPOD_POD_ID", WORKER_ID)

log = RunPodLogger()


async def send_result(
    session: Any, job_data: dict[str, Any], job: dict[str, Any], is_stream: bool = False
) -> None:
    """POST a job-done body to ``JOB_DONE_URL``."""
    await wire.send_result(session, job_data, job, is_stream, url_template=JOB_DONE_URL)


async def stream_result(session: Any, job_data: dict[str, Any], job: dict[str, Any]) -> None:
    """POST a stream chunk to ``JOB_STREAM_URL``."""
    await wire.stream_result(session, job_data, job, url_template=JOB_STREAM_URL)
