"""Result bodies exactly as RunPod's worker posts them (spec §2.3-2.6), and their encoding.

* :func:`shape_return` turns a handler's return value into the job-done body: non-dicts are
  wrapped as ``{"output": v}``; from a dict ``error`` and ``refresh_worker`` are popped, the
  rest becomes ``output`` (dropped when empty), a truthy error is added as-is and a truthy
  ``refresh_worker`` adds ``"stopPod": true``. Key order: output, error, stopPod.
* the body for a raised exception is :mod:`pitstop.serverless.handler_error`'s.
* :func:`generator_error` is the error chunk for an exception inside a generator.
* :func:`encode` is ``json.dumps(..., ensure_ascii=False)`` with default separators (NaN is
  allowed, as RunPod's), as UTF-8 bytes (:mod:`pitstop.serverless.jsonbody`: the same bytes,
  long strings escaped faster); output that cannot be encoded becomes a FAILED body naming
  the type instead of being silently dropped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pitstop.serverless import jsonbody


@dataclass
class Shaped:
    """A job-done body plus whether the handler asked for a refresh (``refresh_worker``)."""

    body: dict[str, Any]
    refresh: bool = False


def shape_return(value: Any) -> Shaped:
    """The job-done body for a non-generator handler's return value (§2.3)."""
    if not isinstance(value, dict):
        return Shaped({"output": value})
    error = value.pop("error", None)
    refresh = bool(value.pop("refresh_worker", None))
    body: dict[str, Any] = {"output": value}
    if error:
        body["error"] = error
    if refresh:
        body["stopPod"] = True
    if body["output"] == {}:
        del body["output"]
    return Shaped(body, refresh)


def generator_error(exc: BaseException) -> dict[str, Any]:
    """The final body for a generator that raised (§2.5: note the space before the newline)."""
    from pitstop.serverless.handler_error import traceback_text

    return {"error": f"handler: {exc} \ntraceback: {traceback_text(exc)}"}


def chunk_error(value: Any) -> dict[str, Any] | None:
    """The final body when a yielded dict carries a truthy ``error`` (§2.5), else None."""
    if isinstance(value, dict) and value.get("error"):
        return {"error": str(value["error"])}
    return None


def dumps(data: Any) -> bytes:
    """RunPod's body encoding: raw UTF-8, default separators, NaN allowed."""
    return jsonbody.dumps(data)


def encode(body: dict[str, Any]) -> tuple[bytes, str | None]:
    """Encode a final body; on failure return a FAILED body and the reason (never drop it)."""
    try:
        return dumps(body), None
    except (TypeError, ValueError, RecursionError) as exc:
        return _unencodable(body, exc)


def _unencodable(body: dict[str, Any], exc: BaseException) -> tuple[bytes, str]:
    reason = f"Job output is not JSON serialisable: {exc}"
    failed: dict[str, Any] = {"error": reason}
    if body.get("stopPod"):
        failed["stopPod"] = True
    return dumps(failed), reason


def _failed_body(error: str, stop_pod: bool) -> bytes:
    failed: dict[str, Any] = {"error": error}
    if stop_pod:
        failed["stopPod"] = True
    return dumps(failed)


def too_large_body(size: int, stop_pod: bool) -> bytes:
    """The small FAILED body sent instead of a result the server refused with 413."""
    return _failed_body(
        f"Job result too large: {size} bytes were refused by the server (HTTP 413).", stop_pod
    )


def refusal_reason(answer: bytes) -> str:
    """The message of a server's 400 answer (``{"error": {"message": ...}}``), or a default."""
    try:
        error = json.loads(answer).get("error")
        message = error.get("message") if isinstance(error, dict) else error
    except (ValueError, AttributeError):
        message = None
    return message if isinstance(message, str) and message else "HTTP 400 without a reason"


def refused_body(reason: str, stop_pod: bool) -> bytes:
    """The small FAILED body sent instead of a result the server refused with 400 (a pitstop
    server refuses output it could not render again, and names why)."""
    return _failed_body(f"Job result refused by the server (HTTP 400): {reason}", stop_pod)
