"""The heartbeat: ``GET ping`` with the in-flight job ids, as an asyncio task in the worker.

RunPod's SDK pings from a forked process; pitstop pings from the worker's own event loop.
That still works while user code runs, because sync handlers run in threads. The first ping
goes out at once, then one every ``ping_interval`` seconds. The gate is RunPod's (§4.8): an
API key, a ``RUNPOD_POD_ID`` and a ping URL must all be set.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from pitstop.config import WorkerConfig
from pitstop.serverless.logger import get_logger
from pitstop.serverless.transport import Transport

MIN_INTERVAL = 0.005


def should_ping(cfg: WorkerConfig) -> bool:
    """RunPod's gate for the heartbeat, logging why it is off."""
    log = get_logger()
    if not cfg.api_key:
        log.debug("Not deployed on Runpod serverless, pings will not be sent.")
        return False
    if not cfg.worker_id_from_env:
        log.info("Not running on Runpod, pings will not be sent.")
        return False
    if not cfg.ping_url or cfg.ping_url == "PING_NOT_SET":
        log.error("Ping URL not set, cannot start ping.")
        return False
    return True


async def heartbeat(transport: Transport, job_ids: Callable[[], list[str]]) -> None:
    """Ping forever (until cancelled); failures are logged by the transport, never fatal."""
    interval = max(transport.cfg.ping_interval, MIN_INTERVAL)
    timeout = max(2 * interval, 1.0)
    while True:
        await transport.ping(job_ids(), timeout)
        await asyncio.sleep(interval)
