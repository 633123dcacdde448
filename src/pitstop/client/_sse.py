"""The sans-I/O half of ``job.stream()`` over Server-Sent Events: parsing, resuming, retrying.

A pitstop server answers ``GET /v2/{ep}/stream/{id}`` with ``Accept: text/event-stream`` as
an event stream: one event per chunk (``id:`` its sequence number, ``data: {"output": ...}``),
``: keep-alive`` comments, and a final ``event: status`` carrying the terminal status body.
:class:`SseFollower` keeps what one ``stream()`` needs across connections: the id of the last
chunk it yielded (sent back as ``Last-Event-ID`` after a dropped connection, so the server
resumes after it: nothing lost, nothing repeated) and the terminal status. A half-received
event is discarded on reconnect and comes again. A server that answers anything but
``text/event-stream`` (RunPod, an older pitstop) gets JSON polling instead, starting with the
JSON page it just sent (that read already consumed its chunks).

Why not ``httpx-sse``: the events this client reads need one small line parser (below) on
top of httpx's own ``iter_lines`` / ``aiter_lines``; the package would add a dependency to
every install for what is ~40 lines here, and the reconnect logic (the part that matters) is
ours either way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx

from pitstop.client._core import Call, Deadline, RetryPolicy, transport_error
from pitstop.errors import ServerError
from pitstop.models import JSON

MEDIA_TYPE = "text/event-stream"


@dataclass
class Event:
    """One dispatched event: its ``event`` type ("" = message), ``id`` and joined ``data``."""

    event: str = ""
    id: str | None = None
    data: list[str] = field(default_factory=list)


class EventParser:
    """The SSE line format (WHATWG): ``field: value`` lines, a blank line ends an event,
    ``:`` starts a comment. Lines come without their terminators (httpx splits them)."""

    def __init__(self) -> None:
        self._event = Event()

    def feed(self, line: str) -> Event | None:
        """Take one line; return the event a blank line completes (None otherwise)."""
        if not line:
            event, self._event = self._event, Event()
            return event if event.data or event.event else None
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._event.data.append(value)
        elif name == "event":
            self._event.event = value
        elif name == "id" and "\0" not in value:
            self._event.id = value
        return None


def is_event_stream(response: httpx.Response) -> bool:
    """True when the server answered with an event stream (it speaks pitstop's SSE)."""
    content_type: str = response.headers.get("content-type", "")
    return content_type.startswith(MEDIA_TYPE)


def _loads(data: list[str]) -> dict[str, Any]:
    try:
        value = json.loads("\n".join(data))
    except ValueError:
        raise ServerError("server sent an event with invalid JSON data") from None
    if not isinstance(value, dict):
        raise ServerError("server sent an event whose data is not a JSON object")
    return value


class SseFollower:
    """One ``stream()``'s state across connections (see the module docstring)."""

    def __init__(self, job_id: str, call: Call, policy: RetryPolicy, deadline: Deadline) -> None:
        self.job_id = job_id
        self.call = call
        self.policy = policy
        self.deadline = deadline
        self.last_id: str | None = None
        self.final: dict[str, Any] | None = None
        self._parser = EventParser()
        self._failures = 0

    def request_headers(self) -> dict[str, str]:
        """``Accept`` and, when resuming, ``Last-Event-ID``; also starts a fresh parse."""
        self._parser = EventParser()
        headers = {"Accept": MEDIA_TYPE, "Cache-Control": "no-cache"}
        if self.last_id is not None:
            headers["Last-Event-ID"] = self.last_id
        return headers

    def timeout(self, base: float) -> httpx.Timeout:
        """Read timeout: the client's, cut to what is left of the caller's wait."""
        left = self.deadline.remaining()
        read = base if left is None else max(0.001, min(base, left))
        return httpx.Timeout(read, connect=base)

    def feed(self, line: str) -> list[JSON]:
        """The chunk output a line completes (0 or 1 of them); a status event sets ``final``."""
        event = self._parser.feed(line)
        if event is None:
            return []
        self._failures = 0
        body = _loads(event.data)
        if event.event == "status":
            self.final = body
            return []
        if event.event not in ("", "message"):
            return []
        if event.id is not None:
            self.last_id = event.id
        return [body.get("output")]

    def after_failure(self, exc: httpx.TransportError) -> float:
        """The pause before reconnecting after a dropped or failed connection; raises
        ``WaitTimeout`` past the caller's deadline, ``TransportError`` when out of retries."""
        if self.deadline.expired():
            raise self.deadline.give_up(self.job_id) from exc
        retry = self.policy.after_exception(exc, self.call, self._failures)
        if retry is None:
            raise transport_error(exc, self.call) from exc
        self._failures += 1
        return retry.delay

    def after_refusal(self, response: httpx.Response) -> float | None:
        """The pause before asking again after an error answer (503...), or None."""
        retry = self.policy.after_response(response, self.call, self._failures)
        if retry is None:
            return None
        self._failures += 1
        return retry.delay

    def ended_early(self) -> float:
        """The stream closed without a status event (the server stopping): reconnect."""
        return self.after_failure(httpx.RemoteProtocolError("event stream ended early"))
