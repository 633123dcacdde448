"""Webhook delivery from the durable outbox: POST the job's body to public addresses only.

The store writes an outbox entry with the terminal transition (finish, cancel, timeout), so
a webhook survives a server crash. This loop takes due entries, renders the payload from the
current job record (status body + ``input`` + ``webhook``; the stored payload if the record
is gone) and POSTs it with ``webhook_timeout``.

Every failure counts as one attempt and is logged in one line: a URL that cannot be parsed,
a host that does not resolve or resolves to a refused address, a refused connection, TLS,
a timeout, a non-2xx answer, a body that cannot be rendered. Attempts are retried after
``webhook_backoff * 2**n``; after ``webhook_attempts`` the delivery is marked failed (shown
in ``GET /pitstop/v1/jobs/{id}``).

SSRF: the host is resolved once, every address must be public (:mod:`pitstop.ssrf`) unless
the host or address is in ``webhook_allow``, and the request goes to a checked address with
the original Host header and TLS name, so a DNS answer cannot change between the check and
the connection. Nothing is sent through an environment proxy.
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlsplit

import httpx

from pitstop.errors import StoreUnavailable
from pitstop.models import WebhookDelivery
from pitstop.server.bodies import dumps
from pitstop.server.state import ServerState
from pitstop.server.views import webhook_body
from pitstop.ssrf import Allowlist, SSRFError, is_public_address, pinned_request, resolve
from pitstop.webhooks import sign

log = logging.getLogger("pitstop.server.webhooks")
BATCH = 100
_HEADERS = {"Content-Type": "application/json"}


async def _payload(state: ServerState, delivery: WebhookDelivery) -> bytes:
    job = await state.store.get(delivery.job_id)
    if job is None:
        return delivery.payload_json.encode()
    return dumps(webhook_body(job))


def _next_at(state: ServerState, attempts_made: int) -> float | None:
    cfg = state.config
    if attempts_made >= cfg.webhook_attempts:
        return None
    return state.now() + cfg.webhook_backoff * float(2 ** (attempts_made - 1))


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or repr(exc)
    return f"{type(exc).__name__}: {text}"[:500]


async def _record_failure(state: ServerState, delivery: WebhookDelivery, error: str) -> None:
    made = delivery.attempts + 1
    next_at = _next_at(state, made)
    log.warning(
        "webhook for job %s to %s failed (attempt %d of %d): %s%s",
        delivery.job_id,
        delivery.url,
        made,
        state.config.webhook_attempts,
        error,
        "" if next_at else "; marked failed",
    )
    await state.store.webhook_attempted(delivery.id, False, error, next_at)


async def checked_addresses(url: str, allow: Allowlist, timeout: float) -> list[str]:
    """The addresses ``url``'s host resolves to, all of them allowed; SSRFError otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise SSRFError(f"not a valid URL: {exc}") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SSRFError(f"not an http(s) URL with a host: {url!r}")
    host = parts.hostname
    ips = await asyncio.wait_for(asyncio.to_thread(resolve, host, port), timeout)
    for ip in ips:
        if not (is_public_address(ip) or allow.permits(host, ip)):
            raise SSRFError(
                f"refused: {host} resolves to {ip}, which is not a public address "
                "(allow it with --webhook-allow)"
            )
    return ips


def _headers(state: ServerState, delivery: WebhookDelivery, body: bytes) -> dict[str, str]:
    """JSON headers, plus the signature headers when a secret is configured (the delivery id
    is the ``webhook-id``: the same on every retry, so receivers can drop duplicates)."""
    secret = state.config.webhook_secret
    if secret is None:
        return _HEADERS
    return {**_HEADERS, **sign(secret, delivery_id(delivery), body)}


def delivery_id(delivery: WebhookDelivery) -> str:
    """The ``webhook-id`` of a delivery: unique across jobs, the same on every attempt."""
    return f"{delivery.job_id}.{delivery.id}"


async def _post(
    client: httpx.AsyncClient, url: str, ips: list[str], body: bytes, headers: dict[str, str]
) -> int:
    """POST to the first checked address that accepts a connection; the status code."""
    error: httpx.ConnectError | None = None
    for ip in ips:
        request = pinned_request(client, "POST", url, ip, headers, content=body)
        try:
            response = await client.send(request)
        except httpx.ConnectError as exc:
            error = exc
            continue
        await response.aclose()
        return response.status_code
    assert error is not None
    raise error


async def deliver(
    state: ServerState, client: httpx.AsyncClient, delivery: WebhookDelivery, allow: Allowlist
) -> bool:
    """One attempt at one delivery; records the outcome; True when delivered."""
    try:
        body = await _payload(state, delivery)
        ips = await checked_addresses(delivery.url, allow, state.config.webhook_timeout)
        status = await _post(client, delivery.url, ips, body, _headers(state, delivery, body))
    except StoreUnavailable:
        raise  # the store is down, not the receiver: this is no attempt
    except Exception as exc:
        await _record_failure(state, delivery, _one_line(exc))
        return False
    if 200 <= status < 300:
        await state.store.webhook_attempted(delivery.id, True, None, None)
        return True
    await _record_failure(state, delivery, f"HTTP {status}")
    return False


async def deliver_due(state: ServerState, client: httpx.AsyncClient, allow: Allowlist) -> int:
    """Send every due delivery concurrently; return how many were attempted."""
    due = await state.store.due_webhooks(state.now(), BATCH)
    outcomes = await asyncio.gather(
        *(deliver(state, client, d, allow) for d in due), return_exceptions=True
    )
    for outcome in outcomes:
        if isinstance(outcome, Exception):
            _failed_pass(outcome)
    return len(due)


def _failed_pass(exc: Exception) -> None:
    if isinstance(exc, StoreUnavailable):  # an outage, not a bug: one line, no traceback
        log.warning("webhook pass skipped: %s", exc)
        return
    log.exception("webhook pass failed: %s", exc)


async def deliver_forever(state: ServerState) -> None:
    """Poll the outbox every ``sweep_interval`` (at once again after a full batch)."""
    allow = state.webhook_allow
    timeout = httpx.Timeout(state.config.webhook_timeout)
    async with httpx.AsyncClient(
        timeout=timeout, follow_redirects=False, trust_env=False
    ) as client:
        while not state.closing:
            try:
                sent = await deliver_due(state, client, allow)
            except Exception as exc:
                _failed_pass(exc)
                sent = 0
            if sent < BATCH:
                await asyncio.sleep(state.config.sweep_interval)
