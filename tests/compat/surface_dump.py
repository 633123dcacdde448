"""Dump the public surface of the ``runpod`` package as JSON (run by tests/compat/test_surface.py).

``python surface_dump.py walk`` walks the installed ``runpod`` package (the official SDK's,
under its interpreter), skipping the CLI package and the bundled GPU test binary, and prints
its public names. ``python surface_dump.py MODULE...`` imports the named modules (pitstop's
facade, under pitstop's interpreter) and prints every attribute ``dir()`` lists. Output:
``{module: {"names": {name: kind}, "signatures": {name: [[param, kind, default]]}}}``, or
``{module: "<ExceptionType>: <message>"}`` for a module that does not import.

How the official public names are counted (see test_surface.py):

* a module's public names are what ``dir()`` lists that does not start with ``_``, plus
  everything in its ``__all__``;
* submodules and other imported modules (``os``, ``json``, ``requests``) are not names;
* a class, function or other object whose ``__module__`` is outside ``runpod`` (``typing.Any``,
  ``pathlib.Path``, ``aiohttp.ClientSession``, an ``argparse`` parser) is an import of a
  stdlib or third-party name, not part of the SDK's surface, unless ``__all__`` lists it;
  so is a name bound to the ``typing`` object of that name (``TYPE_CHECKING``);
* the kind is ``class`` (a type), ``function`` (any other callable) or ``constant``.
"""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import sys
import types
import typing
from typing import Any

SKIPPED = ("runpod.cli", "runpod.serverless.binaries")
_MISSING = object()


def _kind(value: Any) -> str:
    if inspect.isclass(value):
        return "class"
    return "function" if callable(value) else "constant"


def _imported(name: str, value: Any) -> bool:
    """True for a name imported from the stdlib or a third party (``Any``, ``TYPE_CHECKING``)."""
    if value is getattr(typing, name, _MISSING):
        return True
    owner = getattr(value, "__module__", None) if callable(value) else type(value).__module__
    return isinstance(owner, str) and owner != "builtins" and owner.split(".")[0] != "runpod"


def _counted(name: str, value: Any, exported: set[str], public: bool) -> bool:
    if isinstance(value, types.ModuleType):
        return False
    if not public or name in exported:
        return True
    return not (name.startswith("_") or _imported(name, value))


def _signature(value: Any) -> list[list[Any]] | None:
    """Parameter names, kinds and default reprs of a function (None when not inspectable)."""
    if inspect.isclass(value) or not callable(value):
        return None
    try:
        params = inspect.signature(value).parameters.values()
    except (TypeError, ValueError):
        return None
    return [
        [p.name, p.kind.name, None if p.default is p.empty else repr(p.default)] for p in params
    ]


def surface(module: types.ModuleType, *, public: bool) -> dict[str, Any]:
    """Names (and function signatures) of ``module``: with ``public``, its public names (see
    the module docstring), else every attribute ``dir()`` lists that is not a module."""
    exported = set(getattr(module, "__all__", ()))
    names: dict[str, str] = {}
    signatures: dict[str, Any] = {}
    for name in sorted(set(dir(module)) | exported):
        value = getattr(module, name, _MISSING)
        if value is _MISSING:
            names[name] = "missing"
        elif _counted(name, value, exported, public):
            names[name] = _kind(value)
            signatures[name] = _signature(value)
    return {"names": names, "signatures": signatures}


def walk() -> list[str]:
    """Every module of the installed runpod package but the CLI and the binaries."""
    import runpod

    found = ["runpod"]
    for info in pkgutil.walk_packages(runpod.__path__, "runpod."):
        if not info.name.startswith(SKIPPED):
            found.append(info.name)
    return sorted(found)


def dump(modules: list[str], *, public: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in modules:
        try:
            out[name] = surface(importlib.import_module(name), public=public)
        except Exception as exc:  # a module that fails to import is the finding
            out[name] = f"{type(exc).__name__}: {exc}"
    return out


def main(argv: list[str]) -> None:
    result = dump(walk(), public=True) if argv == ["walk"] else dump(argv, public=False)
    print("SURFACE " + json.dumps(result, sort_keys=True), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
