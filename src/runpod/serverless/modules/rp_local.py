"""``runpod.serverless.modules.rp_local``: local test mode, from :mod:`pitstop.serverless.sdk.runner`."""

from pitstop.serverless.logger import RunPodLogger
from pitstop.serverless.sdk.jobs import run_job
from pitstop.serverless.sdk.runner import run_local

log = RunPodLogger()

__all__ = ["RunPodLogger", "log", "run_job", "run_local"]
