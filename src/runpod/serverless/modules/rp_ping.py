"""``runpod.serverless.modules.rp_ping``: ``Heartbeat``, from :mod:`pitstop.serverless.sdk.runner`.

pitstop's worker sends the heartbeat from its own event loop (``RUNPOD_PING_INTERVAL`` is
read when it starts); ``Heartbeat().start_ping()`` starts nothing.
"""

from pitstop.lazy import attach
from pitstop.serverless.logger import RunPodLogger
from pitstop.serverless.sdk.runner import Heartbeat
from pitstop.serverless.version import SDK_VERSION as runpod_version
from runpod.serverless.modules.worker_state import WORKER_ID

log = RunPodLogger()

__all__ = ["WORKER_ID", "Heartbeat", "RunPodLogger", "log", "runpod_version"]

__getattr__, __dir__ = attach(__name__, names={"SyncClientSession": "runpod.http_client"})
