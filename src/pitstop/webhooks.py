"""Signed webhooks in the Standard Webhooks form, and their verification for receivers.

With a secret configured (``--webhook-secret`` / ``PITSTOP_WEBHOOK_SECRET``) every delivery
carries three headers::

    webhook-id:        the delivery's id, the same on every retry (receivers drop duplicates)
    webhook-timestamp: UNIX seconds when this attempt was signed
    webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">

This is the scheme of https://www.standardwebhooks.com, so its libraries (``standardwebhooks``
for Python, ``svix`` and others) verify pitstop's deliveries as they are. A secret is
``whsec_`` followed by base64 (what :func:`new_secret` returns); the key is the decoded bytes.

A receiver in Python without another library::

    from pitstop.webhooks import verify
    payload = verify(secret, request.headers, body)   # raises WebhookVerificationError
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping
from typing import Any

from pitstop.errors import ConfigError, WebhookVerificationError

__all__ = ["DEFAULT_TOLERANCE", "WebhookVerificationError", "new_secret", "sign", "verify"]

PREFIX = "whsec_"
DEFAULT_TOLERANCE = 300.0
"""Seconds a signed timestamp may be away from the receiver's clock (either way)."""


def new_secret() -> str:
    """A fresh random secret (``whsec_`` + 32 random bytes in base64)."""
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_...`` (or bare base64) secret; ConfigError if it is not one."""
    text = secret.removeprefix(PREFIX)
    try:
        key = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError("a webhook secret must be 'whsec_' followed by base64") from None
    if len(key) < 16:
        raise ConfigError("a webhook secret must hold at least 16 bytes (use new_secret())")
    return key


def _signature(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = b"%s.%d.%s" % (msg_id.encode(), timestamp, body)
    return base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def sign(secret: str, msg_id: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The three headers for one delivery attempt of ``body``."""
    stamp = int(time.time()) if timestamp is None else timestamp
    sig = _signature(secret_key(secret), msg_id, stamp, body)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": f"v1,{sig}",
    }


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> Any:
    """Check a delivery's signature and timestamp; return the decoded JSON body.

    Raises :class:`~pitstop.errors.WebhookVerificationError` when a header is missing, the
    timestamp is further than ``tolerance`` seconds from ``now``, or no ``v1`` signature
    matches (a tampered body, another secret).
    """
    lower = {name.lower(): value for name, value in headers.items()}
    msg_id, stamp, sigs = (
        lower.get(h) for h in ("webhook-id", "webhook-timestamp", "webhook-signature")
    )
    if not (msg_id and stamp and sigs):
        raise WebhookVerificationError("missing webhook-id, webhook-timestamp or webhook-signature")
    try:
        timestamp = int(stamp)
    except ValueError:
        raise WebhookVerificationError("webhook-timestamp is not an integer") from None
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        raise WebhookVerificationError("webhook-timestamp is outside the tolerance window")
    expected = _signature(secret_key(secret), msg_id, timestamp, body)
    for item in sigs.split():
        version, _, sig = item.partition(",")
        if version == "v1" and hmac.compare_digest(sig, expected):
            return json.loads(body)
    raise WebhookVerificationError("no matching signature")
