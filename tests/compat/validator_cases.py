"""Validator cases run under both SDKs: ``python validator_cases.py WORKDIR OUT.json``.

Run by the official SDK's interpreter and by pitstop's (``tests/compat/test_compat_validator``);
each writes ``{case name: repr of the answer}`` to ``OUT.json``, where the answer is
``validate``'s return value or ``raised <ExceptionType>: <message>``. Schemas are built
fresh for every case because RunPod's SDK rewrites JSON-string rules inside the schema.
Only the standard library and ``runpod`` are imported: this file runs in both virtualenvs.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

from runpod.serverless.utils.rp_validator import validate


def sdxl_like() -> dict[str, Any]:
    """Image-model inputs: None defaults for optional strings, a bounded image count."""
    return {
        "prompt": {"type": str, "required": False},
        "negative_prompt": {"type": str, "required": False, "default": None},
        "height": {"type": int, "required": False, "default": 1024},
        "seed": {"type": int, "required": False, "default": None},
        "guidance_scale": {"type": float, "required": False, "default": 7.5},
        "num_images": {
            "type": int,
            "required": False,
            "default": 1,
            "constraints": lambda n: 3 > n > 0,
        },
    }


def whisper_like() -> dict[str, Any]:
    """Speech-model inputs: float rules with int defaults, bool flags."""
    return {
        "audio": {"type": str, "required": True},
        "temperature": {"type": float, "required": False, "default": 0},
        "beam_size": {"type": int, "required": False, "default": 5},
        "translate": {"type": bool, "required": False, "default": False},
        "language": {"type": str, "required": False, "default": None},
    }


def constrained() -> dict[str, Any]:
    """A required bounded int and an optional constrained string without a default."""
    return {
        "steps": {"type": int, "required": True, "constraints": lambda v: 0 < v <= 50},
        "mode": {
            "type": str,
            "required": False,
            "default": "fast",
            "constraints": lambda v: v in ("fast", "slow"),
        },
    }


def json_rules() -> dict[str, Any]:
    """Rules given as JSON strings, as some workers load them from files."""
    return {
        "name": json.dumps({"type": "str", "required": False, "default": "anon"}),
        "count": json.dumps({"type": "int", "required": True}),
    }


Schema = Callable[[], Any]
CASES: list[tuple[str, Any, Schema]] = [
    ("empty", {}, dict),
    ("sdxl-defaults", {"prompt": "cat"}, sdxl_like),
    ("sdxl-quirk-5-images", {"prompt": "cat", "num_images": 5}, sdxl_like),
    ("sdxl-quirk-0-images", {"prompt": "cat", "num_images": 0}, sdxl_like),
    ("sdxl-images-as-text", {"prompt": "cat", "num_images": "2"}, sdxl_like),
    ("sdxl-seed-given", {"prompt": "cat", "seed": 42, "negative_prompt": None}, sdxl_like),
    ("sdxl-seed-text", {"prompt": "cat", "seed": "42"}, sdxl_like),
    ("sdxl-no-prompt", {}, sdxl_like),
    ("sdxl-int-guidance", {"prompt": "cat", "guidance_scale": 8}, sdxl_like),
    ("sdxl-bool-guidance", {"prompt": "cat", "guidance_scale": True}, sdxl_like),
    ("sdxl-bool-images", {"prompt": "cat", "num_images": True}, sdxl_like),
    ("sdxl-unexpected", {"prompt": "cat", "promt": "typo", "steps": 3}, sdxl_like),
    ("whisper-defaults", {"audio": "a.wav"}, whisper_like),
    ("whisper-int-temperature", {"audio": "a.wav", "temperature": 1}, whisper_like),
    ("whisper-missing-audio", {"beam_size": 2.5}, whisper_like),
    ("whisper-translate-int", {"audio": "a.wav", "translate": 1}, whisper_like),
    ("whisper-language-none", {"audio": None, "language": None}, whisper_like),
    ("constrained-ok", {"steps": 10}, constrained),
    ("constrained-too-many", {"steps": 99}, constrained),
    ("constrained-mode-skipped", {"steps": 10, "mode": "turbo"}, constrained),
    ("constrained-missing", {}, constrained),
    ("constrained-text-steps", {"steps": "10"}, constrained),
    ("no-required-key", {"a": 1}, lambda: {"a": {"type": int}, "b": {"type": int, "default": 2}}),
    ("no-type-absent", {}, lambda: {"a": {"required": False, "default": 1}}),
    ("no-type-present", {"a": 1}, lambda: {"a": {"required": True}}),
    ("optional-no-default", {}, lambda: {"x": {"type": int, "required": False}}),
    ("required-with-default", {}, lambda: {"x": {"type": int, "required": True, "default": 3}}),
    ("none-value", {"x": None}, lambda: {"x": {"type": str, "required": True}}),
    (
        "type-and-constraint-errors",
        {"x": "s"},
        lambda: {"x": {"type": int, "required": True, "constraints": lambda v: v == 1}},
    ),
    (
        "constraint-on-missing-key",
        {},
        lambda: {"x": {"type": int, "required": True, "constraints": lambda v: v > 0}},
    ),
    (
        "constraint-tolerates-none",
        {},
        lambda: {"x": {"type": int, "required": True, "constraints": lambda v: v is None or v > 0}},
    ),
    (
        "constraint-returns-list",
        {"x": 2},
        lambda: {"x": {"type": int, "required": True, "constraints": lambda v: [v] * v}},
    ),
    ("json-rules-ok", {"name": "bob", "count": 3}, json_rules),
    ("json-rules-defaults", {"count": 3}, json_rules),
    ("json-rules-missing", {}, json_rules),
    ("bad-json-absent", {}, lambda: {"a": "{nope"}),
    ("bad-json-present", {"a": 1}, lambda: {"a": "{nope"}),
    ("bad-json-mentions-type", {}, lambda: {"a": "{type required"}),
    ("bad-json-mentions-constraints", {}, lambda: {"a": "constraints?"}),
    ("json-number-rule", {}, lambda: {"a": "5"}),
    ("int-rule", {}, lambda: {"a": 5}),
    ("list-rule", {"a": 1}, lambda: {"a": '["type", "required"]'}),
    ("input-is-text", "abc", lambda: {"a": {"type": int, "required": True}}),
    ("input-is-none", None, lambda: {"a": {"type": int, "required": True}}),
    ("input-is-list", [1, 2], lambda: {"a": {"type": int, "required": False, "default": 1}}),
]


def answer(raw_input: Any, schema: Schema) -> str:
    """``validate``'s answer for one case, as a comparable string."""
    try:
        return repr(validate(raw_input, schema()))
    except Exception as exc:
        return f"raised {type(exc).__name__}: {exc}"


def schema_after_call() -> str:
    """The type of a JSON-string rule in the caller's schema once ``validate`` ran."""
    schema = {"name": json.dumps({"type": "str", "required": False, "default": "anon"})}
    validate({}, schema)
    return type(schema["name"]).__name__


def main(out_path: str) -> None:
    results = {name: answer(raw, schema) for name, raw, schema in CASES}
    results["<schema-after>"] = schema_after_call()
    with open(out_path, "w", encoding="utf-8") as fh:
        json.dump(results, fh, indent=1)


if __name__ == "__main__":
    main(sys.argv[2])
