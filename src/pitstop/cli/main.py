"""The ``pitstop`` command line: run a server, a handler with its workers, or talk to a server.

Thin by design: every flag maps onto one config field (``ServerConfig``,
``SupervisorConfig``) and every client command onto one :mod:`pitstop.client` call. Flags
left out keep the value from the environment (``PITSTOP_*``) or the config default. Nothing
heavy is imported until a command runs, so ``pitstop --help`` is instant.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any, TypeVar

import click

from pitstop import __version__
from pitstop.cli.client import COMMANDS
from pitstop.cli.console import CONSOLE_COMMANDS
from pitstop.cli.output import EXIT_CODES_HELP, Settings, current_settings, handles_errors
from pitstop.cli.worker_env import worker_env
from pitstop.config import ServerConfig, SupervisorConfig

F = TypeVar("F", bound=Callable[..., Any])


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, epilog=EXIT_CODES_HELP)
@click.option(
    "--url",
    envvar="PITSTOP_URL",
    default="http://127.0.0.1:8000",
    show_default=True,
    help="Server URL for client commands [env PITSTOP_URL].",
)
@click.option("--api-key", envvar="PITSTOP_API_KEY", help="Client API key [env PITSTOP_API_KEY].")
@click.option("--json", "json_output", is_flag=True, help="Print one JSON document (scripts).")
@click.version_option(__version__, prog_name="pitstop")
@click.pass_context
def main(ctx: click.Context, url: str, api_key: str | None, json_output: bool) -> None:
    """pitstop: run RunPod-style serverless workers anywhere.

    \b
    Run:     pitstop serve handler.py          server + workers for one handler
             pitstop server                     the job server alone
             pitstop worker handler.py --url U  workers for a remote server
    Client:  submit, status, cancel, retry, health, logs, purge
    Console: jobs ENDPOINT, timeline JOB_ID, workers [ENDPOINT]
    Other:   worker-env ENDPOINT           env for an official-SDK worker
    """
    ctx.obj = Settings(url=url, api_key=api_key, json=json_output)


for _command in (*COMMANDS, *CONSOLE_COMMANDS, worker_env):
    main.add_command(_command)


# ---------------------------------------------------------------------------- server flags


@dataclasses.dataclass(frozen=True)
class Flag:
    """One ``pitstop server`` option and the ``ServerConfig`` field it sets."""

    name: str
    field: str
    type: Any
    help: str
    multiple: bool = False


SERVER_FLAGS: tuple[Flag, ...] = (
    Flag("--host", "host", str, "Interface to bind."),
    Flag("--port", "port", click.IntRange(0, 65535), "Port (0 picks a free one)."),
    Flag("--store", "store_url", str, "Store URL: sqlite:///PATH or redis://HOST:PORT/DB."),
    Flag("--api-key", "client_keys", str, "Client API key (repeatable).", multiple=True),
    Flag("--worker-key", "worker_keys", str, "Worker API key (repeatable).", multiple=True),
    Flag("--allow-no-auth", "allow_public_without_keys", bool, "Serve without keys."),
    Flag("--lease", "lease_s", float, "Seconds a taken job stays leased without a ping."),
    Flag("--max-attempts", "max_attempts", int, "Claims per job before a lost lease fails it."),
    Flag("--sweep-interval", "sweep_interval", float, "Seconds between sweeper passes."),
    Flag("--take-wait", "take_wait", float, "Seconds an idle job-take long-poll is held."),
    Flag("--stop-wait", "stop_wait", float, "Seconds an idle job-stop long-poll is held."),
    Flag("--runsync-wait", "runsync_wait", float, "Default /runsync hold in seconds."),
    Flag("--retention-run", "retention_run_s", float, "Seconds /run results are kept."),
    Flag("--retention-sync", "retention_sync_s", float, "Seconds /runsync results are kept."),
    Flag(
        "--execution-timeout-ms",
        "default_execution_timeout_ms",
        int,
        "Default per-job execution timeout (ms).",
    ),
    Flag("--ttl-ms", "default_ttl_ms", int, "Default job TTL from submission (ms)."),
    Flag("--max-run-body", "max_run_body", int, "Largest /run body (bytes)."),
    Flag("--max-runsync-body", "max_runsync_body", int, "Largest /runsync body (bytes)."),
    Flag("--max-worker-body", "max_worker_body", int, "Largest worker POST body (bytes)."),
    Flag("--max-queue", "max_queue", int, "Queued jobs per endpoint before /run answers 429."),
    Flag("--worker-seen", "worker_seen_s", float, "Seconds a worker counts in /health."),
    Flag("--webhook-timeout", "webhook_timeout", float, "Seconds per webhook call."),
    Flag("--webhook-attempts", "webhook_attempts", int, "Webhook calls before giving up."),
    Flag("--webhook-backoff", "webhook_backoff", float, "Seconds between webhook calls."),
    Flag("--log-level", "log_level", str, "Server log level."),
    Flag("--no-dashboard", "dashboard", "off", "Do not serve the web dashboard."),
)

_SERVER_DEFAULTS = ServerConfig()
_SUP_DEFAULTS = SupervisorConfig()


def _option(flag: Flag) -> Callable[[F], F]:
    default = getattr(_SERVER_DEFAULTS, flag.field)
    shown = (", ".join(default) or "none") if flag.multiple else default
    help_text = f"{flag.help}  [default: {shown}]"
    if flag.type is bool:
        return click.option(flag.name, flag.field, is_flag=True, default=None, help=help_text)
    if flag.type == "off":  # a --no-X flag that turns a default-on field off
        return click.option(flag.name, flag.field, flag_value=False, default=None, help=flag.help)
    return click.option(
        flag.name, flag.field, type=flag.type, multiple=flag.multiple, help=help_text
    )


def server_flags(names: Collection[str] | None = None) -> Callable[[F], F]:
    """Add the ``ServerConfig`` options (all, or those named) to a command."""
    chosen = [f for f in SERVER_FLAGS if names is None or f.name in names]

    def decorate(fn: F) -> F:
        for flag in reversed(chosen):
            fn = _option(flag)(fn)
        return fn

    return decorate


def server_config(values: Mapping[str, Any]) -> ServerConfig:
    """``ServerConfig.from_env()`` with every flag the user gave applied on top."""
    given: dict[str, Any] = {}
    for flag in SERVER_FLAGS:
        value = values.get(flag.field)
        if value is None or (flag.multiple and not value):
            continue
        given[flag.field] = tuple(value) if flag.multiple else value
    return dataclasses.replace(ServerConfig.from_env(), **given)


def _pop_server_values(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {f.field: kwargs.pop(f.field) for f in SERVER_FLAGS if f.field in kwargs}


# ---------------------------------------------------------------------------- run commands


@main.command()
@server_flags()
@handles_errors
def server(**values: Any) -> None:
    """Run the job server (RunPod's API under /v2, pitstop's under /pitstop/v1)."""
    from pitstop.server.runner import run

    run(server_config(values))


SERVE_FLAGS = ("--host", "--port", "--store", "--api-key", "--worker-key", "--no-dashboard")


@main.command()
@click.argument("handler", type=click.Path(exists=True, dir_okay=False))
@server_flags(SERVE_FLAGS)
@click.option("--endpoint", help="Endpoint id  [default: the handler file's name]")
@click.option("--min-workers", type=click.IntRange(min=0), default=_SUP_DEFAULTS.min_workers)
@click.option("--max-workers", type=click.IntRange(min=1), help="[default: max(1, min)]")
@click.option("--concurrency", type=click.IntRange(min=1), default=_SUP_DEFAULTS.concurrency)
@click.option(
    "--idle-timeout",
    type=click.FloatRange(min=0),
    default=_SUP_DEFAULTS.idle_timeout,
    show_default=True,
    help="Seconds without jobs before scaling down towards --min-workers.",
)
@click.option("--reload", is_flag=True, help="Restart workers when the handler file changes.")
@click.option(
    "--data-dir",
    default=_SUP_DEFAULTS.data_dir,
    show_default=True,
    help="Where the default SQLite store lives (when --store is not given).",
)
@handles_errors
def serve(
    handler: str,
    endpoint: str | None,
    min_workers: int,
    max_workers: int | None,
    concurrency: int,
    idle_timeout: float,
    reload: bool,
    data_dir: str,
    **kwargs: Any,
) -> None:
    """Serve HANDLER: a job server plus worker processes scaled by queue depth."""
    from pitstop.supervisor import serve as run_serve

    srv = server_config(_pop_server_values(kwargs))
    sup = SupervisorConfig(
        handler_path=handler,
        endpoint_id=endpoint or Path(handler).stem,
        worker_key=srv.worker_keys[0] if srv.worker_keys else "",
        min_workers=min_workers,
        max_workers=_max_workers(min_workers, max_workers),
        concurrency=concurrency,
        idle_timeout=idle_timeout,
        reload=reload,
        data_dir=data_dir,
    )
    click.get_current_context().exit(run_serve(sup, srv))


def _max_workers(min_workers: int, max_workers: int | None) -> int:
    if max_workers is None:
        return max(1, min_workers)
    if max_workers < min_workers:
        raise click.BadParameter(
            f"{max_workers} is below --min-workers {min_workers}", param_hint="--max-workers"
        )
    return max_workers


@main.command()
@click.argument("handler", type=click.Path(exists=True, dir_okay=False))
@click.option("--url", "server_url", help="Server URL  [default: the global --url]")
@click.option("--endpoint", help="Endpoint id  [default: the handler file's name]")
@click.option("--key", envvar="PITSTOP_WORKER_KEY", default="", help="Worker key.")
@click.option("-n", "--workers", "count", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--concurrency", type=click.IntRange(min=1), default=_SUP_DEFAULTS.concurrency)
@handles_errors
def worker(
    handler: str,
    server_url: str | None,
    endpoint: str | None,
    key: str,
    count: int,
    concurrency: int,
) -> None:
    """Run N worker processes for HANDLER against a remote server."""
    from pitstop.supervisor import run_workers

    sup = SupervisorConfig(
        handler_path=handler,
        endpoint_id=endpoint or Path(handler).stem,
        server_url=server_url or current_settings().url,
        worker_key=key,
        min_workers=count,
        max_workers=count,
        concurrency=concurrency,
    )
    click.get_current_context().exit(run_workers(sup))
