"""Webhook delivery from the durable outbox: POST the job's body, retry with backoff.

The store writes an outbox entry with the terminal transition (finish, cancel, timeout), so
a webhook survives a server crash. This loop takes due entries, renders the payload from the
current job record (status body + ``input`` + ``webhook``; the stored payload if the record
is gone), POSTs it with ``webhook_timeout``, and records the outcome: delivered on any 2xx,
else retried after ``webhook_backoff * 2**n`` until ``webhook_attempts`` attempts were made.
"""

from __future__ import annotations

import asyncio
import logging

import httpx

from pitstop.errors import StoreUnavailable
from pitstop.models import WebhookDelivery
from pitstop.server.bodies import dumps
from pitstop.server.state import ServerState
from pitstop.server.views import webhook_body

log = logging.getLogger("pitstop.server.webhooks")
BATCH = 100


async def _payload(state: ServerState, delivery: WebhookDelivery) -> bytes:
    job = await state.store.get(delivery.job_id)
    return dumps(webhook_body(job) if job is not None else delivery.payload)


def _next_at(state: ServerState, attempts_made: int) -> float | None:
    cfg = state.config
    if attempts_made >= cfg.webhook_attempts:
        return None
    return state.now() + cfg.webhook_backoff * float(2 ** (attempts_made - 1))


async def _record_failure(state: ServerState, delivery: WebhookDelivery, error: str) -> None:
    next_at = _next_at(state, delivery.attempts + 1)
    log.warning(
        "webhook for job %s to %s failed (attempt %d): %s%s",
        delivery.job_id,
        delivery.url,
        delivery.attempts + 1,
        error,
        "" if next_at else "; giving up",
    )
    await state.store.webhook_attempted(delivery.id, False, error, next_at)


async def deliver(state: ServerState, client: httpx.AsyncClient, delivery: WebhookDelivery) -> bool:
    """One attempt at one delivery; records the outcome; True when delivered."""
    try:
        body = await _payload(state, delivery)
        response = await client.post(
            delivery.url, content=body, headers={"Content-Type": "application/json"}
        )
    except httpx.HTTPError as exc:
        await _record_failure(state, delivery, f"{type(exc).__name__}: {exc}")
        return False
    if response.is_success:
        await state.store.webhook_attempted(delivery.id, True, None, None)
        return True
    await _record_failure(state, delivery, f"HTTP {response.status_code}")
    return False


async def deliver_due(state: ServerState, client: httpx.AsyncClient) -> int:
    """Send every due delivery concurrently; return how many were attempted."""
    due = await state.store.due_webhooks(state.now(), BATCH)
    if due:
        await asyncio.gather(*(deliver(state, client, d) for d in due))
    return len(due)


def _failed_pass(exc: Exception) -> None:
    if isinstance(exc, StoreUnavailable):  # an outage, not a bug: one line, no traceback
        log.warning("webhook pass skipped: %s", exc)
        return
    log.exception("webhook pass failed: %s", exc)


async def deliver_forever(state: ServerState) -> None:
    """Poll the outbox every ``sweep_interval`` (at once again after a full batch)."""
    timeout = httpx.Timeout(state.config.webhook_timeout)
    async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
        while not state.closing:
            try:
                sent = await deliver_due(state, client)
            except Exception as exc:
                _failed_pass(exc)
                sent = 0
            if sent < BATCH:
                await asyncio.sleep(state.config.sweep_interval)
