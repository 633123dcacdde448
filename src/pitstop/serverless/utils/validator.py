"""Input validation against a schema of rules, as RunPod's ``rp_validator.validate``.

A schema maps each input name to a rule dict::

    {"type": int, "required": False, "default": 1, "constraints": lambda v: v < 10}

``validate`` returns ``{"validated_input": {...}}`` or ``{"errors": [...]}`` with RunPod's
exact messages. Unlike RunPod's 1.12.0 it does not lose or crash on valid schemas:

* ``required`` defaults to False, as RunPod's documentation promises (1.12.0 made it
  mandatory by accident);
* a value the caller supplied is always type- and constraint-checked, even when its type
  matches the default's (1.12.0 skipped both); defaults themselves are trusted;
* constraints run only on values that are present and of the right type, and a constraint
  that raises counts as not met (1.12.0 called them with None for missing keys);
* the caller's schema is never modified, and a JSON-string rule with a type name such as
  ``"int"`` works; an unknown type name is reported as a schema error, never a TypeError.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

_MISSING = object()

# RunPod's message templates (``rp_validator.*_ERROR``); ``validate`` produces exactly these.
UNEXPECTED_INPUT_ERROR = "Unexpected input. {} is not a valid input option."
MISSING_REQUIRED_ERROR = "{} is a required input."
MISSING_DEFAULT_ERROR = "Schema error, missing default value for {}."
MISSING_TYPE_ERROR = "Schema error, missing type for {}."
INVALID_TYPE_ERROR = "{} should be {} type, not {}."
CONSTRAINTS_ERROR = "{} does not meet the constraints."
SCHEMA_ERROR = "Schema error, {} is not a dictionary."

_TYPE_NAMES: dict[str, type] = {
    "str": str,
    "string": str,
    "int": int,
    "integer": int,
    "float": float,
    "number": float,
    "bool": bool,
    "boolean": bool,
    "list": list,
    "array": list,
    "dict": dict,
    "object": dict,
}


def validate(raw_input: Mapping[str, Any], schema: Mapping[str, Any]) -> dict[str, Any]:
    """Check ``raw_input`` against ``schema``; return validated input or every error found."""
    errors: list[str] = []
    errors.extend(_unexpected_keys(raw_input, schema))
    rules = _parse_rules(schema, errors)
    validated = dict(raw_input)
    from_default: set[str] = set()
    for key, rule in rules.items():
        _apply_presence(key, rule, validated, from_default, errors)
    for key, rule in rules.items():
        if key in validated and key not in from_default and "type" in rule:
            _check_value(key, rule, validated, errors)
    if errors:
        return {"errors": errors}
    return {"validated_input": validated}


def _unexpected_keys(raw_input: Mapping[str, Any], schema: Mapping[str, Any]) -> list[str]:
    return [
        f"Unexpected input. {key} is not a valid input option."
        for key in raw_input
        if key not in schema
    ]


def _parse_rules(schema: Mapping[str, Any], errors: list[str]) -> dict[str, dict[str, Any]]:
    """Copy every rule into a fresh dict, decoding JSON-string rules; never touch ``schema``."""
    rules: dict[str, dict[str, Any]] = {}
    for key, rule in schema.items():
        parsed = _parse_rule(rule)
        if parsed is None:
            errors.append(f"Schema error, {key} is not a dictionary.")
            continue
        if isinstance(parsed.get("type"), str):
            resolved = _TYPE_NAMES.get(parsed["type"].strip().lower())
            if resolved is None:
                errors.append(f"Schema error, unknown type name {parsed['type']!r} for {key}.")
                continue
            parsed["type"] = resolved
        rules[key] = parsed
    return rules


def _parse_rule(rule: Any) -> dict[str, Any] | None:
    if isinstance(rule, Mapping):
        return dict(rule)
    if isinstance(rule, (str, bytes, bytearray)):
        try:
            decoded = json.loads(rule)
        except ValueError:
            return None
        return dict(decoded) if isinstance(decoded, dict) else None
    return None


def _apply_presence(
    key: str,
    rule: dict[str, Any],
    validated: dict[str, Any],
    from_default: set[str],
    errors: list[str],
) -> None:
    """Missing type, missing required input, or a default filled in for an absent key."""
    if "type" not in rule:
        errors.append(f"Schema error, missing type for {key}.")
        return
    if key in validated:
        return
    if rule.get("required", False):
        errors.append(f"{key} is a required input.")
        return
    default = rule.get("default", _MISSING)
    if default is _MISSING:
        errors.append(f"Schema error, missing default value for {key}.")
        return
    validated[key] = default
    from_default.add(key)


def _check_value(
    key: str, rule: dict[str, Any], validated: dict[str, Any], errors: list[str]
) -> None:
    """Type check (ints become floats for float rules), then the constraints."""
    value = validated[key]
    expected = rule["type"]
    if value is None and rule.get("default", _MISSING) is None:
        return
    if expected is float and type(value) in (int, float):
        value = validated[key] = float(value)
    try:
        ok_type = isinstance(value, expected)
    except TypeError:
        errors.append(f"Schema error, type for {key} is not a class: {expected!r}.")
        return
    if not ok_type:
        errors.append(f"{key} should be {expected} type, not {type(value)}.")
        return
    constraints = rule.get("constraints")
    if constraints is not None and not _meets(constraints, value):
        errors.append(f"{key} does not meet the constraints.")


def _meets(constraints: Any, value: Any) -> bool:
    try:
        return bool(constraints(value))
    except Exception:
        return False
