"""``runpod.agent``: the official SDK tags its User-Agent with the AI coding agent driving it.

pitstop does no such attribution: no variables are inspected, ``detect()`` is always empty
and the User-Agent gets no suffix.
"""

HARNESSES: list[tuple[str, list[str]]] = []
STANDARD_ENV_VARS: list[str] = []


def known_env_vars() -> list[str]:
    """The variables agent detection inspects: none."""
    return []


def detect() -> str:
    """The detected agent id: always empty (pitstop does no attribution)."""
    return ""


def suffix() -> str:
    """The User-Agent suffix for the detected agent: always empty."""
    return ""


__all__ = ["HARNESSES", "STANDARD_ENV_VARS", "detect", "known_env_vars", "suffix"]
