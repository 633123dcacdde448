"""What ``pitstop serve`` prints once it is ready: the endpoint URL and lines to paste."""

from __future__ import annotations

import shlex

from pitstop.config import SupervisorConfig
from pitstop.supervisor.preflight import default_endpoint_id, named_after_folder

SAMPLE_INPUT = '{"prompt": "hello"}'


def worker_count(sup: SupervisorConfig) -> str:
    """``2`` for a fixed pool, ``0-4`` for a scaled one."""
    if sup.min_workers == sup.max_workers:
        return str(sup.min_workers)
    return f"{sup.min_workers}-{sup.max_workers}"


def endpoint_note(sup: SupervisorConfig) -> str:
    """`` (named after its folder; --endpoint sets another)`` when that is where it came from."""
    path = sup.handler_path
    if named_after_folder(path) and sup.endpoint_id == default_endpoint_id(path):
        return " (named after its folder; --endpoint sets another)"
    return ""


def banner_lines(sup: SupervisorConfig, base_url: str, client_key: str | None) -> list[str]:
    """Lines naming the endpoint URL, a ``curl`` and a ``pitstop submit`` that call it."""
    endpoint_url = f"{base_url}/v2/{sup.endpoint_id}"
    workers = worker_count(sup)
    body = '{"input": ' + SAMPLE_INPUT + "}"
    auth = f" -H {shlex.quote('Authorization: Bearer ' + client_key)}" if client_key else ""
    key_flag = f" --api-key {shlex.quote(client_key)}" if client_key else ""
    return [
        f"pitstop | serving {sup.handler_path} as endpoint '{sup.endpoint_id}'"
        f"{endpoint_note(sup)} with {workers} worker(s) x concurrency {sup.concurrency}",
        f"pitstop | endpoint: {endpoint_url}",
        "pitstop | call it with:",
        f"  curl -s -X POST {endpoint_url}/runsync"
        f" -H 'Content-Type: application/json'{auth} -d {shlex.quote(body)}",
        f"  pitstop submit {sup.endpoint_id} --input {shlex.quote(SAMPLE_INPUT)} --sync"
        f" --url {base_url}{key_flag}",
        "pitstop | press Ctrl-C to drain and stop (twice to stop at once)",
    ]
