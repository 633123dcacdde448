"""JSON text of stored values, shared by both stores: fast, and exact for what JSON allows.

Values are stored as JSON text, written and read with orjson. NaN and Infinity (which the
official worker SDK can send) must survive as the ``NaN``/``Infinity`` tokens instead of
silently becoming ``null``, so both directions fall back to the standard library where
orjson would lose or refuse them; lone surrogates (which UTF-8 cannot carry) are kept as
``\\u`` escapes.
"""

from __future__ import annotations

import json
from typing import Any

from pitstop.models import JSON

try:
    import orjson

    _fast_dumps: Any = orjson.dumps
    _fast_loads: Any = orjson.loads
    _FastError: type[Exception] = orjson.JSONDecodeError
except ImportError:  # pragma: no cover - orjson is a core dependency
    _fast_dumps = None
    _fast_loads = json.loads
    _FastError = ValueError


def dumps(value: JSON) -> str:
    """JSON text for ``value``; raises TypeError/ValueError for values JSON cannot hold.

    orjson is tried first; it writes NaN/Infinity as ``null``, so any output containing
    ``null`` (and anything orjson refuses, such as lone surrogates or int keys) is encoded
    again by the standard library, which keeps the ``NaN``/``Infinity`` tokens.
    """
    if _fast_dumps is not None:
        try:
            raw: bytes = _fast_dumps(value)
        except TypeError:
            pass
        else:
            if b"null" not in raw:
                return raw.decode()
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates: keep them as \\u escapes
            text = json.dumps(value, separators=(",", ":"))
    return text


def loads(text: str) -> JSON:
    """Decode JSON text written by :func:`dumps` (NaN/Infinity tokens included)."""
    try:
        return _fast_loads(text)
    except _FastError:
        return json.loads(text)
