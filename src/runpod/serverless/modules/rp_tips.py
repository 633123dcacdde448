"""``runpod.serverless.modules.rp_tips``: the return-size tip, from :mod:`pitstop.serverless.sdk.jobs`."""

from pitstop.serverless.logger import RunPodLogger
from pitstop.serverless.sdk.jobs import check_return_size

log = RunPodLogger()

__all__ = ["check_return_size", "log"]
