"""``runpod.serverless.modules.worker_state``: job tracking and worker flags.

``JobsProgress`` is the set pitstop's worker loop keeps current
(:mod:`pitstop.serverless.jobs_progress`). The constants are read from the environment at
import, as in the official SDK; pitstop's worker reads its own settings when it starts, so
assigning them changes nothing there (README, "Official SDK internals").
"""

import os
import uuid

from pitstop.serverless import IMPORTED_AT as REF_COUNT_ZERO
from pitstop.serverless.jobs_progress import PING_MIRROR_CAPACITY, Job, JobsProgress, PingJobMirror
from pitstop.serverless.logger import RunPodLogger

log = RunPodLogger()

WORKER_ID = os.environ.get("RUNPOD_POD_ID", str(uuid.uuid4()))

IS_LOCAL_TEST = os.environ.get("RUNPOD_WEBHOOK_GET_JOB") is None

__all__ = [
    "IS_LOCAL_TEST",
    "PING_MIRROR_CAPACITY",
    "REF_COUNT_ZERO",
    "WORKER_ID",
    "Job",
    "JobsProgress",
    "PingJobMirror",
    "RunPodLogger",
    "log",
]
