"""Input validation against a schema of rules: RunPod's ``rp_validator.validate``, same answers.

A schema maps each input name to a rule dict (or a JSON string of one)::

    {"type": int, "required": False, "default": 1, "constraints": lambda v: 3 > v > 0}

``validate`` returns ``{"validated_input": {...}}`` or ``{"errors": [...]}``, and gives the
answer runpod 1.12.0 gives for every schema and input: the same messages in the same order,
the same accepted values, and the same exception where 1.12.0 raises one (a rule without
``"type"`` for a supplied key, a JSON rule whose type is a name such as ``"int"``, a
constraint that cannot handle the value). Its rules, in order:

1. every input key not in the schema: ``Unexpected input. <k> is not a valid input option.``;
2. a rule that is not a dict is decoded as JSON (``Schema error, <k> is not a dictionary.``);
3. per rule: no ``type`` gives ``Schema error, missing type for <k>.``; no ``required`` key
   gives ``<k> is a required input.`` (so ``required`` is mandatory, whatever RunPod's docs
   say); a missing optional key takes its ``default`` or gives ``Schema error, missing
   default value for <k>.``;
4. per rule whose key has a value: an int for a ``float`` rule becomes a float; a value of the
   *default's* type skips the type check **and the constraints** (so ``5`` passes
   ``default=1, constraints=lambda n: 3 > n > 0``); otherwise a failed ``isinstance`` gives
   ``<k> should be <class 'int'> type, not <class 'str'>.``; then ``constraints`` is called,
   with None for a key that has no value, and a falsy answer gives ``<k> does not meet the
   constraints.``

Differences, on purpose: when step 4 skips a constraint the caller's value fails, one WARN
line names the key; with ``PITSTOP_VALIDATION=strict`` (read at each call) the constraint is
enforced instead. The caller's schema is never modified (1.12.0 stores decoded JSON rules in
it).
"""

from __future__ import annotations

import json
import os
from typing import Any

from pitstop.serverless.utils import _log

__all__ = [
    "CONSTRAINTS_ERROR",
    "INVALID_TYPE_ERROR",
    "MISSING_DEFAULT_ERROR",
    "MISSING_REQUIRED_ERROR",
    "MISSING_TYPE_ERROR",
    "SCHEMA_ERROR",
    "UNEXPECTED_INPUT_ERROR",
    "validate",
]

UNEXPECTED_INPUT_ERROR = "Unexpected input. {} is not a valid input option."
MISSING_REQUIRED_ERROR = "{} is a required input."
MISSING_DEFAULT_ERROR = "Schema error, missing default value for {}."
MISSING_TYPE_ERROR = "Schema error, missing type for {}."
INVALID_TYPE_ERROR = "{} should be {} type, not {}."
CONSTRAINTS_ERROR = "{} does not meet the constraints."
SCHEMA_ERROR = "Schema error, {} is not a dictionary."

STRICT_ENV = "PITSTOP_VALIDATION"


def validate(raw_input: Any, schema: Any) -> dict[str, Any]:
    """Check ``raw_input`` against ``schema``; the validated input or every error found."""
    strict = os.environ.get(STRICT_ENV, "").strip().lower() == "strict"
    errors: list[str] = []
    validated = raw_input.copy()
    for key in raw_input:
        if key not in schema:
            errors.append(UNEXPECTED_INPUT_ERROR.format(key))
    rules = _decoded(schema, errors)
    for key, rule in rules.items():
        _presence(key, rule, raw_input, validated, errors)
    for key, rule in rules.items():
        _check(key, rule, raw_input, validated, errors, strict)
    if errors:
        return {"errors": errors}
    return {"validated_input": validated}


def _decoded(schema: Any, errors: list[str]) -> dict[Any, Any]:
    """A copy of ``schema`` with every non-dict rule decoded from JSON where possible."""
    rules = dict(schema.items())
    for key, rule in rules.items():
        if isinstance(rule, dict):
            continue
        try:
            rules[key] = json.loads(rule)
        except json.JSONDecodeError:
            errors.append(SCHEMA_ERROR.format(key))
    return rules


def _presence(key: Any, rule: Any, raw_input: Any, validated: Any, errors: list[str]) -> None:
    """Missing type, missing ``required``, a missing required input, or the default filled in."""
    if "type" not in rule:
        errors.append(MISSING_TYPE_ERROR.format(key))
    # The lookups run in RunPod's order, so a malformed rule raises where 1.12.0 raises.
    if "required" not in rule or (rule["required"] and key not in raw_input):
        errors.append(MISSING_REQUIRED_ERROR.format(key))
    elif not rule["required"] and key not in raw_input:
        if "default" in rule:
            validated[key] = rule["default"]
        else:
            errors.append(MISSING_DEFAULT_ERROR.format(key))


def _check(
    key: Any, rule: Any, raw_input: Any, validated: Any, errors: list[str], strict: bool
) -> None:
    """Float coercion, the type check and the constraints of one key (step 4)."""
    if key in validated:
        try:
            if rule["type"] is float and type(validated[key]) in (int, float):
                validated[key] = float(validated[key])
        except TypeError:  # a rule left as a string: RunPod's SDK drops the key's checks
            return
        value = validated[key]
        if "default" in rule and isinstance(value, type(rule["default"])):
            if key in raw_input and "constraints" in rule:
                _skipped_constraint(key, rule["constraints"], value, errors, strict)
            return
        if not isinstance(value, rule["type"]):
            errors.append(INVALID_TYPE_ERROR.format(key, rule["type"], type(value)))
    if "constraints" in rule and not rule["constraints"](validated.get(key)):
        errors.append(CONSTRAINTS_ERROR.format(key))


def _skipped_constraint(
    key: Any, constraint: Any, value: Any, errors: list[str], strict: bool
) -> None:
    """A supplied value of the default's type: RunPod's SDK skips its constraint.

    Strict mode runs it as for any other value; otherwise a failing value is accepted, as
    RunPod's SDK accepts it, with one warning naming the key.
    """
    if strict:
        if not constraint(value):
            errors.append(CONSTRAINTS_ERROR.format(key))
        return
    try:
        met = bool(constraint(value))
    except Exception:  # RunPod's SDK never calls it here, so it must not raise here either
        met = False
    if not met:
        _log.warn(
            f"rp_validator: input '{key}' does not meet its constraints but is accepted, "
            "as RunPod's SDK accepts a value that has the type of the default; "
            f"set {STRICT_ENV}=strict to reject it."
        )
