"""rp_validator.validate: RunPod 1.12.0's answers (the differential proof is in
tests/compat/test_compat_validator.py), plus pitstop's warning and strict mode."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from pitstop.serverless.logger import RunPodLogger
from pitstop.serverless.utils import validator
from runpod.serverless.utils.rp_validator import validate

IMAGES = {"type": int, "required": False, "default": 1, "constraints": lambda n: 3 > n > 0}


@pytest.fixture(autouse=True)
def plain_logger(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fresh logger at DEBUG printing text lines; lenient validation unless a test says."""
    for name in ("RUNPOD_ENDPOINT_ID", "RUNPOD_LOG_LEVEL", "RUNPOD_DEBUG_LEVEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("PITSTOP_VALIDATION", raising=False)
    monkeypatch.setattr(RunPodLogger, "_instance", None)


def warnings(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("WARN")]


def test_valid_input_is_returned_with_defaults_filled_in() -> None:
    schema = {
        "prompt": {"type": str, "required": True},
        "steps": {"type": int, "required": False, "default": 20},
    }
    assert validate({"prompt": "cat"}, schema) == {
        "validated_input": {"prompt": "cat", "steps": 20}
    }


def test_a_value_of_the_defaults_type_skips_its_constraint_with_one_warning(
    capsys: pytest.CaptureFixture[str],
) -> None:
    schema = {"num_images": IMAGES, "other": {**IMAGES}}
    result = validate({"num_images": 5, "other": 9}, schema)
    assert result == {"validated_input": {"num_images": 5, "other": 9}}
    lines = warnings(capsys)
    assert len(lines) == 2
    assert "'num_images' does not meet its constraints" in lines[0]
    assert "PITSTOP_VALIDATION=strict" in lines[0]
    assert "'other'" in lines[1]


def test_no_warning_when_the_skipped_constraint_holds_or_the_default_was_used(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert validate({"n": 2}, {"n": IMAGES}) == {"validated_input": {"n": 2}}
    assert validate({}, {"n": {**IMAGES, "default": 7}}) == {"validated_input": {"n": 7}}
    assert warnings(capsys) == []


def test_a_raising_skipped_constraint_warns_instead_of_raising(
    capsys: pytest.CaptureFixture[str],
) -> None:
    schema = {"seed": {"type": int, "required": False, "default": None, "constraints": abs}}
    assert validate({"seed": None}, schema) == {"validated_input": {"seed": None}}
    assert "'seed'" in warnings(capsys)[0]


def test_strict_mode_enforces_the_skipped_constraint(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PITSTOP_VALIDATION", "strict")
    assert validate({"num_images": 5}, {"num_images": IMAGES}) == {
        "errors": ["num_images does not meet the constraints."]
    }
    assert validate({"num_images": 2}, {"num_images": IMAGES}) == {
        "validated_input": {"num_images": 2}
    }
    assert warnings(capsys) == []
    monkeypatch.setenv("PITSTOP_VALIDATION", "lenient")
    assert "validated_input" in validate({"num_images": 5}, {"num_images": IMAGES})


def test_type_and_constraint_errors_accumulate_in_runpods_order() -> None:
    schema = {
        "x": {"type": int, "required": True, "constraints": lambda v: v == 1},
        "y": {"type": int},
    }
    assert validate({"x": "s", "z": 0}, schema) == {
        "errors": [
            "Unexpected input. z is not a valid input option.",
            "y is a required input.",
            "x should be <class 'int'> type, not <class 'str'>.",
            "x does not meet the constraints.",
        ]
    }


def test_required_is_mandatory_as_in_runpods_sdk() -> None:
    assert validate({}, {"seed": {"type": int, "default": 7}}) == {
        "errors": ["seed is a required input."]
    }


def test_constraints_see_none_for_missing_keys_and_may_raise() -> None:
    schema = {"n": {"type": int, "required": True, "constraints": lambda v: v > 0}}
    with pytest.raises(TypeError):
        validate({}, schema)


def test_schema_and_input_are_not_mutated() -> None:
    schema: dict[str, Any] = {
        "a": {"type": int, "required": False, "default": 1},
        "b": json.dumps({"type": "str", "required": False, "default": "x"}),
    }
    raw = {"a": 2}
    before = copy.deepcopy(schema)
    assert validate(raw, schema) == {"validated_input": {"a": 2, "b": "x"}}
    assert schema == before
    assert raw == {"a": 2}


def test_error_message_constants() -> None:
    assert validator.CONSTRAINTS_ERROR.format("k") == "k does not meet the constraints."
    assert validator.SCHEMA_ERROR.format("k") == "Schema error, k is not a dictionary."
    assert validator.INVALID_TYPE_ERROR.format("k", int, str) == (
        "k should be <class 'int'> type, not <class 'str'>."
    )
