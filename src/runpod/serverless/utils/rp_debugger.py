"""``runpod.serverless.utils.rp_debugger``: re-exported from :mod:`pitstop.serverless.utils.debugger`."""

from pitstop.serverless.utils.debugger import (
    Checkpoints,
    FunctionTimer,
    LineTimer,
    clear_debugger_output,
    get_debugger_output,
)

__all__ = [
    "Checkpoints",
    "FunctionTimer",
    "LineTimer",
    "clear_debugger_output",
    "get_debugger_output",
]
