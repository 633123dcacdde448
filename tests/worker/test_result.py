"""Result shaping (spec §2.3-2.6) and body encoding."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from pitstop.config import WorkerConfig
from pitstop.serverless.handler_error import error_body
from pitstop.serverless.result import (
    chunk_error,
    dumps,
    encode,
    generator_error,
    shape_return,
    too_large_body,
)


@pytest.mark.parametrize(
    ("value", "body"),
    [
        ({"x": 1}, {"output": {"x": 1}}),
        ("hello ü", {"output": "hello ü"}),
        (None, {"output": None}),
        (5, {"output": 5}),
        ([1, 2], {"output": [1, 2]}),
        ({}, {}),
        ({"error": "custom err", "extra": 1}, {"output": {"extra": 1}, "error": "custom err"}),
        ({"error": "bad"}, {"error": "bad"}),
        ({"error": ""}, {}),
        ({"error": None}, {}),
        ({"output": 5}, {"output": {"output": 5}}),
        ({"a": 1, "refresh_worker": True}, {"output": {"a": 1}, "stopPod": True}),
        ({"refresh_worker": True}, {"stopPod": True}),
        ({"stopPod": True}, {"output": {"stopPod": True}}),
        ({"refresh_worker": False, "a": 1}, {"output": {"a": 1}}),
    ],
)
def test_shape_return(value: Any, body: dict[str, Any]) -> None:
    shaped = shape_return(value)
    assert shaped.body == body
    assert list(shaped.body) == list(body)
    assert shaped.refresh == ("stopPod" in body)


def test_shape_return_key_order_and_refresh_flag() -> None:
    shaped = shape_return({"refresh_worker": 1, "error": "e", "z": 0})
    assert list(shaped.body) == ["output", "error", "stopPod"]
    assert shaped.refresh is True
    assert shape_return({"a": 1}).refresh is False


def test_error_body_is_a_json_string_in_runpod_key_order() -> None:
    cfg = WorkerConfig(worker_id="pod1", worker_id_from_env=True, hostname="h1")
    try:
        raise KeyError("nope")
    except KeyError as exc:
        body = error_body(exc, cfg, "9.9")
    assert list(body) == ["error"]
    info = json.loads(body["error"])
    assert list(info) == [
        "error_type",
        "error_message",
        "error_traceback",
        "hostname",
        "worker_id",
        "runpod_version",
    ]
    assert info["error_type"] == "<class 'KeyError'>"
    assert info["error_message"] == "'nope'"
    assert "Traceback" in info["error_traceback"] and "KeyError" in info["error_traceback"]
    assert (info["hostname"], info["worker_id"], info["runpod_version"]) == ("h1", "pod1", "9.9")


def test_generator_error_text() -> None:
    try:
        raise RuntimeError("genboom")
    except RuntimeError as exc:
        body = generator_error(exc)
    assert body["error"].startswith("handler: genboom \ntraceback: Traceback")


def test_chunk_error() -> None:
    assert chunk_error({"error": "bad", "x": 1}) == {"error": "bad"}
    assert chunk_error({"error": 5}) == {"error": "5"}
    assert chunk_error({"error": ""}) is None
    assert chunk_error("error") is None


def test_dumps_matches_runpod() -> None:
    assert dumps({"output": "hello ü"}) == '{"output": "hello ü"}'.encode()
    assert dumps({"output": (1, 2), 3: math.nan}) == b'{"output": [1, 2], "3": NaN}'


@pytest.mark.parametrize("value", [b"\x00", {1, 2}, object()])
def test_unencodable_output_becomes_failed_body_naming_the_type(value: Any) -> None:
    data, failure = encode({"output": {"b": value}, "stopPod": True})
    body = json.loads(data)
    assert failure and type(value).__name__ in body["error"]
    assert body["stopPod"] is True and "output" not in body


def test_encode_ok() -> None:
    assert encode({"output": "ü"}) == ('{"output": "ü"}'.encode(), None)


def test_too_large_body_is_small() -> None:
    body = json.loads(too_large_body(10_000_000, False))
    assert "too large" in body["error"] and "10000000" in body["error"]
    assert json.loads(too_large_body(1, True))["stopPod"] is True
