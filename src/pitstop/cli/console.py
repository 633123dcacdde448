"""The CLI's console commands: ``jobs``, ``timeline``, ``workers`` (what the dashboard shows).

Each reads one ``/pitstop/v1`` route through :mod:`pitstop.client` and prints a table, or the
route's JSON document with ``--json``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import click

from pitstop.cli.client import _client, client_options
from pitstop.cli.output import EXIT_CODES_HELP, current_settings, emit, handles_errors
from pitstop.readings import gpu_reading

STATUSES = ("IN_QUEUE", "IN_PROGRESS", "COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT")


def clock(at: Any) -> str:
    """A UNIX time as local ``YYYY-MM-DD HH:MM:SS`` (``-`` for none)."""
    if at is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(at)))


def millis(ms: Any) -> str:
    """Milliseconds as ``85ms`` / ``3.2s`` / ``4m03s`` (``-`` for none)."""
    if ms is None:
        return "-"
    value = float(ms)
    if value < 1000:
        return f"{value:.0f}ms"
    if value < 60_000:
        return f"{value / 1000:.1f}s"
    minutes, seconds = divmod(int(value / 1000), 60)
    return f"{minutes}m{seconds:02d}s"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns separated by two spaces."""
    widths = [max(len(str(r[i])) for r in (header, *rows)) for i in range(len(header))]
    lines = [
        "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True))
        for row in (header, *rows)
    ]
    return "\n".join(line.rstrip() for line in lines)


def jobs_text(body: Mapping[str, Any]) -> str:
    """A job page as a table, with the command for the next page."""
    rows = [
        (
            j["id"],
            j["status"],
            clock(j.get("createdAt")),
            millis(j.get("delayTime")),
            millis(j.get("executionTime")),
            j.get("workerId") or "-",
        )
        for j in body.get("jobs", [])
    ]
    if not rows:
        return "no jobs"
    text = table(("ID", "STATUS", "SUBMITTED", "DELAY", "EXECUTION", "WORKER"), rows)
    if body.get("older") is not None:
        text += f"\n(more: --before {body['older']})"
    return text


@click.command(epilog=EXIT_CODES_HELP)
@click.argument("endpoint")
@click.option(
    "--status", type=click.Choice(STATUSES, case_sensitive=False), help="Only this status."
)
@click.option("--limit", type=click.IntRange(1, 500), default=20, show_default=True)
@click.option("--before", type=int, metavar="CURSOR", help="Older than this cursor (paging).")
@client_options
@handles_errors
def jobs(endpoint: str, status: str | None, limit: int, before: int | None) -> None:
    """List ENDPOINT's jobs, newest first."""
    settings = current_settings()
    page = _client(settings).job_page(endpoint, status.upper() if status else None, limit, before)
    emit(settings, page, jobs_text(page))


def timeline_text(body: Mapping[str, Any]) -> str:
    """A timeline as lines: time, offset from submission, event, time until the next one."""
    rows = [
        (clock(e["at"]), f"+{millis(e.get('offsetMs'))}", e["text"], millis(e.get("durationMs")))
        for e in body.get("events", [])
    ]
    head = f"{body.get('id', '?')} {body.get('status', '?')}"
    return head + "\n" + table(("TIME", "SINCE SUBMIT", "EVENT", "TOOK"), rows)


@click.command(epilog=EXIT_CODES_HELP)
@click.argument("job_id")
@client_options
@handles_errors
def timeline(job_id: str) -> None:
    """Show what happened to a job: submitted, taken, progress, finished, webhooks..."""
    settings = current_settings()
    body = _client(settings).timeline(job_id)
    emit(settings, body, timeline_text(body))


def workers_text(body: Mapping[str, Any]) -> str:
    """Workers as a table."""
    rows = [
        (
            w["id"],
            w["endpoint"],
            w["state"],
            ",".join(w.get("jobs") or []) or "-",
            f"{w['pid']}@{w.get('host') or '?'}" if w.get("pid") else "-",
            clock(w.get("lastSeen")),
            "-" if w.get("restarts") is None else str(w["restarts"]),
            "; ".join(map(gpu_reading, w.get("gpuDevices") or ())) or "-",
        )
        for w in body.get("workers", [])
    ]
    if not rows:
        return "no workers seen in the last hour"
    header = ("ID", "ENDPOINT", "STATE", "JOBS", "PROCESS", "LAST PING", "RESTARTS", "GPUS")
    return table(header, rows)


@click.command(epilog=EXIT_CODES_HELP)
@click.argument("endpoint", required=False)
@client_options
@handles_errors
def workers(endpoint: str | None) -> None:
    """List workers seen in the last hour (of ENDPOINT, or all)."""
    settings = current_settings()
    body = _client(settings).workers(endpoint)
    emit(settings, body, workers_text(body))


CONSOLE_COMMANDS = (jobs, timeline, workers)
