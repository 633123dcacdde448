"""Stand-ins for RunPod's cloud-management API (``runpod.api``): they refuse, at once.

pitstop does not manage RunPod cloud resources. The facade keeps the official functions so
imports and references work; each raises :class:`pitstop.errors.CloudApiUnavailable`
before any network traffic. :func:`refusing_like` builds a GraphQL-builder stand-in with
the parameters of the cloud command it serves (the official builders repeat them, with a
few other defaults).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, NoReturn

from pitstop.errors import CloudApiUnavailable

REQUIRED = inspect.Parameter.empty
"""As a default in :func:`refusing_like`: the parameter has no default."""


def refusing_like(
    command: Callable[..., Any], qualname: str, **defaults: Any
) -> Callable[..., NoReturn]:
    """A function ``runpod.<qualname>`` with ``command``'s parameters (``defaults`` override
    theirs) that raises CloudApiUnavailable when called."""
    signature = inspect.signature(command)
    params = [
        p.replace(default=defaults[p.name]) if p.name in defaults else p
        for p in signature.parameters.values()
    ]

    def refuse(*args: Any, **kwargs: Any) -> NoReturn:
        raise CloudApiUnavailable(qualname)

    module, _, name = qualname.rpartition(".")
    refuse.__name__ = refuse.__qualname__ = name
    refuse.__module__ = f"runpod.{module}"
    refuse.__doc__ = "Raises CloudApiUnavailable (pitstop does not manage RunPod cloud resources)."
    setattr(refuse, "__signature__", signature.replace(parameters=params))  # noqa: B010
    return refuse
