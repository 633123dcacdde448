"""``runpod.serverless.modules.rp_progress``: ``progress_update``, from :mod:`pitstop.serverless.progress`.

pitstop sends a progress update through the running job's ordered outbox (before the
result), not from a new thread and session as the official SDK does.
"""

from pitstop.serverless.logger import RunPodLogger
from pitstop.serverless.progress import progress_update
from runpod.http_client import AsyncClientSession
from runpod.serverless.modules.rp_http import send_result

log = RunPodLogger()

__all__ = ["AsyncClientSession", "RunPodLogger", "log", "progress_update", "send_result"]
