"""``runpod.serverless.modules.rp_job``: the official job helpers, on pitstop's runtime.

``run_job`` / ``run_job_generator`` / ``handle_job`` are :mod:`pitstop.serverless.sdk.jobs`;
``get_job`` / ``get_stop_signals`` are :mod:`pitstop.serverless.sdk.wire`. ``JOB_GET_URL``
(and ``rp_http.JOB_DONE_URL`` / ``JOB_STREAM_URL``) are read at call time, so assigning them
redirects these functions; pitstop's own worker loop reads ``RUNPOD_WEBHOOK_*`` at start.
"""

from __future__ import annotations

import os
from typing import Any

from pitstop.errors import TooManyRequests
from pitstop.serverless.jobs_progress import JobsProgress
from pitstop.serverless.logger import RunPodLogger
from pitstop.serverless.sdk import jobs, wire
from pitstop.serverless.sdk.jobs import check_return_size, is_generator, run_job, run_job_generator
from pitstop.serverless.version import SDK_VERSION as runpod_version
from runpod.serverless.modules import rp_http
from runpod.serverless.modules.rp_http import send_result, stream_result
from runpod.serverless.modules.worker_state import REF_COUNT_ZERO, WORKER_ID

JOB_GET_URL = str(os.environ.get("RUNPOD_WEBHOOK_GET_JOB")).replace("$ID", WORKER_ID)

log = RunPodLogger()
job_progress = JobsProgress()


def _job_stop_url() -> str | None:
    """The job-stop URL derived from ``JOB_GET_URL`` (None without ``/job-take/``)."""
    return wire.stop_url_for(JOB_GET_URL)


async def get_job(session: Any, num_jobs: int = 1) -> list[dict[str, Any]] | None:
    """One job-take from ``JOB_GET_URL``; TooManyRequests on 429."""
    return await wire.get_job(session, num_jobs, take_url=JOB_GET_URL)


async def get_stop_signals(session: Any) -> list[str]:
    """One job-stop long-poll; TooManyRequests on 429."""
    return await wire.get_stop_signals(session, stop_url=_job_stop_url())


async def handle_job(session: Any, config: dict[str, Any], job: dict[str, Any]) -> None:
    """Run a job and send its chunks and result to ``rp_http``'s URLs."""
    await jobs.handle_job(
        session, config, job, done_url=rp_http.JOB_DONE_URL, stream_url=rp_http.JOB_STREAM_URL
    )


__all__ = [
    "JOB_GET_URL",
    "REF_COUNT_ZERO",
    "WORKER_ID",
    "JobsProgress",
    "RunPodLogger",
    "TooManyRequests",
    "check_return_size",
    "get_job",
    "get_stop_signals",
    "handle_job",
    "is_generator",
    "job_progress",
    "log",
    "run_job",
    "run_job_generator",
    "runpod_version",
    "send_result",
    "stream_result",
]
