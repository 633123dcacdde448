"""Webhook signatures: pitstop's own verify and the Standard Webhooks library agree."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError as LibraryError

from pitstop.errors import ConfigError, WebhookVerificationError
from pitstop.webhooks import new_secret, sign, verify

BODY = json.dumps({"id": "job-1", "status": "COMPLETED", "output": {"x": "ü"}}).encode()


def test_the_standard_library_verifies_a_pitstop_signature() -> None:
    secret = new_secret()
    headers = sign(secret, "dlv-1", BODY)
    assert Webhook(secret).verify(BODY, headers) == json.loads(BODY)


def test_pitstop_verifies_a_signature_made_by_the_standard_library() -> None:
    secret = new_secret()
    now = int(time.time())
    signature = Webhook(secret).sign(
        "dlv-2", datetime.fromtimestamp(now, tz=timezone.utc), BODY.decode()
    )
    headers = {"Webhook-Id": "dlv-2", "Webhook-Timestamp": str(now), "Webhook-Signature": signature}
    assert verify(secret, headers, BODY) == json.loads(BODY)


def test_a_tampered_body_fails_both() -> None:
    secret = new_secret()
    headers = sign(secret, "dlv-3", BODY)
    tampered = BODY.replace(b"COMPLETED", b"FAILED")
    with pytest.raises(WebhookVerificationError, match="no matching signature"):
        verify(secret, headers, tampered)
    with pytest.raises(LibraryError):
        Webhook(secret).verify(tampered, headers)


def test_another_secret_fails() -> None:
    headers = sign(new_secret(), "dlv-4", BODY)
    with pytest.raises(WebhookVerificationError):
        verify(new_secret(), headers, BODY)


def test_stale_and_future_timestamps_fail_outside_the_tolerance() -> None:
    secret = new_secret()
    headers = sign(secret, "dlv-5", BODY, timestamp=1_000_000)
    assert verify(secret, headers, BODY, now=1_000_299) is not None
    with pytest.raises(WebhookVerificationError, match="tolerance"):
        verify(secret, headers, BODY, now=1_000_301)
    with pytest.raises(WebhookVerificationError, match="tolerance"):
        verify(secret, headers, BODY, now=999_000, tolerance=60)


def test_missing_headers_and_bad_secrets() -> None:
    with pytest.raises(WebhookVerificationError, match="missing"):
        verify(new_secret(), {"webhook-id": "x"}, BODY)
    with pytest.raises(ConfigError):
        sign("not base64 !!", "dlv-6", BODY)
    with pytest.raises(ConfigError):
        sign("whsec_AAAA", "dlv-6", BODY)  # 3 bytes: too short to be a key
