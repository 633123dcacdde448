"""The sans-I/O half of the client: routes, request specs, response decoding, retry policy.

The sync and async clients differ only in how they send a :class:`Call` and how they sleep;
everything they must agree on (URLs, bodies, the error mapping, when to retry, how to read a
terminal status) lives here, once.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from pitstop import __version__
from pitstop.errors import (
    JOB_ERRORS,
    ApiError,
    ConfigError,
    ServerError,
    TransportError,
    WaitTimeout,
    error_for_status,
)
from pitstop.models import JSON, Policy

_Closing = TypeVar("_Closing", bound="AsyncClosing")


class AsyncClosing:
    """``async with`` for an object with ``async close()``: the block's exit closes it."""

    async def close(self) -> None:
        """Release what the object holds (subclasses override)."""

    async def __aenter__(self: _Closing) -> _Closing:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


TERMINAL = frozenset({"COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT"})
"""RunPod's terminal job states as wire strings (CANCELLED included, unlike the official SDK)."""


@dataclass(frozen=True)
class Call:
    """One HTTP request to make: everything a sender needs, nothing about how it is sent."""

    method: str
    url: str
    params: Mapping[str, str | int] | None = None
    body: JSON = None
    has_body: bool = False
    idempotent: bool = False
    """Safe to resend after the request may have reached the server (reads, cancel)."""
    extra_timeout: float = 0.0
    """Seconds added to the read timeout: the server may hold a long-poll this long."""
    key: str | None = None
    """A submit's ``Idempotency-Key``: the same on every resend of this call, so a server
    that honours it (pitstop) returns the first job instead of creating another."""

    def headers(self) -> dict[str, str]:
        """Headers of this call beyond the client's own (the idempotency key, if any)."""
        return {} if self.key is None else {"Idempotency-Key": self.key}


def segment(value: str) -> str:
    """Quote one path segment (ids come from users; a ``/`` must not change the route)."""
    return quote(str(value), safe="")


@dataclass(frozen=True)
class Routes:
    """URL builder for RunPod's ``/v2`` API and pitstop's ``/pitstop/v1`` API."""

    v2_base: str
    pitstop_base: str

    @classmethod
    def for_server(cls, base_url: str, endpoint_base: str | None = None) -> Routes:
        """Routes of a server at ``base_url``; ``endpoint_base`` overrides the ``/v2`` root.

        ``endpoint_base`` is RunPod's ``endpoint_url_base`` (``http://HOST:PORT/v2``); when
        only it is known, the server root is that URL without its ``/v2`` suffix.
        """
        for url in (base_url, endpoint_base):
            if url is not None and not url.startswith(("http://", "https://")):
                raise ConfigError(f"server URL {url!r} must start with http:// or https://")
        root = base_url.rstrip("/")
        v2 = (endpoint_base or f"{root}/v2").rstrip("/")
        return cls(v2_base=v2, pitstop_base=f"{root}/pitstop/v1")

    def endpoint(self, endpoint_id: str, op: str, job_id: str | None = None) -> str:
        url = f"{self.v2_base}/{segment(endpoint_id)}/{op}"
        return url if job_id is None else f"{url}/{segment(job_id)}"


def root_of(endpoint_base: str) -> str:
    """The server root for a RunPod-style ``.../v2`` base URL (unchanged if no such suffix)."""
    base = endpoint_base.rstrip("/")
    return base[: -len("/v2")] if base.endswith("/v2") else base


def wait_params(wait: float | None) -> dict[str, str | int]:
    """``?wait=`` in milliseconds (RunPod's unit), or no parameter at all.

    Never 0: a server may read ``wait=0`` as "use the default hold" rather than "do not hold".
    """
    if wait is None:
        return {}
    return {"wait": max(1, math.ceil(wait * 1000))}


def policy_body(policy: Policy | Mapping[str, Any]) -> dict[str, Any]:
    """RunPod's ``policy`` object from a :class:`Policy` or an already-RunPod-shaped mapping."""
    if isinstance(policy, Policy):
        out: dict[str, Any] = {}
        if policy.execution_timeout_ms is not None:
            out["executionTimeout"] = policy.execution_timeout_ms
        if policy.ttl_ms is not None:
            out["ttl"] = policy.ttl_ms
        if policy.low_priority:
            out["lowPriority"] = True
        return out
    return dict(policy)


def submit_body(
    input: JSON,
    *,
    webhook: str | None = None,
    policy: Policy | Mapping[str, Any] | None = None,
    s3_config: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``/run`` and ``/runsync`` body: ``input`` plus only the options that are set."""
    body: dict[str, Any] = {"input": input}
    if webhook is not None:
        body["webhook"] = webhook
    if policy is not None:
        body["policy"] = policy_body(policy)
    if s3_config is not None:
        body["s3Config"] = dict(s3_config)
    return body


def is_terminal(body: Mapping[str, Any]) -> bool:
    """True when a status body reports one of the four terminal states."""
    return body.get("status") in TERMINAL


def outcome(body: Mapping[str, Any]) -> JSON:
    """The output of a terminal status body; raise the matching ``JobError`` if it did not
    complete (the job's ``error`` string is kept, never dropped)."""
    status = str(body.get("status"))
    if status == "COMPLETED":
        return body.get("output")
    error = body.get("error")
    raise JOB_ERRORS[status](
        str(body.get("id", "")), status, None if error is None else _as_text(error)
    )


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def stream_outputs(body: Mapping[str, Any]) -> list[JSON]:
    """The chunk outputs of one ``/stream`` answer, in order."""
    return [chunk.get("output") for chunk in body.get("stream") or [] if isinstance(chunk, dict)]


# ---------------------------------------------------------------------------- responses


def decode(response: httpx.Response) -> Any:
    """The JSON body of a 2xx response; any other status raises its ``ApiError``."""
    if response.is_success:
        if not response.content:
            return {}
        try:
            return response.json()
        except ValueError:
            raise ServerError(f"server sent invalid JSON ({response.status_code})") from None
    raise api_error(response)


def api_error(response: httpx.Response) -> ApiError:
    """The ``pitstop.errors`` class for an error response, built from its JSON body.

    pitstop servers send ``{"error": {"code", "message"}}``; anything else (a proxy's HTML
    page, FastAPI's ``{"detail": ...}``) still gives a readable message.
    """
    message, code, details = _error_fields(response)
    error = error_for_status(response.status_code, message, details, code)
    if code:
        error.code = code
    hinted = retry_after(response)
    if hinted is not None and hasattr(error, "retry_after"):  # 429, 503
        error.retry_after = hinted
    return error


def _error_fields(response: httpx.Response) -> tuple[str, str | None, Any]:
    fallback = response.text.strip()[:500] or response.reason_phrase or "error"
    try:
        data = response.json()
    except ValueError:
        return f"HTTP {response.status_code}: {fallback}", None, None
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        err = data["error"]
        return str(err.get("message") or fallback), err.get("code"), err.get("details")
    if isinstance(data, dict) and "detail" in data:
        return f"HTTP {response.status_code}: {_as_text(data['detail'])}", None, data["detail"]
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        return data["error"], None, None
    return f"HTTP {response.status_code}: {fallback}", None, None


def retry_after(response: httpx.Response) -> float | None:
    """Seconds from a ``Retry-After`` header (delta seconds or an HTTP date), if any."""
    raw = response.headers.get("retry-after")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(raw).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def transport_error(exc: httpx.HTTPError, call: Call) -> TransportError:
    """A ``TransportError`` naming the request that could not be completed."""
    kind = type(exc).__name__
    return TransportError(f"{call.method} {call.url}: {kind}: {exc}".rstrip(": "))


# ---------------------------------------------------------------------------- retries

_RETRY_STATUSES = frozenset({429, 502, 503, 504})
_KEYED_STATUSES = frozenset({500, 502, 503, 504})
"""Answers after which a keyed submit is sent again (a 429 full queue is not transient)."""
_REFUSED_CODES = frozenset({"store_unavailable", "unavailable"})
"""503 codes by which a pitstop server says it did nothing (any request may be resent)."""
SERVER_HEADER = "x-pitstop-server"
"""Sent by pitstop servers on every answer: they honour ``Idempotency-Key``."""


def refused_untouched(response: httpx.Response) -> bool:
    """A 503 after which the request is known not to have been carried out (a pitstop code
    without ``"stored": "unknown"``: that one means the submit may have been stored)."""
    if response.status_code != 503:
        return False
    _message, code, details = _error_fields(response)
    unknown = isinstance(details, dict) and details.get("stored") == "unknown"
    return code in _REFUSED_CODES and not unknown


@dataclass(frozen=True)
class Retry:
    """Send the call again after ``delay`` seconds. ``keyed``: only safe because the call
    is a submit with an ``Idempotency-Key``, so only if the server honours the key."""

    delay: float
    keyed: bool = False


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries: exponential backoff, ``Retry-After`` honoured up to a cap.

    Every call is sent again when the connection failed (nothing reached the server) and on
    pitstop's 503 ``store_unavailable`` / ``unavailable`` (the server did nothing). Reads and
    cancel are also sent again after other transport failures (a timeout, a dropped
    connection) and 429/502/503/504. A submit carrying an ``Idempotency-Key`` is sent again,
    with the same key, after a lost answer and 500/502/503/504 (including a 503 whose
    submit the server could not confirm, ``"stored": "unknown"``), but only to a server that
    honours the key (see :class:`Retry`); a submit without a key never is.
    """

    attempts: int = 4
    backoff: float = 0.2
    max_backoff: float = 5.0
    max_retry_after: float = 30.0

    def _backoff(self, attempt: int) -> float:
        return float(min(self.max_backoff, self.backoff * (2**attempt)))

    def after_exception(self, exc: httpx.HTTPError, call: Call, attempt: int) -> Retry | None:
        """When to resend after ``exc``, or None to give up."""
        if attempt + 1 >= self.attempts or isinstance(exc, httpx.UnsupportedProtocol):
            return None
        never_sent = isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout))
        if never_sent or (call.idempotent and isinstance(exc, httpx.TransportError)):
            return Retry(self._backoff(attempt))
        if call.key is not None and isinstance(exc, httpx.TransportError):
            return Retry(self._backoff(attempt), keyed=True)
        return None

    def after_response(self, response: httpx.Response, call: Call, attempt: int) -> Retry | None:
        """When to resend after a response, or None to return it as it is."""
        status = response.status_code
        if attempt + 1 >= self.attempts:
            return None
        if refused_untouched(response) or (call.idempotent and status in _RETRY_STATUSES):
            return Retry(self._delay(response, attempt))
        if call.key is not None and status in _KEYED_STATUSES:
            return Retry(self._delay(response, attempt), keyed=True)
        return None

    def _delay(self, response: httpx.Response, attempt: int) -> float:
        hinted = retry_after(response)
        if hinted is None:
            return self._backoff(attempt)
        return min(hinted, self.max_retry_after)


NO_RETRY = RetryPolicy(attempts=1)


# ---------------------------------------------------------------------------- waiting


@dataclass
class Deadline:
    """A caller's overall wait bound (``None`` = wait for ever), sliced into long-polls."""

    timeout: float | None
    started: float = field(default_factory=time.monotonic)

    def remaining(self) -> float | None:
        if self.timeout is None:
            return None
        return self.timeout - (time.monotonic() - self.started)

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def expired(self) -> bool:
        left = self.remaining()
        return left is not None and left <= 0

    def slice(self, poll_wait: float) -> float:
        """How long the next long-poll may hold: ``poll_wait``, cut to what is left."""
        left = self.remaining()
        return poll_wait if left is None else max(0.0, min(poll_wait, left))

    def give_up(self, job_id: str) -> WaitTimeout:
        return WaitTimeout(f"gave up waiting for job {job_id} after {self.elapsed():.1f}s")

    def pause(self, asked: float, took: float, floor: float) -> float:
        """Sleep after a non-terminal long-poll answer that came back early.

        A server that ignores ``?wait=`` (or wakes on every progress update) would otherwise
        be polled in a tight loop; one that held the poll needs no extra pause.
        """
        if took >= asked / 2:
            return 0.0
        left = self.remaining()
        return floor if left is None else max(0.0, min(floor, left))


def auth_headers(api_key: str | None) -> dict[str, str]:
    """Headers every request carries: RunPod's ``Bearer`` auth (when a key is set)."""
    headers = {"User-Agent": f"pitstop-client/{__version__}"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    return headers


def pool_options(*urls: str | None) -> dict[str, Any]:
    """httpx pool options for a server reached at ``urls``.

    Trap: httpx loads the CA bundle for every new pool (~0.1-0.2 s), even when it never
    speaks TLS. Plain-``http://`` servers (the usual self-hosted case) skip that cost.
    """
    plain = all(url is None or url.startswith("http://") for url in urls)
    return {"verify": False} if plain else {}


def timeout_for(call: Call, base: float) -> httpx.Timeout:
    """The request timeout: ``base`` for connecting, plus the long-poll hold for reading."""
    return httpx.Timeout(base + call.extra_timeout, connect=base)
