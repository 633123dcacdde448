"""RunPod's JSON body encoding, as bytes, with long strings escaped by orjson.

RunPod's SDK encodes bodies with ``json.dumps(value, ensure_ascii=False)`` (default
separators, ``NaN`` allowed, non-str keys converted, other types refused) and sends them as
UTF-8. :func:`dumps` returns exactly those bytes for every value; only the work differs.

Why: the stdlib's C escaper spends about 20 ms on a 5 MB string (an image as base64 is the
common big result), orjson about 2 ms, and orjson writes UTF-8 bytes directly. orjson cannot
simply replace the stdlib: it writes no whitespace, ``null`` for NaN, other float notation
below 1e-4, and accepts types the stdlib refuses (dataclasses, datetimes, UUIDs, enums).
So the stdlib's C encoder still walks the value and writes everything else; when a long
string shows near the top of the value (a bounded look), it gets a string
hook that hands each string of :data:`LONG` or more characters to orjson instead: the hook
leaves a NUL character as a placeholder (the stdlib escapes every control character inside
strings, so a raw NUL marks exactly these places) and the orjson bytes are spliced in.
orjson's string escaping is the stdlib's byte for byte (pinned by a test over every code
point). Anything unusual (a lone surrogate, no C encoder, no orjson) takes the plain stdlib
path, which also raises the stdlib's own errors. orjson is imported at the first long
string, never at ``import runpod``.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable
from itertools import islice
from json import encoder as _stdlib
from typing import Any

LONG = 64 * 1024
"""Strings at least this long are escaped by orjson (shorter ones: the hook's call costs
more than the stdlib's escaping)."""
PEEK = 64
"""Nodes of a value looked at for a long string (see :func:`_has_long`)."""
_PLACE = "\x00"
_default = json.JSONEncoder().default  # raises the stdlib's "is not JSON serializable"
_orjson: Any = None


def dumps(value: Any) -> bytes:
    """``json.dumps(value, ensure_ascii=False).encode()``, faster for long strings.

    Raises what that expression raises (TypeError, ValueError, RecursionError).
    """
    make: Any = getattr(_stdlib, "c_make_encoder", None)
    escape: Callable[[str], str] | None = getattr(_stdlib, "c_encode_basestring", None)
    if make is None or escape is None or not _has_long(value):
        return _plain(value)
    longs: list[str] = []

    def string(text: str) -> str:
        if len(text) < LONG:
            return escape(text)
        longs.append(text)
        return _PLACE

    try:
        chunks = make({}, _default, string, None, ": ", ", ", False, False, True)(value, 0)
        head = "".join(chunks).encode("utf-8")
        if not longs:
            return head
        return _splice(head, longs)
    except (TypeError, ValueError, RecursionError):
        return _plain(value)  # the stdlib's own answer: its result or its exception


def _has_long(value: Any) -> bool:
    """Whether a long string shows among the first :data:`PEEK` nodes (breadth first).

    The hook is a Python call per string: on a result made of many short strings it would
    cost more than it saves, so it is used only when a long string is near the top.
    """
    queue = deque([value])
    for _ in range(PEEK):
        if not queue:
            return False
        node = queue.popleft()
        kind = type(node)
        if kind is str:
            if len(node) >= LONG:
                return True
        elif kind is dict:
            queue.extend(islice(node.values(), PEEK))
        elif kind is list or kind is tuple:
            queue.extend(islice(node, PEEK))
    return False


def _splice(head: bytes, longs: list[str]) -> bytes:
    """``head`` with each placeholder replaced by the next long string's JSON literal."""
    orjson = _load_orjson()
    if orjson is None:
        raise ValueError("orjson is not installed")  # the plain path then
    parts = head.split(_PLACE.encode())
    out = [parts[0]]
    for text, part in zip(longs, parts[1:], strict=True):
        out += [orjson.dumps(text), part]
    return b"".join(out)


def _plain(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def _load_orjson() -> Any:
    """orjson, imported on first use (about 10-20 ms: kept out of ``import runpod``);
    None where it is not installed."""
    global _orjson
    if _orjson is None:
        try:
            import orjson
        except ImportError:
            _orjson = False
        else:
            _orjson = orjson
    return _orjson or None
