"""What the server accepts: values it can store, hand out and read back, and valid ids.

Everything a client or worker sends is rendered again later (a take hands the input to a
worker, a status read answers the output, a webhook carries both), always with orjson. A
value orjson cannot render would be accepted now and fail every later read, so it is refused
on the way in (400 naming the field) by rendering it once, in one C pass:

* nesting deeper than :data:`MAX_DEPTH` arrays/objects (orjson itself stops at 254 levels,
  and status, stream and batch bodies wrap a value in up to three more);
* strings with lone surrogates (``"\\ud800"``), which are not Unicode and have no UTF-8;
* integers outside the 64-bit range (the stdlib parser, used for ``NaN`` tokens, keeps them).

Endpoint and worker ids travel in URLs, store keys and metric labels: they must match
:data:`ID_PATTERN` (letters, digits, ``.``, ``_``, ``-``, starting with a letter or digit, at
most 128 characters).
"""

from __future__ import annotations

import re
import threading
from typing import Any

import orjson

from pitstop.errors import BadRequest

MAX_DEPTH = 128
"""Deepest nesting of arrays and objects accepted in any value (``[[1]]`` is 2 levels)."""

ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
"""Endpoint and worker ids (matched in full)."""
ID_RULE = "use 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit"

_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY


def _orjson_depth() -> int:
    """The deepest nesting orjson renders (254 today), found once by bisection."""
    lo, hi = 1, 4096
    while lo < hi:
        mid = (lo + hi + 1) // 2
        try:
            orjson.dumps(_nest(None, mid))
        except orjson.JSONEncodeError:
            hi = mid - 1
        else:
            lo = mid
    return lo


def _nest(value: Any, levels: int) -> Any:
    for _ in range(levels):
        value = [value]
    return value


_PAD = _orjson_depth() - MAX_DEPTH
"""Levels wrapped around a checked value so that orjson's own limit becomes MAX_DEPTH."""


def describe(exc: BaseException) -> str:
    """Why orjson refused a value, in words (``"nests deeper than 128 levels"``)."""
    text = str(exc)
    if "ecursion" in text:
        return f"nests deeper than {MAX_DEPTH} levels"
    if "surrogate" in text:
        return "contains a lone surrogate (not valid Unicode)"
    if "64-bit" in text:
        return "contains an integer outside the 64-bit range"
    return f"cannot be rendered as JSON: {text}"


class _Frames(threading.local):
    """Per thread, per ``levels``: the padding lists, built once, and their innermost list."""

    def __init__(self) -> None:
        self.by_levels: dict[int, tuple[list[Any], list[Any]]] = {}

    def get(self, levels: int) -> tuple[list[Any], list[Any]]:
        frame = self.by_levels.get(levels)
        if frame is None:
            inner: list[Any] = [None]
            frame = self.by_levels[levels] = (_nest(inner, _PAD - levels - 1), inner)
        return frame


_frames = _Frames()


def unrenderable(value: Any, levels: int = 0) -> str | None:
    """Why ``value`` cannot be stored and read back, or None when it can.

    ``levels`` says how deep ``value`` itself already sits below the checked values (1 for a
    list of values each limited to :data:`MAX_DEPTH`).
    """
    outer, inner = _frames.get(levels)
    inner[0] = value
    try:
        orjson.dumps(outer, default=str, option=_OPTIONS)
    except orjson.JSONEncodeError as exc:
        return describe(exc)
    finally:
        inner[0] = None
    return None


def check_value(value: Any, field: str, levels: int = 0) -> None:
    """Raise :class:`BadRequest` naming ``field`` when ``value`` is :func:`unrenderable`."""
    reason = unrenderable(value, levels)
    if reason is not None:
        raise BadRequest(f"{field} {reason}")


def valid_id(value: str) -> bool:
    """True when ``value`` is an acceptable endpoint or worker id."""
    return ID_PATTERN.fullmatch(value) is not None


def check_id(value: str, what: str) -> None:
    """Raise :class:`BadRequest` when ``value`` is not a valid id (``what``: its name)."""
    if ID_PATTERN.fullmatch(value) is None:
        raise BadRequest(f"{what} {value[:140]!r} is not valid: {ID_RULE}")
