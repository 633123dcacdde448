"""Result bodies with long strings: the bytes RunPod's ``json.dumps`` writes, faster.

Every case compares :func:`pitstop.serverless.jsonbody.dumps` with the stdlib expression it
replaces, ``json.dumps(value, ensure_ascii=False).encode()``: the same bytes, or the same
exception with the same message.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
import math
import sys
import uuid
from typing import Any

import pytest

from pitstop.serverless import jsonbody
from pitstop.serverless.jsonbody import LONG, dumps
from pitstop.serverless.result import encode

BIG = "x" * LONG


def stdlib(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


class Color(enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


class Tag(str):
    pass


@dataclasses.dataclass
class Point:
    x: int


def outcome(fn: Any, value: Any) -> tuple[str, Any]:
    try:
        return "ok", fn(value)
    except Exception as exc:  # the same type and message is the point
        return type(exc).__name__, str(exc)


EDGE_VALUES = {
    "plain": {"output": {"image": BIG, "n": 1}},
    "nan-and-infinity": {"output": {"image": BIG, "v": [math.nan, math.inf, -math.inf]}},
    "tiny-and-huge-floats": {"output": [BIG, 1e-05, 2.5e-7, 1e16, 1.5e300, -0.0]},
    "big-ints": {"output": {"image": BIG, "i": [2**64, -(2**70), 10**40]}},
    "non-str-keys": {"output": {7: BIG, 2.5: "a", True: "b", None: "c"}},
    "int-enum-and-str-subclass": {"output": [BIG, Level.HIGH, Tag("t" * LONG)]},
    "long-key": {"output": {BIG: 1}},
    "many-long-strings": {"output": [BIG + str(i) for i in range(5)]},
    "escapes": {"output": BIG + '"\\\n\t\x00\x1f\x7f\u2028 ü 漢 😀'},
    "top-level-string": BIG,
    "tuple": (BIG, (1, 2)),
    "beyond-the-peek": [{"k": i} for i in range(100)] + [BIG],
}

REFUSED_VALUES = {
    "bytes": {"output": {"image": BIG, "raw": b"\x00"}},
    "set": {"output": [BIG, {1, 2}]},
    "enum": {"output": [BIG, Color.RED]},
    "dataclass": {"output": [BIG, Point(1)]},
    "datetime": {"output": [BIG, datetime.datetime(2026, 1, 1)]},
    "uuid": {"output": [BIG, uuid.UUID(int=1)]},
    "lone-surrogate-in-long": {"output": BIG + "\ud800"},
    "lone-surrogate-in-short": {"output": [BIG, "\ud800"]},
    "tuple-key": {"output": {(1, 2): BIG}},
}


@pytest.mark.parametrize("value", EDGE_VALUES.values(), ids=EDGE_VALUES.keys())
def test_long_strings_encode_to_the_stdlib_bytes(value: Any) -> None:
    assert dumps(value) == stdlib(value)


@pytest.mark.parametrize("value", REFUSED_VALUES.values(), ids=REFUSED_VALUES.keys())
def test_values_the_stdlib_refuses_are_refused_with_its_error(value: Any) -> None:
    expected = outcome(stdlib, value)
    assert expected[0] != "ok"
    assert outcome(dumps, value) == expected


def test_unencodable_long_output_still_becomes_the_same_failed_body() -> None:
    body = {"output": {"image": BIG, "when": datetime.date(2026, 1, 1)}}
    data, failure = encode(body)
    assert failure is not None and "date" in failure
    assert json.loads(data) == {"error": failure}


def test_circular_value_raises_the_stdlib_error() -> None:
    loop: list[Any] = [BIG]
    loop.append(loop)
    assert (
        outcome(dumps, loop)
        == outcome(stdlib, loop)
        == ("ValueError", "Circular reference detected")
    )


def test_every_code_point_is_escaped_as_the_stdlib_does() -> None:
    text = "".join(chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF)
    assert len(text) >= LONG
    assert dumps([text]) == stdlib([text])


def test_without_orjson_the_stdlib_path_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jsonbody, "_orjson", False)
    value = {"output": {"image": BIG, "v": math.nan}}
    assert dumps(value) == stdlib(value)


def test_short_values_do_not_import_orjson() -> None:
    import subprocess

    code = (
        "import sys; from pitstop.serverless.jsonbody import dumps; "
        "dumps({'output': ['a' * 100, {'k': 1.5}]}); print('orjson' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_long_strings_are_escaped_by_orjson(monkeypatch: pytest.MonkeyPatch) -> None:
    import orjson

    escaped: list[int] = []

    class Spy:
        @staticmethod
        def dumps(text: str) -> bytes:
            escaped.append(len(text))
            return orjson.dumps(text)

    monkeypatch.setattr(jsonbody, "_orjson", Spy)
    value = {"output": {"image": BIG, "small": "s", "other": BIG + "y"}}
    assert dumps(value) == stdlib(value)
    assert escaped == [LONG, LONG + 1]
