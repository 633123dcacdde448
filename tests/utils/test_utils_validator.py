"""rp_validator.validate: RunPod's return shapes and messages, without 1.12.0's bugs."""

from __future__ import annotations

import copy
import json
from typing import Any

from runpod.serverless.utils.rp_validator import validate


def test_valid_input_is_returned_with_defaults_filled_in() -> None:
    schema = {
        "prompt": {"type": str, "required": True},
        "steps": {"type": int, "required": False, "default": 20},
    }
    assert validate({"prompt": "cat"}, schema) == {
        "validated_input": {"prompt": "cat", "steps": 20}
    }


def test_unexpected_key_and_missing_required_input_accumulate() -> None:
    schema = {"prompt": {"type": str, "required": True}}
    result = validate({"promt": "typo"}, schema)
    assert result == {
        "errors": [
            "Unexpected input. promt is not a valid input option.",
            "prompt is a required input.",
        ]
    }


def test_required_defaults_to_false_as_documented() -> None:
    # 1.12.0 reported "seed is a required input." for a rule without a "required" key.
    schema = {"seed": {"type": int, "default": 7}}
    assert validate({}, schema) == {"validated_input": {"seed": 7}}


def test_optional_input_without_default_is_a_schema_error() -> None:
    assert validate({}, {"x": {"type": int, "required": False}}) == {
        "errors": ["Schema error, missing default value for x."]
    }


def test_wrong_type_message_uses_class_reprs() -> None:
    result = validate({"n": "5"}, {"n": {"type": int, "required": True}})
    assert result == {"errors": ["n should be <class 'int'> type, not <class 'str'>."]}


def test_value_matching_the_default_type_is_still_constraint_checked() -> None:
    # 1.12.0 skipped type and constraint checks when the value had the default's type.
    schema = {"n": {"type": int, "default": 1, "constraints": lambda v: v < 3}}
    assert validate({"n": 5}, schema) == {"errors": ["n does not meet the constraints."]}
    assert validate({"n": 2}, schema) == {"validated_input": {"n": 2}}


def test_value_matching_the_default_type_is_still_type_checked() -> None:
    schema = {"flag": {"type": bool, "default": None}}
    assert validate({"flag": "yes"}, schema) == {
        "errors": ["flag should be <class 'bool'> type, not <class 'str'>."]
    }
    assert validate({"flag": None}, schema) == {"validated_input": {"flag": None}}


def test_constraints_never_see_missing_values() -> None:
    seen: list[Any] = []

    def positive(value: Any) -> bool:
        seen.append(value)
        return bool(value > 0)

    schema = {"n": {"type": int, "default": 1, "constraints": positive}}
    assert validate({}, schema) == {"validated_input": {"n": 1}}
    assert seen == []


def test_raising_constraint_counts_as_not_met() -> None:
    schema = {"n": {"type": int, "required": True, "constraints": lambda v: v["x"]}}
    assert validate({"n": 1}, schema) == {"errors": ["n does not meet the constraints."]}


def test_int_is_converted_for_float_rules_but_bool_is_not() -> None:
    schema = {"t": {"type": float, "required": True}}
    assert validate({"t": 1}, schema) == {"validated_input": {"t": 1.0}}
    assert validate({"t": True}, schema) == {
        "errors": ["t should be <class 'float'> type, not <class 'bool'>."]
    }


def test_missing_type_is_a_schema_error() -> None:
    assert validate({"a": 1}, {"a": {"required": True}}) == {
        "errors": ["Schema error, missing type for a."]
    }


def test_schema_is_not_mutated() -> None:
    schema: dict[str, Any] = {
        "a": {"type": int, "required": False, "default": 1},
        "b": json.dumps({"type": "str", "required": False, "default": "x"}),
    }
    before = copy.deepcopy(schema)
    validate({"a": 2}, schema)
    assert schema == before


def test_json_string_rules_with_type_names_work() -> None:
    schema = {"name": json.dumps({"type": "str", "required": True})}
    assert validate({"name": "bob"}, schema) == {"validated_input": {"name": "bob"}}
    assert validate({"name": 3}, schema) == {
        "errors": ["name should be <class 'str'> type, not <class 'int'>."]
    }


def test_bad_json_rule_and_unknown_type_name_are_reported_not_raised() -> None:
    schema = {"a": "{not json", "b": json.dumps({"type": "tensor", "required": True})}
    assert validate({"a": 1, "b": 2}, schema) == {
        "errors": [
            "Schema error, a is not a dictionary.",
            "Schema error, unknown type name 'tensor' for b.",
        ]
    }


def test_caller_input_is_not_mutated() -> None:
    raw = {"a": 1}
    validate(raw, {"a": {"type": int}, "b": {"type": int, "default": 2}})
    assert raw == {"a": 1}
