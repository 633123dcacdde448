"""``pitstop worker-env``: the environment that runs an official-SDK worker against pitstop.

A worker image built for RunPod (the official ``runpod`` package inside) needs no change to
take jobs from a pitstop server: RunPod's platform gives it ``RUNPOD_WEBHOOK_*`` URLs, a key and
a pod id, and this command prints the same for a pitstop server, as shell lines (quoted, so
``$ID`` stays literal for the SDK to fill in) or as a ``docker run --env-file`` file.
"""

from __future__ import annotations

import secrets
import shlex

import click

from pitstop.cli.client import client_options
from pitstop.cli.output import current_settings, emit_json, handles_errors


def worker_variables(url: str, endpoint: str, worker_id: str, key: str) -> dict[str, str]:
    """RunPod's worker variables for one worker of ``endpoint`` on the server at ``url``."""
    from pitstop.server.urls import worker_env

    variables = worker_env(url, endpoint, worker_id, key)
    variables["RUNPOD_ENDPOINT_ID"] = endpoint
    return variables


def render_lines(variables: dict[str, str], fmt: str) -> str:
    """``export K='v'`` lines (``shell``) or ``K=v`` lines (``docker``, no expansion there)."""
    if fmt == "docker":
        return "\n".join(f"{name}={value}" for name, value in variables.items())
    return "\n".join(f"export {name}={shlex.quote(value)}" for name, value in variables.items())


@click.command("worker-env")
@click.argument("endpoint")
@click.option("--key", envvar="PITSTOP_WORKER_KEY", default="", help="Worker key.")
@click.option("--worker-id", help="RUNPOD_POD_ID  [default: a new random id]")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["shell", "docker"]),
    default="shell",
    show_default=True,
    help="shell: export lines to source; docker: a file for `docker run --env-file`.",
)
@client_options
@handles_errors
def worker_env(endpoint: str, key: str, worker_id: str | None, fmt: str) -> None:
    """Print the RUNPOD_WEBHOOK_* lines that point an official-SDK worker at this server.

    \b
    Each worker needs its own RUNPOD_POD_ID: run the command once per worker.
      eval "$(pitstop worker-env hello --url http://gpu-box:8000 --key KEY)"
      python handler.py      # the official runpod SDK, unchanged
    """
    settings = current_settings()
    variables = worker_variables(settings.url, endpoint, worker_id or _new_id(), key)
    if settings.json:
        emit_json(variables)
        return
    click.echo(f"# official runpod worker -> {settings.url}, endpoint {endpoint}")
    click.echo(render_lines(variables, fmt))


def _new_id() -> str:
    return f"w-{secrets.token_hex(4)}"
