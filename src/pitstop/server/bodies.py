"""Bytes in, bytes out: bounded body reading, tolerant JSON parsing, fast JSON responses.

Kept apart from the routes so every route reads and answers the same way. Bodies are read
chunk by chunk and refused (413) as soon as they pass their limit, so an oversized upload is
never buffered. Workers post JSON with a form-urlencoded content type and Python's ``NaN`` /
``Infinity`` tokens; :func:`parse_json` accepts both.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import orjson
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from pitstop import __version__
from pitstop.errors import BadRequest, PayloadTooLarge

SERVER_HEADER = "X-Pitstop-Server"
"""On every JSON answer: tells clients this server honours pitstop's extensions (an
``Idempotency-Key`` on submits, so a submit whose answer was lost may be sent again)."""
_SERVER_RAW = (SERVER_HEADER.lower().encode(), __version__.encode())
_JSON_TYPE = (b"content-type", b"application/json")
_ORJSON_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY


def dumps(value: Any) -> bytes:
    """Serialise to JSON bytes (orjson; NaN/Infinity become null, unknown objects as str)."""
    return orjson.dumps(value, default=str, option=_ORJSON_OPTIONS)


class JsonResponse(Response):
    """A JSON response rendered with orjson (several times faster than the stdlib)."""

    media_type = "application/json"

    def init_headers(self, headers: Mapping[str, str] | None = None) -> None:
        if headers is None and self.status_code >= 200 and self.status_code not in (204, 304):
            # the common case, without Starlette's generic header building
            length = str(len(self.body)).encode()
            self.raw_headers = [(b"content-length", length), _JSON_TYPE, _SERVER_RAW]
            return
        super().init_headers(headers)
        if not any(name == _SERVER_RAW[0] for name, _ in self.raw_headers):
            self.raw_headers.append(_SERVER_RAW)

    def render(self, content: Any) -> bytes:
        return dumps(content)


def json_response(
    content: Any, status_code: int = 200, headers: dict[str, str] | None = None
) -> JsonResponse:
    """Build a :class:`JsonResponse` (one call site shape for every route)."""
    return JsonResponse(content, status_code=status_code, headers=headers)


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"request body is larger than the limit of {limit} bytes")


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 once it exceeds ``limit`` bytes.

    A declared ``Content-Length`` over the limit is refused before reading anything; a
    chunked or lying body is counted while it streams in.
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    parts: list[bytes] = []
    size = 0
    receive = request.receive  # the messages themselves: no async generator per request
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            parts.append(chunk)
        if not message.get("more_body", False):
            return b"".join(parts)


def parse_json(raw: bytes, what: str = "request body") -> Any:
    """Decode JSON; fall back to the stdlib for ``NaN``/``Infinity`` tokens; 400 otherwise
    (nesting too deep for the stdlib parser included: it raises RecursionError)."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"{what} is not valid JSON: {exc}") from None
    except RecursionError:
        raise BadRequest(f"{what} nests too deeply") from None


async def read_json(request: Request, limit: int, what: str = "request body") -> Any:
    """Read (bounded) and decode the body; an empty body decodes to None."""
    raw = await read_body(request, limit)
    if not raw.strip():
        return None
    return parse_json(raw, what)


def query_value(request: Request, name: str, default: str | None = None) -> str | None:
    """A query parameter given at most once (400 when repeated: a list is not a value)."""
    values = request.query_params.getlist(name)
    if not values:
        return default
    if len(values) > 1:
        raise BadRequest(f"query parameter {name!r} is given {len(values)} times")
    return values[0]


def query_ms(request: Request, name: str, default_ms: float, lo: float, hi: float) -> float:
    """A millisecond query parameter clamped to ``[lo, hi]``, returned in seconds (400 if bad,
    empty included)."""
    raw = query_value(request, name)
    if raw is None:
        return default_ms / 1000.0
    try:
        value = float(raw)
    except ValueError:
        raise BadRequest(f"query parameter {name!r} must be a number of milliseconds") from None
    if not math.isfinite(value):
        raise BadRequest(f"query parameter {name!r} must be a finite number of milliseconds")
    return min(max(value, lo), hi) / 1000.0
