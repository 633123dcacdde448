"""``pitstop serve`` with a config file: the file's endpoints and server, flags on top.

Precedence, highest first: a flag given on the command line (it applies to every endpoint),
the endpoint's own table, the file's top-level keys, then the flag's default (for ``[server]``:
the ``PITSTOP_*`` environment, then the default). A relative ``handler`` is relative to the
file's folder. An endpoint's own ``gpus`` list reserves those devices; an endpoint without one
gets the top-level devices (``--gpus``) that no endpoint reserved. The keys come from the options themselves (see
:mod:`pitstop.cli.config_file`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from pitstop.cli.config_file import load, option_key
from pitstop.cli.main import SERVER_FLAGS, server_config, supervisor_config
from pitstop.config import ServerConfig, SupervisorConfig
from pitstop.supervisor.banner import worker_count
from pitstop.supervisor.endpoints import check_endpoints, device_leases
from pitstop.supervisor.gpus import NONE, format_gpus, parse_gpus

_GIVEN = (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)
_NOT_IN_FILE = {"endpoint"}
"""Options with no file key: an endpoint's id is its table name."""


def server_params() -> dict[str, click.Parameter]:
    """``[server]`` keys: every ``pitstop server`` option, as a click parameter."""
    params: dict[str, click.Parameter] = {}
    for flag in SERVER_FLAGS:
        if flag.type == "off":  # --no-X in the file is `X = false` (the field itself)
            option = click.Option([f"--{flag.field}", flag.field], type=click.BOOL)
        else:
            kind = click.BOOL if flag.type is bool else flag.type
            option = click.Option([flag.name, flag.field], type=kind, multiple=flag.multiple)
        params[option_key(option)] = option
    return params


def endpoint_params(command: click.Command, names: Sequence[str]) -> dict[str, click.Parameter]:
    """Endpoint keys: the command's own options among ``names`` plus handler and args."""
    params: dict[str, click.Parameter] = {
        "handler": click.Option(["--handler"], type=click.Path()),
        "args": click.Argument(["args"], nargs=-1),
    }
    for param in command.params:
        if isinstance(param, click.Option) and param.name in names and param.name != "endpoint":
            params[option_key(param)] = param
    return params


def file_configs(
    path: Path, cli: Mapping[str, Any], cli_server: Mapping[str, Any]
) -> tuple[list[SupervisorConfig], ServerConfig]:
    """The endpoints and the server ``path`` describes, with the given flags on top.

    ``cli`` holds the endpoint options' values (default or given), ``cli_server`` the server
    options' (None when not given), both keyed as the command has them.
    """
    ctx = click.get_current_context()
    by_key = server_params()
    loaded = load(path, by_key, endpoint_params(ctx.command, list(cli)))
    fields = {key: param.name for key, param in by_key.items()}
    from_file = {fields[key]: value for key, value in loaded.server.items()}
    merged = {f: v if v not in (None, ()) else from_file.get(f) for f, v in cli_server.items()}
    for field, value in from_file.items():
        merged.setdefault(field, value)  # [server] keys that serve has no flag for
    srv = server_config(merged)
    given = {name: cli[name] for name in cli if ctx.get_parameter_source(name) in _GIVEN}
    if ctx.meta.get("handler_args"):
        given["args"] = ctx.meta["handler_args"]
    defaults = {k: v for k, v in cli.items() if k not in _NOT_IN_FILE}
    key = srv.worker_keys[0] if srv.worker_keys else ""
    sups = []
    for name, table in loaded.endpoints.items():
        values = {**defaults, **loaded.defaults, **table, **given, "endpoint": name}
        values["handler"] = str(path.parent / values["handler"])
        if "gpus" not in table and "gpus" not in given:
            values["gpus"] = unreserved(values["gpus"], loaded.endpoints)
        sups.append(supervisor_config(values, worker_key=key))
    return sups, srv


def unreserved(spec: str, endpoints: Mapping[str, Mapping[str, Any]]) -> str:
    """For an endpoint without its own ``gpus``: the file's device list minus the devices
    other endpoints reserve by listing them (``all`` leaves that to the allocator)."""
    devices = parse_gpus(spec)
    if not isinstance(devices, tuple):
        return spec
    reserved = {d for table in endpoints.values() for d in _listed(table.get("gpus", "none"))}
    return format_gpus(tuple(d for d in devices if d not in reserved)) or NONE


def _listed(spec: str) -> tuple[str, ...]:
    devices = parse_gpus(spec)
    return devices if isinstance(devices, tuple) else ()


def check_report(sups: Sequence[SupervisorConfig], srv: ServerConfig, path: Path | None) -> str:
    """``--check``: validate everything that can be checked without starting anything."""
    checked = check_endpoints(sups)
    leases = device_leases(checked)
    source = str(path) if path is not None else "command line"
    lines = [f"{source}: OK, {len(checked)} endpoint(s) on http://{srv.host}:{srv.port}"]
    for sup in checked:
        lease = leases[sup.endpoint_id]
        gpus = (
            f"GPU {','.join(lease.allowed)}, {lease.per_worker} per worker"
            if lease is not None
            else "no GPUs"
        )
        timeout = sup.execution_timeout_ms or srv.default_execution_timeout_ms
        lines.append(
            f"  {sup.endpoint_id}: {sup.handler_path}, {worker_count(sup)} worker(s) x "
            f"concurrency {sup.concurrency}, {gpus}, execution timeout {timeout} ms"
        )
    return "\n".join(lines)
