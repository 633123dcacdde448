"""The sweeper: lease expiry, execution timeouts and queue TTLs, retention deletes.

Runs every ``sweep_interval`` in the server process. Each store call is atomic and safe with
several servers sweeping the same store, so nothing here needs a lock.
"""

from __future__ import annotations

import asyncio
import logging

from pitstop.errors import StoreUnavailable
from pitstop.models import SweepReport
from pitstop.server.state import ServerState

log = logging.getLogger("pitstop.server.sweeper")


def _report(name: str, report: SweepReport) -> None:
    if report.requeued or report.failed or report.timed_out or report.deleted:
        log.info(
            "sweep %s: requeued=%d failed=%d timed_out=%d deleted=%d",
            name,
            len(report.requeued),
            len(report.failed),
            len(report.timed_out),
            report.deleted,
        )


async def sweep_once(state: ServerState) -> None:
    """One pass: requeue or fail lost leases, time out jobs, delete expired records."""
    store, cfg = state.store, state.config
    _report("leases", await store.expire_leases(state.now(), cfg.max_attempts))
    _report("deadlines", await store.expire_deadlines(state.now(), cfg.retention_run_s))
    deleted = await store.delete_expired(state.now())
    if deleted:
        log.info("sweep retention: deleted=%d", deleted)


def _failed_pass(exc: Exception) -> None:
    if isinstance(exc, StoreUnavailable):  # an outage, not a bug: one line, no traceback
        log.warning("sweeper pass skipped: %s", exc)
        return
    log.exception("sweeper pass failed: %s", exc)


async def sweep_forever(state: ServerState) -> None:
    """Call :func:`sweep_once` every ``sweep_interval`` until cancelled; errors are logged."""
    while not state.closing:
        try:
            await sweep_once(state)
        except Exception as exc:
            _failed_pass(exc)
        await asyncio.sleep(state.config.sweep_interval)
