"""``runpod.endpoint.helpers``: the official constants, and what both client flavours share.

``FINAL_STATES`` and ``is_completed`` are the official ones (``is_completed`` also counts
CANCELLED). The message constants are the official texts; pitstop's client raises
``pitstop.errors`` classes instead of ``RuntimeError`` with them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pitstop.client._core import is_terminal, outcome

FINAL_STATES = ["COMPLETED", "FAILED", "TIMED_OUT"]

UNAUTHORIZED_MSG = "401 Unauthorized | Make sure Runpod API key is set and valid."
API_KEY_NOT_SET_MSG = (
    "Expected `run_pod.api_key` to be initialized. "
    "You can solve this by setting `run_pod.api_key = 'your-key'. "
    "An API key can be generated at https://console.runpod.io/user/settings"
)

_SUBMIT_KEYS = ("input", "webhook", "policy", "s3Config")


def is_completed(status: str) -> bool:
    """True for a terminal job state (COMPLETED, FAILED, TIMED_OUT, CANCELLED)."""
    return is_terminal({"status": status})


def settings(api_key: str | None) -> tuple[str | None, str]:
    """The API key and base URL in force now (``runpod.api_key``, ``runpod.endpoint_url_base``)."""
    import runpod

    return api_key or runpod.api_key, runpod.endpoint_url_base


def submit_body(request_input: Any) -> dict[str, Any]:
    """RunPod's wrapping rule: a dict with an ``input`` key is already a submit body
    (``input``, ``webhook``, ``policy``, ``s3Config``); anything else becomes its ``input``."""
    if isinstance(request_input, Mapping) and "input" in request_input:
        return {k: request_input[k] for k in _SUBMIT_KEYS if k in request_input}
    return {"input": request_input}


def final_output(body: Mapping[str, Any]) -> Any:
    """The output of a status body: raises for a terminal state other than COMPLETED."""
    return outcome(body) if is_terminal(body) else body.get("output")


__all__ = ["API_KEY_NOT_SET_MSG", "FINAL_STATES", "UNAUTHORIZED_MSG", "is_completed"]
