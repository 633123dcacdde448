"""The ``pitstop`` command line: run a server, a handler with its workers, or talk to a server.

Thin by design: every flag maps onto one config field (``ServerConfig``,
``SupervisorConfig``) and every client command onto one :mod:`pitstop.client` call. Flags
left out keep the value from the environment (``PITSTOP_*``) or the config default. Nothing
heavy is imported until a command runs, so ``pitstop --help`` is instant.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Mapping
from typing import Any, TypeVar

import click

from pitstop import __version__
from pitstop.cli.client import COMMANDS
from pitstop.cli.config_file import DEFAULT_NAME, find_config
from pitstop.cli.console import CONSOLE_COMMANDS
from pitstop.cli.output import EXIT_CODES_HELP, Settings, current_settings, handles_errors
from pitstop.cli.worker_env import worker_env
from pitstop.config import ServerConfig, SupervisorConfig
from pitstop.errors import ConfigError
from pitstop.models import MAX_POLICY_MS

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
    Flag("--endpoint-key", "endpoint_keys", str, "EP=KEY: key for one endpoint.", multiple=True),
    Flag("--api-key-file", "api_key_file", str, "File of client keys, one a line."),
    Flag("--worker-key-file", "worker_key_file", str, "File of worker keys, one a line."),
    Flag("--endpoint-key-file", "endpoint_key_file", str, "File of ENDPOINT=KEY lines."),
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
    Flag(
        "--endpoint-execution-timeout",
        "endpoint_execution_timeouts",
        str,
        "EP=MS: execution timeout of one endpoint's jobs (ms).",
        multiple=True,
    ),
    Flag("--ttl-ms", "default_ttl_ms", int, "Default job TTL from submission (ms)."),
    Flag("--max-run-body", "max_run_body", int, "Largest /run body (bytes)."),
    Flag("--max-runsync-body", "max_runsync_body", int, "Largest /runsync body (bytes)."),
    Flag("--max-worker-body", "max_worker_body", int, "Largest worker POST body (bytes)."),
    Flag("--max-queue", "max_queue", int, "Queued jobs per endpoint before /run answers 429."),
    Flag("--max-inflight-bytes", "max_inflight_bytes", int, "Body bytes held at once (503)."),
    Flag("--header-timeout", "header_timeout", float, "Seconds to send a request head."),
    Flag("--keep-alive-timeout", "keep_alive_timeout", float, "Idle keep-alive seconds."),
    Flag("--max-connections", "max_connections", int, "Open connections (default: by ulimit)."),
    Flag("--worker-seen", "worker_seen_s", float, "Seconds a worker counts in /health."),
    Flag("--webhook-timeout", "webhook_timeout", float, "Seconds per webhook call."),
    Flag("--webhook-attempts", "webhook_attempts", int, "Webhook calls before giving up."),
    Flag("--webhook-backoff", "webhook_backoff", float, "Seconds between webhook calls."),
    Flag(
        "--webhook-allow", "webhook_allow", str, "Internal HOST|CIDR for webhooks.", multiple=True
    ),
    Flag("--webhook-secret", "webhook_secret", str, "Sign webhooks (whsec_...)."),
    Flag("--sse-heartbeat", "sse_heartbeat", float, "Seconds between SSE keep-alives."),
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


SERVE_FLAGS = (
    "--host",
    "--port",
    "--store",
    "--api-key",
    "--worker-key",
    "--endpoint-key",
    "--api-key-file",
    "--worker-key-file",
    "--endpoint-key-file",
    "--webhook-allow",
    "--no-dashboard",
)


def _seconds(name: str, default: float, help_text: str) -> Callable[[F], F]:
    return click.option(
        name, type=click.FloatRange(min=0), default=default, show_default=True, help=help_text
    )


class DashArgs(click.Command):
    """Takes ``-- ARGS`` off before click parses, so several handler files can come first."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if "--" in args:
            split = args.index("--")
            ctx.meta["handler_args"] = tuple(args[split + 1 :])
            args = args[:split]
        return super().parse_args(ctx, args)


def worker_flags(fn: F) -> F:
    """The options ``serve`` and ``worker`` share (each maps onto a ``SupervisorConfig``
    field, and onto a key of the config file)."""
    options = (
        click.option(
            "--endpoint",
            default="",
            help="Endpoint id  [default: the file's name; its folder's for handler.py, "
            "main.py, rp_handler.py, app.py, worker.py]",
        ),
        click.option(
            "--concurrency", type=click.IntRange(min=1), default=_SUP_DEFAULTS.concurrency
        ),
        _seconds(
            "--drain-timeout",
            _SUP_DEFAULTS.drain_timeout,
            "Seconds a stopping worker and its child processes get before SIGKILL.",
        ),
        _seconds(
            "--max-backoff",
            _SUP_DEFAULTS.restart_backoff_max,
            "Longest wait in seconds before restarting a worker that keeps crashing.",
        ),
        click.option(
            "--env", multiple=True, metavar="NAME=VALUE", help="Set in every worker (repeatable)."
        ),
        click.option(
            "--gpus",
            default=_SUP_DEFAULTS.gpus,
            show_default=True,
            help="GPUs for the workers: all (as NVML reports), none, or a list like 0,1,2,3.",
        ),
        click.option(
            "--gpus-per-worker",
            type=click.IntRange(min=1),
            default=_SUP_DEFAULTS.gpus_per_worker,
            show_default=True,
            help="GPUs each worker gets to itself (CUDA_VISIBLE_DEVICES).",
        ),
        click.option(
            "--gpu-telemetry-interval",
            type=click.FloatRange(min=0.1),
            default=_SUP_DEFAULTS.gpu_telemetry_interval,
            show_default=True,
            help="Seconds between readings of the workers' GPUs (with NVML).",
        ),
    )
    for option in reversed(options):
        fn = option(fn)
    return fn


SUP_FIELDS = {
    "handler": "handler_path",
    "args": "handler_args",
    "endpoint": "endpoint_id",
    "max_backoff": "restart_backoff_max",
    "env": "handler_env",
}
"""Option (and config file key) names that differ from their ``SupervisorConfig`` field."""


def supervisor_config(values: Mapping[str, Any], **extra: Any) -> SupervisorConfig:
    """A ``SupervisorConfig`` from option values keyed by option name."""
    fields = {SUP_FIELDS.get(name, name): value for name, value in {**values, **extra}.items()}
    if "min_workers" in fields:
        fields["max_workers"] = _max_workers(fields["min_workers"], fields.get("max_workers"))
    fields["handler_args"] = tuple(fields.get("handler_args", ()))
    fields["handler_env"] = tuple(fields.get("handler_env", ()))
    return SupervisorConfig(**fields)


def _handler_args() -> tuple[str, ...]:
    meta: tuple[str, ...] = click.get_current_context().meta.get("handler_args", ())
    return meta


@main.command(cls=DashArgs)
@click.argument("handlers", nargs=-1, type=click.Path(), metavar="[HANDLER]... [-- ARGS]...")
@worker_flags
@server_flags(SERVE_FLAGS)
@click.option("--min-workers", type=click.IntRange(min=0), default=_SUP_DEFAULTS.min_workers)
@click.option("--max-workers", type=click.IntRange(min=1), help="[default: max(1, min)]")
@click.option(
    "--idle-timeout",
    type=click.FloatRange(min=0),
    default=_SUP_DEFAULTS.idle_timeout,
    show_default=True,
    help="Seconds without jobs before scaling down towards --min-workers.",
)
@click.option(
    "--execution-timeout-ms",
    type=click.IntRange(min=1, max=MAX_POLICY_MS),
    help="Execution timeout of the endpoint's jobs that set no policy.executionTimeout "
    "(ms)  [default: the server's, 600000]",
)
@click.option("--reload", is_flag=True, help="Restart workers when the handler file changes.")
@click.option(
    "--data-dir",
    default=_SUP_DEFAULTS.data_dir,
    show_default=True,
    help="Where the default SQLite store lives (when --store is not given).",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help=f"Config file of the server and endpoints  [default: ./{DEFAULT_NAME} if present]",
)
@click.option("--check", is_flag=True, help="Validate the configuration; start nothing.")
@handles_errors
def serve(handlers: tuple[str, ...], config_path: str | None, check: bool, **kwargs: Any) -> None:
    """Serve HANDLER files: a job server plus worker processes scaled by queue depth.

    Each file is an endpoint with its own workers; without one, the config file says what
    to serve (flags given here override it). Arguments after -- reach every worker process
    as sys.argv[1:].
    """
    from pitstop.cli.serve_config import check_report, file_configs
    from pitstop.supervisor import serve as run_serve

    srv_values = _pop_server_values(kwargs)
    path = None if handlers and not config_path else find_config(config_path)
    if handlers and path is not None:
        raise ConfigError("give handler files or --config, not both")
    if path is not None:
        sups, srv = file_configs(path, kwargs, srv_values)
    elif not handlers:
        raise ConfigError(f"no handler file given (and no {DEFAULT_NAME} here)")
    else:
        srv = server_config(srv_values)
        key = srv.worker_keys[0] if srv.worker_keys else ""
        values = {**kwargs, "args": _handler_args()}
        sups = [supervisor_config(values, handler=h, worker_key=key) for h in handlers]
    if check:
        click.echo(check_report(sups, srv, path))
        return
    click.get_current_context().exit(run_serve(sups, srv))


def _max_workers(min_workers: int, max_workers: int | None) -> int:
    if max_workers is None:
        return max(1, min_workers)
    if max_workers < min_workers:
        raise click.BadParameter(
            f"{max_workers} is below --min-workers {min_workers}", param_hint="--max-workers"
        )
    return max_workers


@main.command(cls=DashArgs)
@click.argument("handler", type=click.Path(), metavar="HANDLER [-- ARGS]...")
@worker_flags
@click.option("--url", "server_url", help="Server URL  [default: the global --url]")
@click.option("--key", envvar="PITSTOP_WORKER_KEY", default="", help="Worker key.")
@click.option("-n", "--workers", "count", type=click.IntRange(min=1), default=1, show_default=True)
@handles_errors
def worker(handler: str, server_url: str | None, key: str, count: int, **kwargs: Any) -> None:
    """Run N worker processes for HANDLER against a remote server.

    Arguments after -- reach every worker process as sys.argv[1:].
    """
    from pitstop.supervisor import run_workers

    sup = supervisor_config(
        {**kwargs, "args": _handler_args()},
        handler=handler,
        server_url=server_url or current_settings().url,
        worker_key=key,
        min_workers=count,
        max_workers=count,
    )
    click.get_current_context().exit(run_workers(sup))
