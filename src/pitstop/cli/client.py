"""The CLI's client commands: ``submit``, ``status``, ``cancel``, ``retry``, ``health``,
``logs``, ``purge``. Thin wrappers over :mod:`pitstop.client`, imported only when a command
runs so that ``pitstop --help`` stays fast.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import click

from pitstop.cli.output import (
    EXIT_CODES_HELP,
    EXIT_OK,
    ProgressLine,
    Settings,
    current_settings,
    emit,
    emit_json,
    exit_for_status,
    handles_errors,
    render,
    status_text,
)
from pitstop.readings import gpu_reading

if TYPE_CHECKING:
    from pitstop.client import Client, Endpoint

F = TypeVar("F", bound=Callable[..., Any])


def _override(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """Let ``--url`` / ``--api-key`` / ``--json`` also follow the command name."""
    if value is not None and value is not False and param.name is not None:
        setattr(ctx.ensure_object(Settings), param.name, value)
    return value


def client_options(fn: F) -> F:
    """The shared options, accepted after the command too (``pitstop status --json ...``)."""
    options = [
        click.option("--url", expose_value=False, callback=_override, help="Server URL."),
        click.option("--api-key", expose_value=False, callback=_override, help="Client key."),
        click.option(
            "--json",
            "json",
            is_flag=True,
            expose_value=False,
            callback=_override,
            help="Print one JSON document (for scripts).",
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _client(settings: Settings) -> Client:
    from pitstop.client import Client

    client = Client(settings.url, settings.api_key)
    click.get_current_context().call_on_close(client.close)
    return client


def _endpoint(settings: Settings, endpoint_id: str) -> Endpoint:
    return _client(settings).endpoint(endpoint_id)


def _finish(code: int) -> None:
    if code != EXIT_OK:
        click.get_current_context().exit(code)


def load_json(value: str | None, option: str) -> Any:
    """Parse an option that is JSON text, ``@file`` or ``@-`` (stdin)."""
    if value is None:
        return None
    text = value
    if value.startswith("@"):
        text = _read_source(value[1:], option)
    try:
        return json.loads(text)
    except ValueError as exc:
        raise click.BadParameter(f"not valid JSON: {exc}", param_hint=option) from None


def _read_source(path: str, option: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except OSError as exc:
        raise click.BadParameter(
            f"cannot read {path!r}: {exc.strerror}", param_hint=option
        ) from None


def _line(value: Any) -> str:
    """One streamed chunk per line: strings as they are, anything else as compact JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


# ---------------------------------------------------------------------------- submit


@click.command(epilog=EXIT_CODES_HELP)
@click.argument("endpoint")
@click.option("--input", "input_text", required=True, metavar="JSON|@FILE", help="Job input.")
@click.option("--sync", is_flag=True, help="Wait for the result and print its output.")
@click.option("--stream", is_flag=True, help="Print streamed outputs as they arrive.")
@click.option("--webhook", metavar="URL", help="URL the server POSTs the result to.")
@click.option("--policy", "policy_text", metavar="JSON|@FILE", help="RunPod policy object.")
@click.option(
    "--idempotency-key",
    metavar="KEY",
    help="Your key for this submission: the same key returns the same job (default: fresh).",
)
@click.option(
    "--wait",
    type=click.FloatRange(min=0),
    metavar="SECONDS",
    help="Give up waiting after this long (implies --sync unless --stream).",
)
@client_options
@handles_errors
def submit(
    endpoint: str,
    input_text: str,
    sync: bool,
    stream: bool,
    webhook: str | None,
    policy_text: str | None,
    idempotency_key: str | None,
    wait: float | None,
) -> None:
    """Submit a job to ENDPOINT; print its id, or (--sync/--stream) its result.

    Every submit carries an Idempotency-Key, so a submit whose answer was lost is sent
    again safely; --stream follows the job's Server-Sent Events on a pitstop server."""
    from pitstop.client._core import submit_body

    if sync and stream:
        raise click.UsageError("--sync and --stream are mutually exclusive")
    body = submit_body(
        load_json(input_text, "--input"), webhook=webhook, policy=load_json(policy_text, "--policy")
    )
    settings = current_settings()
    ep = _endpoint(settings, endpoint)
    if stream:
        _submit_stream(settings, ep, body, wait, idempotency_key)
    elif sync or wait is not None:
        _submit_sync(settings, ep, body, wait, idempotency_key)
    else:
        job = ep.submit(body, idempotency_key=idempotency_key)
        answer = job.last or {"id": job.id}
        emit(settings, answer, f"{job.id} {answer.get('status', '')}".rstrip())


def _submit_sync(
    settings: Settings, ep: Endpoint, body: Mapping[str, Any], wait: float | None, key: str | None
) -> None:
    progress = ProgressLine.for_settings(settings)
    try:
        final = ep.submit_sync(
            body,
            timeout=wait,
            on_update=progress.update,
            poll_wait=1.0 if progress.enabled else None,
            idempotency_key=key,
        )
    finally:
        progress.clear()
    _print_final(settings, final)


def _print_final(settings: Settings, final: Mapping[str, Any]) -> None:
    if settings.json:
        emit_json(final)
    elif final.get("status") == "COMPLETED":
        if final.get("output") is not None:
            click.echo(render(final["output"]))
    else:
        click.echo(status_text(final), err=True)
    _finish(exit_for_status(final.get("status")))


def _submit_stream(
    settings: Settings, ep: Endpoint, body: Mapping[str, Any], wait: float | None, key: str | None
) -> None:
    from pitstop.client._core import is_terminal

    job = ep.submit(body, idempotency_key=key)
    chunks: list[Any] = []
    for item in job.stream(timeout=wait):
        if settings.json:
            chunks.append(item)
        else:
            click.echo(_line(item))
    final = job.last if job.last is not None and is_terminal(job.last) else job.status()
    if settings.json:
        emit_json({**final, "stream": chunks})
    elif final.get("status") != "COMPLETED":
        click.echo(status_text(final), err=True)
    _finish(exit_for_status(final.get("status")))


# ---------------------------------------------------------------------------- per job


@click.command(epilog=EXIT_CODES_HELP)
@click.argument("endpoint")
@click.argument("job_id")
@client_options
@handles_errors
def status(endpoint: str, job_id: str) -> None:
    """Show a job's status, progress, output or error (exit 1 if it FAILED/...)."""
    settings = current_settings()
    body = _endpoint(settings, endpoint).status(job_id)
    emit(settings, body, status_text(body))
    _finish(exit_for_status(body.get("status")))


@click.command(epilog=EXIT_CODES_HELP)
@click.argument("endpoint")
@click.argument("job_id")
@client_options
@handles_errors
def cancel(endpoint: str, job_id: str) -> None:
    """Cancel a queued or running job."""
    settings = current_settings()
    body = _endpoint(settings, endpoint).cancel(job_id)
    emit(settings, body, f"{body.get('id', job_id)} {body.get('status', '')}".rstrip())


@click.command(epilog=EXIT_CODES_HELP)
@click.argument("endpoint")
@click.argument("job_id")
@client_options
@handles_errors
def retry(endpoint: str, job_id: str) -> None:
    """Requeue a FAILED or TIMED_OUT job under the same id."""
    settings = current_settings()
    body = _endpoint(settings, endpoint).retry(job_id)
    emit(settings, body, f"{body.get('id', job_id)} {body.get('status', '')}".rstrip())


@click.command(epilog=EXIT_CODES_HELP)
@click.argument("job_id")
@click.option("--follow", "-f", is_flag=True, help="Keep printing until the job ends.")
@client_options
@handles_errors
def logs(job_id: str, follow: bool) -> None:
    """Print the lines a job's handler wrote (stdout, stderr and logging)."""
    settings = current_settings()
    lines = _client(settings).iter_logs(job_id, follow=follow)
    if settings.json:
        emit_json({"id": job_id, "lines": list(lines)})
        return
    for line in lines:
        text = str(line.get("text", ""))
        click.echo(text, nl=not text.endswith("\n"))


# ---------------------------------------------------------------------------- per endpoint


def health_text(body: Mapping[str, Any]) -> str:
    """``/health`` counters on two lines, a line per GPU of the live workers, then one
    line per unhealthy worker."""
    rows = []
    for group in ("jobs", "workers"):
        counts = body.get(group) or {}
        pairs = " ".join(f"{name}={value}" for name, value in counts.items())
        rows.append(f"{group + ':':9}{pairs}")
    for row in body.get("gpus") or ():
        rows.append(f"{'gpu:':9}{gpu_reading(row)} (worker {row.get('workerId')})")
    for worker in body.get("unhealthyWorkers") or ():
        code = worker.get("exitCode")
        why = [f"exit {code}" if code is not None else worker.get("check") or "unhealthy"]
        why += [worker["error"]] if worker.get("error") else []
        rows.append(f"unhealthy worker {worker.get('id')}: {': '.join(why)}")
    return "\n".join(rows)


def _unhealthy_workers(client: Client, endpoint: str) -> list[dict[str, Any]]:
    """pitstop's details of the unhealthy workers (none from a server without that route)."""
    from pitstop.errors import ApiError, TransportError

    try:
        workers = client.endpoint_workers(endpoint).get("workers") or []
    except (ApiError, TransportError, AttributeError):
        return []
    return [w for w in workers if isinstance(w, dict) and w.get("status") == "unhealthy"]


@click.command(epilog=EXIT_CODES_HELP)
@click.argument("endpoint")
@client_options
@handles_errors
def health(endpoint: str) -> None:
    """Show an endpoint's job and worker counters, and why unhealthy workers are."""
    settings = current_settings()
    client = _client(settings)
    body = client.endpoint(endpoint).health()
    if (body.get("workers") or {}).get("unhealthy"):
        body["unhealthyWorkers"] = _unhealthy_workers(client, endpoint)
    emit(settings, body, health_text(body))


@click.command(epilog=EXIT_CODES_HELP)
@click.argument("endpoint")
@client_options
@handles_errors
def purge(endpoint: str) -> None:
    """Drop every queued (not running) job of an endpoint."""
    settings = current_settings()
    body = _endpoint(settings, endpoint).purge_queue()
    emit(settings, body, f"removed {body.get('removed', 0)} queued job(s)")


COMMANDS = (submit, status, cancel, retry, health, logs, purge)
