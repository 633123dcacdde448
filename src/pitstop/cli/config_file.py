"""``pitstop.toml``: the server and any number of endpoints for ``pitstop serve``.

::

    gpus_per_worker = 1           # top level: defaults for every endpoint
    [server]                      # the `pitstop server` flags: host, port, store, api_key ...
    port = 8000
    [endpoints.alpha]             # the table name is the endpoint id
    handler = "workers/alpha/handler.py"
    args = ["--model", "small"]   # `-- ARGS`
    env = { HF_HOME = "/models" } # `--env NAME=VALUE`
    max_workers = 2

Every key is a command-line option's name with ``_`` for ``-``, and nothing else: the allowed
keys and their types come from the click options themselves (``[server]`` from
:data:`pitstop.cli.main.SERVER_FLAGS`, endpoints from the ``serve`` command's own options), so
there is no second list to keep in step. Values go through the option's click type, so they
are checked exactly as on the command line. Errors name the file, the line and the key
(``tomllib`` knows no lines: the key's line is found by scanning the text).
"""

from __future__ import annotations

import difflib
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from pitstop.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

DEFAULT_NAME = "pitstop.toml"
_HEADER = re.compile(r"^\s*\[+\s*([^\]]+?)\s*\]+")
_KEY = re.compile(r"""^\s*(?:"([^"]+)"|'([^']+)'|([A-Za-z0-9_-]+))\s*=""")


@dataclass
class FileConfig:
    """What a config file says, keyed by option name (values already converted)."""

    path: Path
    server: dict[str, Any] = field(default_factory=dict)
    defaults: dict[str, Any] = field(default_factory=dict)
    endpoints: dict[str, dict[str, Any]] = field(default_factory=dict)


class KeyError_(ConfigError):
    """A bad key or value, located: ``FILE:LINE: [table] key: problem``."""


def find_config(given: str | None, cwd: Path | None = None) -> Path | None:
    """The file ``--config`` names, else ``./pitstop.toml`` if there is one."""
    if given:
        return Path(given)
    candidate = (cwd or Path.cwd()) / DEFAULT_NAME
    return candidate if candidate.is_file() else None


def load(
    path: Path, server_params: Mapping[str, click.Parameter], params: Mapping[str, click.Parameter]
) -> FileConfig:
    """Read and check ``path``: ``[server]`` keys from ``server_params``, top-level and
    ``[endpoints.NAME]`` keys from ``params`` (option name -> click parameter)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    where = _Locator(path, text)
    result = FileConfig(path)
    endpoint_params = {k: p for k, p in params.items() if k not in ("handler", "args")}
    for key, value in data.items():
        if key == "server":
            result.server = where.table(value, ("server",), server_params)
        elif key == "endpoints":
            result.endpoints = _endpoints(where, value, params)
        else:
            result.defaults.update(where.table({key: value}, (), endpoint_params))
    if not result.endpoints:
        raise ConfigError(f"{path}: no [endpoints.NAME] table: nothing to serve")
    return result


def _endpoints(
    where: _Locator, value: Any, params: Mapping[str, click.Parameter]
) -> dict[str, dict[str, Any]]:
    if not isinstance(value, dict):
        raise where.error(("endpoints",), None, "must be a table of [endpoints.NAME] tables")
    endpoints: dict[str, dict[str, Any]] = {}
    for name, table in value.items():
        path = ("endpoints", name)
        endpoints[name] = where.table(table, path, params)
        if "handler" not in endpoints[name]:
            raise where.error(path, None, "needs a handler (the handler file)")
    return endpoints


class _Locator:
    """Turns tables into option values, and problems into ``FILE:LINE: [table] key`` errors."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()

    def table(
        self, value: Any, table: tuple[str, ...], params: Mapping[str, click.Parameter]
    ) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.error(table, None, "must be a table")
        converted: dict[str, Any] = {}
        for key, raw in value.items():
            param = params.get(key)
            if param is None:
                raise self.error(table, key, f"unknown key{_suggest(key, params)}")
            try:
                converted[key] = _convert(param, raw)
            except (click.BadParameter, TypeError, ValueError) as exc:
                message = exc.message if isinstance(exc, click.BadParameter) else str(exc)
                raise self.error(table, key, message) from None
        return converted

    def error(self, table: tuple[str, ...], key: str | None, problem: str) -> KeyError_:
        """The located error for ``key`` (or the table itself) in ``table``."""
        name = f"[{'.'.join(table)}] " if table else ""
        subject = f"{name}{key}" if key else name.strip()
        return KeyError_(f"{self.path}:{self.line_of(table, key)}: {subject}: {problem}")

    def line_of(self, table: tuple[str, ...], key: str | None) -> int:
        """The line where ``key`` is set in ``table`` (the table's header without a key)."""
        current: tuple[str, ...] = ()
        header_line = 1
        for number, line in enumerate(self.lines, start=1):
            if header := _HEADER.match(line):
                current = tuple(part.strip().strip("\"'") for part in header.group(1).split("."))
                if current == table:
                    header_line = number
                continue
            match = _KEY.match(line)
            if key is None or match is None:
                continue
            name = next(group for group in match.groups() if group)
            if (current == table and name == key) or _inline_sets(line, table, current, key):
                return number
        return header_line


def _inline_sets(line: str, table: tuple[str, ...], current: tuple[str, ...], key: str) -> bool:
    """True when ``line`` sets ``key`` of ``table`` as a dotted key or inline table."""
    dotted = ".".join([*table[len(current) :], key]) if table[: len(current)] == current else ""
    return bool(dotted) and re.match(rf"^\s*{re.escape(dotted)}\s*=", line) is not None


def _suggest(key: str, params: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, list(params), n=1)
    return f" (did you mean {close[0]}?)" if close else ""


def _convert(param: click.Parameter, raw: Any) -> Any:
    """A TOML value through the option's click type (a list for a repeatable option; a
    table as ``NAME=VALUE`` entries; a list as a comma list for a single text option)."""
    if isinstance(raw, dict):
        if not param.multiple:
            raise TypeError("must not be a table")
        raw = [f"{name}={value}" for name, value in raw.items()]
    if param.multiple or param.nargs == -1:
        if not isinstance(raw, list):
            raise TypeError("must be a list")
        return tuple(param.type.convert(item, param, None) for item in raw)
    if isinstance(raw, list):
        raw = ",".join(str(item) for item in raw)
    is_bool = isinstance(param.type, click.types.BoolParamType)
    if isinstance(raw, bool) != is_bool:
        raise TypeError(
            "must be true or false" if is_bool else f"{param.type.name} expected, not true/false"
        )
    return param.type.convert(raw, param, None)


def option_key(param: click.Parameter) -> str:
    """The key a command-line option has in the file: its long name with ``_`` for ``-``."""
    longs = [opt for opt in param.opts if opt.startswith("--")]
    name = longs[0][2:] if longs else (param.name or "")
    return name.replace("-", "_")
