"""``/stream/{id}`` as Server-Sent Events: resumable, any number of readers, no lost chunks.

RunPod's JSON ``/stream`` consumes a server-side cursor: one reader at a time, and a dropped
answer loses its chunks. A request with ``Accept: text/event-stream`` gets this instead::

    id: 0
    data: {"output": "first chunk"}

    : keep-alive                       (a comment every heartbeat while the job runs)

    event: status
    data: {"id": "...", "status": "COMPLETED", ...}   (the /status body; then the stream ends)

Each event's ``id`` is the chunk's sequence number. A reader that reconnects with
``Last-Event-ID: N`` resumes after chunk N. Readers replay from the stored chunks (kept for
the job's retention) and never touch the JSON readers' cursor, so SSE and JSON readers are
independent. Chunks are pushed within milliseconds: the reader waits on the job's wakeup key,
which every store notifies on every server sharing it.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import orjson
from starlette.requests import Request
from starlette.responses import StreamingResponse

from pitstop import __version__
from pitstop.errors import BadRequest
from pitstop.models import Chunk, Job
from pitstop.server.bodies import SERVER_HEADER
from pitstop.server.state import ServerState
from pitstop.server.views import status_body
from pitstop.storage.base import job_key

MEDIA_TYPE = "text/event-stream"


def wants_events(request: Request) -> bool:
    """True when the client asked for ``text/event-stream``."""
    return MEDIA_TYPE in request.headers.get("accept", "")


def resume_after(request: Request) -> int:
    """The chunk number in ``Last-Event-ID`` (-1 without one: start from the first chunk)."""
    raw = request.headers.get("last-event-id", "").strip()
    if not raw:
        return -1
    if not raw.isdigit() or len(raw) > 18:
        raise BadRequest("header 'Last-Event-ID' must be a chunk number (a non-negative integer)")
    return int(raw)


def _chunk_event(chunk: Chunk) -> bytes:
    data = orjson.dumps({"output": chunk.output}, option=orjson.OPT_NON_STR_KEYS)
    return b"id: %d\ndata: %s\n\n" % (chunk.seq, data)


def _status_event(job: Job) -> bytes:
    return b"event: status\ndata: %s\n\n" % orjson.dumps(status_body(job))


async def _events(
    state: ServerState, job_id: str, after: int, heartbeat_s: float
) -> AsyncIterator[bytes]:
    start = after + 1
    async with state.store.watch(job_key(job_id)) as watch:
        while True:
            found = await state.store.read_stream(job_id, start)
            if found is None:  # deleted after its retention while we followed it
                return
            job, chunks = found
            for chunk in chunks:
                yield _chunk_event(chunk)
                start = chunk.seq + 1
            if job.status.is_terminal:
                yield _status_event(job)
                return
            woke = await state.wait_until(watch, time.monotonic() + heartbeat_s)
            if woke is None:  # the server is stopping
                return
            if not woke:
                yield b": keep-alive\n\n"


def event_stream(state: ServerState, job: Job, after: int, heartbeat_s: float) -> StreamingResponse:
    """The SSE answer for ``job`` (already checked to belong to the endpoint)."""
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no", SERVER_HEADER: __version__}
    return StreamingResponse(
        _events(state, job.id, after, heartbeat_s), media_type=MEDIA_TYPE, headers=headers
    )
