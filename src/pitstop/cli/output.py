"""How the CLI talks back: readable text or one JSON document, a live progress line on a
TTY, and the exit codes every client command shares.

Exit codes: 0 success (job COMPLETED), 1 job FAILED / CANCELLED / TIMED_OUT, 2 usage error,
3 HTTP or connection error, 4 gave up waiting (the job may still finish).
Import-light on purpose (no httpx, no server): ``pitstop --help`` loads this module.
"""

from __future__ import annotations

import functools
import json
import shutil
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

import click

from pitstop.errors import ApiError, ConfigError, JobError, TransportError, WaitTimeout

EXIT_OK, EXIT_JOB, EXIT_USAGE, EXIT_API, EXIT_WAIT = 0, 1, 2, 3, 4

EXIT_CODES_HELP = (
    "Exit codes: 0 success (job COMPLETED); 1 job FAILED, CANCELLED or TIMED_OUT; "
    "2 usage error; 3 HTTP/API or connection error; 4 gave up waiting (--wait)."
)

FAILED_STATES = frozenset({"FAILED", "CANCELLED", "TIMED_OUT"})

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class Settings:
    """Options shared by the client commands (global, or repeated after the command)."""

    url: str = "http://127.0.0.1:8000"
    api_key: str | None = None
    json: bool = False


def exit_for_status(status: Any) -> int:
    """Exit code for a job state: 1 for FAILED / CANCELLED / TIMED_OUT, else 0."""
    return EXIT_JOB if status in FAILED_STATES else EXIT_OK


def render(value: Any) -> str:
    """A value for humans: strings as they are, everything else as indented JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def emit_json(document: Any) -> None:
    """Print the one JSON document a ``--json`` command writes to stdout."""
    click.echo(json.dumps(document, ensure_ascii=False, default=str))


def emit(settings: Settings, document: Any, text: str | None = None) -> None:
    """``document`` as JSON with ``--json``, else ``text`` (or the rendered document)."""
    if settings.json:
        emit_json(document)
    else:
        click.echo(render(document) if text is None else text)


def status_text(body: Mapping[str, Any]) -> str:
    """A status body for humans: ``<id> <STATUS>`` then output or error."""
    head = f"{body.get('id', '?')} {body.get('status', '?')}"
    lines = [head]
    if body.get("error") is not None:
        lines.append(f"error: {render(body['error'])}")
    if body.get("output") is not None:
        label = "output" if body.get("status") == "COMPLETED" else "progress"
        lines.append(f"{label}: {render(body['output'])}")
    return "\n".join(lines)


def report_error(settings: Settings, error: Exception, code: int) -> NoReturn:
    """An error on stderr (and as the JSON document with ``--json``) before exiting."""
    if settings.json:
        body: dict[str, Any] = {"message": str(error), "type": type(error).__name__}
        if isinstance(error, ApiError):
            body.update(code=error.code, status=error.status)
        emit_json({"error": body})
    click.echo(f"error: {error}", err=True)
    sys.exit(code)


def current_settings() -> Settings:
    """The :class:`Settings` of the running command (defaults outside a click context)."""
    ctx = click.get_current_context(silent=True)
    found = ctx.find_object(Settings) if ctx is not None else None
    return found or Settings()


def handles_errors(fn: F) -> F:
    """Decorator: map pitstop exceptions onto the documented exit codes."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (ApiError, TransportError) as exc:
            report_error(current_settings(), exc, EXIT_API)
        except WaitTimeout as exc:
            report_error(current_settings(), exc, EXIT_WAIT)
        except JobError as exc:
            report_error(current_settings(), exc, EXIT_JOB)
        except ConfigError as exc:
            report_error(current_settings(), exc, EXIT_USAGE)

    return wrapper  # type: ignore[return-value]


class ProgressLine:
    """One self-rewriting line on stderr while waiting: status, progress output, elapsed.

    Only on a TTY and never with ``--json``, so pipes and scripts see clean output.
    """

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.started = time.monotonic()
        self._shown = False

    @classmethod
    def for_settings(cls, settings: Settings) -> ProgressLine:
        return cls(not settings.json and sys.stderr.isatty())

    def update(self, body: Mapping[str, Any]) -> None:
        """Redraw the line from a non-terminal status body."""
        if not self.enabled:
            return
        elapsed = time.monotonic() - self.started
        line = f"{body.get('status', '?')}  {elapsed:6.1f}s"
        if body.get("output") is not None:
            progress = json.dumps(body["output"], ensure_ascii=False, default=str)
            line += f"  {progress}"
        width = shutil.get_terminal_size((80, 20)).columns - 1
        sys.stderr.write("\r\x1b[K" + line[:width])
        sys.stderr.flush()
        self._shown = True

    def clear(self) -> None:
        """Erase the line (before printing the result)."""
        if self._shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()
            self._shown = False
