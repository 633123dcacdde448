"""Validate a ``/run`` or ``/runsync`` body into a :class:`NewJob` (400 on anything wrong).

RunPod's submit body: ``input`` (required, any JSON), ``webhook`` (URL), ``policy``
(``executionTimeout`` / ``ttl`` in ms, ``lowPriority``), ``s3Config`` (passed to the worker).
Missing policy values take the defaults (the endpoint's own execution timeout, else the
server's) so the sweeper can enforce them. Unknown
top-level keys are ignored (RunPod documents nothing either way). Every kept value must be
renderable again (:mod:`pitstop.server.limits`), and policy numbers finite and at most
:data:`MAX_POLICY_MS`, so whatever is accepted can be stored, handed out and read back.

pitstop's addition: an ``Idempotency-Key`` header (1-255 visible ASCII characters) makes a
repeated submission return the job the first one created. Its fingerprint is a hash of the
body's fields that define the job, so the same key with a different body is a conflict.
"""

from __future__ import annotations

import hashlib
import math
import os
import time
from typing import Any
from urllib.parse import urlsplit

import orjson

from pitstop.config import ServerConfig
from pitstop.errors import BadRequest
from pitstop.models import MAX_POLICY_MS, Idempotency, NewJob, Policy
from pitstop.server.limits import check_value

IDEMPOTENCY_HEADER = "idempotency-key"
MAX_IDEMPOTENCY_KEY = 255


def _positive_ms(policy: dict[str, Any], name: str, default: int) -> int:
    value = policy.get(name)
    if value is None:
        return default
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or not 0 < value <= MAX_POLICY_MS
    ):
        raise BadRequest(
            f"policy.{name} must be a positive number of milliseconds up to {MAX_POLICY_MS}"
        )
    return max(1, int(value))


def parse_policy(raw: Any, config: ServerConfig, endpoint: str) -> Policy:
    """The job policy with the defaults filled in: the endpoint's own execution timeout
    when it has one, else the server's."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise BadRequest("policy must be an object")
    low = raw.get("lowPriority", False)
    if low is None:
        low = False
    if not isinstance(low, bool):
        raise BadRequest("policy.lowPriority must be a boolean")
    return Policy(
        execution_timeout_ms=_positive_ms(
            raw,
            "executionTimeout",
            config.execution_timeout_ms(endpoint),
        ),
        ttl_ms=_positive_ms(raw, "ttl", config.default_ttl_ms),
        low_priority=low,
    )


MAX_WEBHOOK_URL = 2048


def _webhook(raw: Any) -> str | None:
    """An http(s) URL with a host (where it may point is checked when it is called)."""
    if raw is None or raw == "":
        return None
    problem = "webhook must be an http(s) URL with a host"
    if not isinstance(raw, str) or len(raw) > MAX_WEBHOOK_URL or not raw.isprintable():
        raise BadRequest(f"{problem} (at most {MAX_WEBHOOK_URL} printable characters)")
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018 (raises ValueError for a bad port)
    except ValueError:
        raise BadRequest(problem) from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or " " in raw:
        raise BadRequest(problem)
    return raw


def _s3_config(raw: Any) -> dict[str, Any] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise BadRequest("s3Config must be an object")
    return raw


def new_job_id(sync: bool) -> str:
    """A fresh job id: a UUID version 7 (RFC 9562), prefixed ``sync-`` for ``/runsync`` (as
    RunPod does).

    Version 7 starts with the millisecond time, so ids made close together sort together:
    the stores' id-keyed indexes (jobs, timelines, idempotency keys) then grow at one edge
    instead of dirtying a random page per job, which costs the SQLite writer a fifth of its
    time per job; the other 74 bits are random, as unguessable as a uuid4 for every purpose
    here.
    """
    job_id = uuid7()
    return f"sync-{job_id}" if sync else job_id


class _Entropy:
    """Bytes from the OS's CSPRNG, read 4,000 at a time. Each ``os.urandom`` call lets go
    of the GIL, and on a busy server taking it back from the SQLite writer thread costs more
    than making the id."""

    def __init__(self) -> None:
        self._buf = b""
        self._pos = 0

    def bits80(self) -> int:
        if self._pos + 10 > len(self._buf):
            self._buf, self._pos = os.urandom(4000), 0
        i = self._pos
        self._pos = i + 10
        return int.from_bytes(self._buf[i : i + 10], "big")


_entropy = _Entropy()


def uuid7(now_ns: int | None = None) -> str:
    """A UUID version 7 string: 48 bits of Unix milliseconds, version, 74 random bits."""
    ms = (time.time_ns() if now_ns is None else now_ns) // 1_000_000
    rand = _entropy.bits80()
    value = (
        (ms & 0xFFFF_FFFF_FFFF) << 80
        | 0x7 << 76
        | (rand >> 62 & 0xFFF) << 64
        | 0b10 << 62
        | rand & 0x3FFF_FFFF_FFFF_FFFF
    )
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def idempotency_of(key: str | None, body: dict[str, Any]) -> Idempotency | None:
    """The submission's key and body fingerprint; None without the header."""
    if key is None:
        return None
    if not 0 < len(key) <= MAX_IDEMPOTENCY_KEY or not all(" " < c < "\x7f" for c in key):
        raise BadRequest(
            f"header 'Idempotency-Key' must be 1-{MAX_IDEMPOTENCY_KEY} visible ASCII characters"
        )
    fields = {name: body.get(name) for name in ("input", "webhook", "policy", "s3Config")}
    canonical = orjson.dumps(fields, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    return Idempotency(key, hashlib.sha256(canonical).hexdigest())


def parse_submit(
    body: Any,
    endpoint: str,
    config: ServerConfig,
    *,
    sync: bool,
    now: float,
    idempotency_key: str | None = None,
) -> NewJob:
    """Validate a submit body; raise :class:`BadRequest` with a readable message."""
    if not isinstance(body, dict):
        raise BadRequest('request body must be a JSON object like {"input": {...}}')
    if "input" not in body:
        raise BadRequest('request body is missing the required field "input"')
    for field in ("input", "webhook", "s3Config"):
        if body.get(field) is not None:
            check_value(body[field], field)
    return NewJob(
        id=new_job_id(sync),
        endpoint=endpoint,
        input=body["input"],
        webhook=_webhook(body.get("webhook")),
        policy=parse_policy(body.get("policy"), config, endpoint),
        s3_config=_s3_config(body.get("s3Config")),
        sync=sync,
        created_at=now,
        idempotency=idempotency_of(idempotency_key, body),
    )
