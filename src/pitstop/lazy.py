"""Lazy module attributes for the ``runpod`` facade packages (PEP 562).

The official SDK imports nearly all of its modules at ``import runpod``; pitstop must stay
cheap there, so each facade package declares its submodules and re-exported names and loads
them on first attribute access. :func:`attach` returns the package's ``__getattr__`` and
``__dir__``, so ``runpod.serverless.utils.rp_upload`` works right after ``import runpod``
and ``dir()`` lists every name before it is loaded.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any

Getattr = Callable[[str], Any]
Dir = Callable[[], list[str]]


def attach(
    package: str,
    *,
    submodules: Iterable[str] = (),
    names: Mapping[str, str] | None = None,
) -> tuple[Getattr, Dir]:
    """``__getattr__`` and ``__dir__`` for module ``package``.

    ``submodules`` are imported on first access; ``names`` maps an attribute to the module
    it comes from (the attribute keeps its name there). A loaded name is stored on the
    module, so later lookups do not come back here.
    """
    subs = frozenset(submodules)
    sources = dict(names or {})

    def __getattr__(name: str) -> Any:
        if name in sources:
            value = getattr(importlib.import_module(sources[name]), name)
            setattr(sys.modules[package], name, value)
            return value
        if name in subs:
            return importlib.import_module(f"{package}.{name}")
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | subs | set(sources))

    return __getattr__, __dir__
