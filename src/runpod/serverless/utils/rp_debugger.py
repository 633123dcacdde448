"""``runpod.serverless.utils.rp_debugger``: re-exported from :mod:`pitstop.serverless.utils.debugger`.

``OS_INFO``, ``PROCESSOR`` and ``PYTHON_VERSION`` are computed on first access.
"""

from typing import Any

from pitstop.serverless.utils.debugger import (
    Checkpoints,
    FunctionTimer,
    LineTimer,
    clear_debugger_output,
    get_debugger_output,
    system_info,
)

_SYSTEM = {"OS_INFO": "os", "PROCESSOR": "processor", "PYTHON_VERSION": "python_version"}

__all__ = [
    "Checkpoints",
    "FunctionTimer",
    "LineTimer",
    "clear_debugger_output",
    "get_debugger_output",
]


def __getattr__(name: str) -> Any:
    if name in _SYSTEM:
        value = system_info()[_SYSTEM[name]]
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_SYSTEM))
