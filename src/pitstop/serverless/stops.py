"""The per-job stop channel: a ``job-stop`` long-poll that cancels running jobs (§4.7).

A non-empty answer is followed by an immediate re-poll; an empty one by the floor pause.
Unknown ids and jobs not yet started are ignored. What "stop" means per handler kind is the
worker's business (see ``scaler.Scaler.stop_job``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from pitstop.serverless.logger import get_logger
from pitstop.serverless.transport import Transport


def stop_channel_enabled(transport: Transport) -> bool:
    """False (with RunPod's WARN) when the take URL has no ``/job-take/`` to derive from."""
    if transport.urls.stop is None:
        get_logger().warn("Job take URL has no /job-take/ segment; per-job stop is disabled.")
        return False
    return True


async def stop_loop(transport: Transport, stop_job: Callable[[str], None]) -> None:
    """Poll job-stop until cancelled, calling ``stop_job(id)`` for each id received."""
    while True:
        ids, wait = await transport.stop_poll()
        for job_id in ids:
            stop_job(job_id)
        if wait > 0:
            await asyncio.sleep(wait)
