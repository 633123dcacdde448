"""``runpod.serverless.modules.rp_scale``: ``JobScaler``, from :mod:`pitstop.serverless.sdk.runner`.

``JobScaler(config).start()`` runs pitstop's worker loop; see that module for what differs.
"""

from pitstop.errors import TooManyRequests
from pitstop.serverless.jobs_progress import JobsProgress
from pitstop.serverless.logger import RunPodLogger
from pitstop.serverless.sdk.runner import JobScaler
from runpod.http_client import AsyncClientSession
from runpod.serverless.modules.rp_job import get_job, get_stop_signals, handle_job
from runpod.serverless.modules.worker_state import IS_LOCAL_TEST

log = RunPodLogger()

__all__ = [
    "IS_LOCAL_TEST",
    "AsyncClientSession",
    "JobScaler",
    "JobsProgress",
    "RunPodLogger",
    "TooManyRequests",
    "get_job",
    "get_stop_signals",
    "handle_job",
    "log",
]
