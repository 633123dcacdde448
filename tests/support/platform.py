"""A recording fake of RunPod's worker-facing platform, for black-box worker tests.

``FakePlatform`` is a small HTTP/1.1 server on ``127.0.0.1:0`` running on its own thread and
event loop, so synchronous tests (which drive worker subprocesses) and async tests can both
use it. It records every request and serves RunPod's worker routes under ``/v2/{ep}/``:

* ``job-take/{wid}`` and ``job-take-batch/{wid}``: scripted replies first, otherwise jobs from
  the job queue (an object for ``job-take``, a list of up to ``batch_size`` for the batch
  route), otherwise the request is held up to ``take_hold`` seconds (a job added meanwhile
  answers it at once) and then answered 204.
* ``job-stop/{wid}``: scripted replies first, otherwise pending ids from ``stop_jobs()`` as
  ``{"jobsToStop": [...]}``, otherwise held up to ``stop_hold`` seconds, then 204.
* ``job-done/{wid}/{job}``, ``job-stream/{wid}/{job}``, ``job-log/{wid}/{job}`` (pitstop
  extension) and ``ping/{wid}``: scripted replies first, otherwise the route's default
  (200 ``{}`` unless changed with ``set_default``).
* anything else: 404.

API (all methods are thread-safe)::

    with FakePlatform(take_hold=0.2, stop_hold=0.2) as p:   # or p.start() / p.stop()
        p.url                        # "http://127.0.0.1:PORT"
        p.env(pod_id="pod1", ping_interval_ms=2000)   # RUNPOD_* env of spec §9's fixture
        p.add_jobs({"id": "j1", "input": {"x": 1}}, ...)  # served FIFO by job-take
        p.script("take", Reply(429), Reply(500))      # next replies of a route, FIFO
        p.script("done", Reply(500), job_id="j1")     # ... or of one job's requests
        p.set_default("done", Reply(500))             # reply used when nothing is scripted
        p.stop_jobs("a1", "zzz", 5)                   # next job-stop answers jobsToStop
        p.wait_for(lambda: p.results("j1"), timeout=5)  # poll until truthy, return it
        p.wait_count(p.pings, 3)      # at least 3 pings recorded; returns them
        p.requests                   # snapshot list[Recorded], arrival order
        p.takes(); p.stops(); p.pings(); p.results(job_id); p.progress(job_id)
        p.done_posts(job_id); p.stream_posts(job_id); p.log_posts(job_id); p.route(name)

Each request is a ``Recorded``: ``method``, ``target`` (path and query as sent), ``path``,
``query`` (list of pairs), ``headers`` (list of pairs), ``body`` (raw bytes), ``at``
(``time.monotonic()`` on arrival; comparable with other local processes' monotonic clock),
``route``, ``worker_id``, ``job_id``, ``status`` and ``answered_at`` (None until answered,
or for a dropped connection), plus ``header(name)``, ``param(name)``, ``json()`` and
``is_progress``. Routes are named ``take`` (both take routes), ``stop``, ``done``, ``stream``, ``log``,
``ping`` and ``other``. ``Reply`` can carry a JSON value or raw bytes, a content type,
extra headers, a ``hold`` (seconds before answering) and ``drop=True`` (close the
connection without answering, like a crashed proxy). With ``pitstop=True`` every take reply
carries ``X-Pitstop-Server`` so a pitstop worker turns on its protocol extensions.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

T = TypeVar("T")

_ROUTES = {
    "job-take": "take",
    "job-take-batch": "take",
    "job-stop": "stop",
    "job-done": "done",
    "job-stream": "stream",
    "job-log": "log",
    "ping": "ping",
}
_NOTHING = object()


@dataclass
class Reply:
    """One scripted HTTP answer. ``body`` may be bytes (sent raw) or any JSON value."""

    status: int = 200
    body: Any = _NOTHING
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    hold: float = 0.0
    drop: bool = False

    def encode(self) -> tuple[bytes, str | None]:
        """The body bytes and content type to send."""
        if self.body is _NOTHING:
            return b"", self.content_type
        if isinstance(self.body, bytes):
            return self.body, self.content_type or "application/octet-stream"
        return json.dumps(self.body).encode(), self.content_type or "application/json"


@dataclass
class Recorded:
    """One request as it arrived, plus how it was answered."""

    method: str
    target: str
    path: str
    query: list[tuple[str, str]]
    headers: list[tuple[str, str]]
    body: bytes
    at: float
    """``time.monotonic()`` when the request was fully read."""
    route: str = "other"
    worker_id: str | None = None
    job_id: str | None = None
    status: int | None = None
    answered_at: float | None = None

    def header(self, name: str) -> str | None:
        """First value of a header (case-insensitive), or None."""
        lname = name.lower()
        return next((v for k, v in self.headers if k.lower() == lname), None)

    def param(self, name: str) -> str | None:
        """First value of a query parameter, or None."""
        return next((v for k, v in self.query if k == name), None)

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body.decode("utf-8"))

    @property
    def is_progress(self) -> bool:
        """A job-done POST carrying a progress update (``{"status": "IN_PROGRESS", ...}``)."""
        if self.route != "done":
            return False
        try:
            body = self.json()
        except ValueError:
            return False
        return isinstance(body, dict) and body.get("status") == "IN_PROGRESS"

    def __repr__(self) -> str:
        body = self.body[:200]
        return f"<{self.method} {self.target} -> {self.status} at={self.at:.3f} body={body!r}>"


class _BadRequest(Exception):
    """The bytes on the connection are not an HTTP/1.1 request we understand."""


class FakePlatform:
    """The recording fake platform (see the module docstring)."""

    def __init__(
        self,
        *,
        endpoint: str = "ep",
        take_hold: float = 0.2,
        stop_hold: float = 0.2,
        pitstop: bool = False,
    ) -> None:
        self.endpoint = endpoint
        self.take_hold = take_hold
        self.stop_hold = stop_hold
        self.pitstop = pitstop
        self.port = 0
        self._cond = threading.Condition()
        self._requests: list[Recorded] = []
        self._jobs: deque[dict[str, Any] | Any] = deque()
        self._pending_stops: list[Any] = []
        self._scripts: dict[tuple[str, str | None], deque[Reply]] = {}
        self._defaults: dict[str, Reply] = {
            "done": Reply(200, {}),
            "stream": Reply(200, {}),
            "log": Reply(200, {}),
            "ping": Reply(200, {}),
            "other": Reply(404, {"error": "not found"}),
        }
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._wake: asyncio.Event | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    # ---------------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakePlatform:
        """Start serving on a fresh thread; returns once the port is bound."""
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("fake platform did not start")
        return self

    def stop(self) -> None:
        """Close the listener and every connection, then join the thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        self._loop = self._thread = None

    def __enter__(self) -> FakePlatform:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        self._wake = asyncio.Event()
        self._server = loop.run_until_complete(
            asyncio.start_server(self._serve_connection, "127.0.0.1", 0)
        )
        self.port = self._server.sockets[0].getsockname()[1]
        ready.set()
        try:
            loop.run_forever()
        finally:
            self._server.close()
            for writer in list(self._writers):
                writer.close()
            tasks = asyncio.all_tasks(loop)
            for task in tasks:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            loop.close()

    # ---------------------------------------------------------------- scripting

    def env(
        self,
        pod_id: str | None = "pod1",
        *,
        ping_interval_ms: int = 2000,
        api_key: str = "k",
        gpu: str = "T",
    ) -> dict[str, str]:
        """The ``RUNPOD_*`` variables of spec §9's fixture, pointing at this platform."""
        base = f"{self.url}/v2/{self.endpoint}"
        env = {
            "RUNPOD_WEBHOOK_GET_JOB": f"{base}/job-take/$ID?gpu={gpu}",
            "RUNPOD_WEBHOOK_POST_OUTPUT": f"{base}/job-done/$RUNPOD_POD_ID/$ID?gpu={gpu}",
            "RUNPOD_WEBHOOK_POST_STREAM": f"{base}/job-stream/$RUNPOD_POD_ID/$ID?gpu={gpu}",
            "RUNPOD_WEBHOOK_PING": f"{base}/ping/$RUNPOD_POD_ID?gpu={gpu}",
            "RUNPOD_AI_API_KEY": api_key,
            "RUNPOD_PING_INTERVAL": str(ping_interval_ms),
            "RUNPOD_SKIP_AUTO_SYSTEM_CHECKS": "true",
            "RUNPOD_SKIP_GPU_CHECK": "true",
        }
        if pod_id is not None:
            env["RUNPOD_POD_ID"] = pod_id
        return env

    def add_jobs(self, *jobs: Any) -> None:
        """Queue jobs (any JSON value; normally ``{"id", "input"}``) for job-take."""
        with self._cond:
            self._jobs.extend(jobs)
        self._poke()

    def script(self, route: str, *replies: Reply, job_id: str | None = None) -> None:
        """Append replies a route gives next (before jobs, stops and defaults).

        With ``job_id`` (done/stream/log routes) they answer only that job's requests, and
        take precedence over the route's unkeyed script.
        """
        with self._cond:
            self._scripts.setdefault((route, job_id), deque()).extend(replies)
        self._poke()

    def set_default(self, route: str, reply: Reply) -> None:
        """The reply a route gives when nothing is scripted (done/stream/log/ping/other)."""
        with self._cond:
            self._defaults[route] = reply

    def stop_jobs(self, *ids: Any) -> None:
        """The next job-stop poll (or the one being held) answers ``{"jobsToStop": ids}``."""
        with self._cond:
            self._pending_stops.extend(ids)
        self._poke()

    def _poke(self) -> None:
        loop = self._loop
        if loop is not None:
            loop.call_soon_threadsafe(self._fire)

    def _fire(self) -> None:
        """Wake every held long-poll (each waits on the event current when it started)."""
        if self._wake is not None:
            self._wake.set()
        self._wake = asyncio.Event()

    # ---------------------------------------------------------------- queries

    @property
    def requests(self) -> list[Recorded]:
        """A snapshot of every request so far, in arrival order."""
        with self._cond:
            return list(self._requests)

    def route(self, name: str) -> list[Recorded]:
        return [r for r in self.requests if r.route == name]

    def takes(self) -> list[Recorded]:
        return self.route("take")

    def stops(self) -> list[Recorded]:
        return self.route("stop")

    def pings(self) -> list[Recorded]:
        return self.route("ping")

    def done_posts(self, job_id: str | None = None) -> list[Recorded]:
        """Every job-done POST (results and progress updates), optionally for one job."""
        return [r for r in self.route("done") if job_id is None or r.job_id == job_id]

    def results(self, job_id: str | None = None) -> list[Recorded]:
        """Final-result POSTs: job-done POSTs that are not progress updates."""
        return [r for r in self.done_posts(job_id) if not r.is_progress]

    def progress(self, job_id: str | None = None) -> list[Recorded]:
        return [r for r in self.done_posts(job_id) if r.is_progress]

    def stream_posts(self, job_id: str | None = None) -> list[Recorded]:
        return [r for r in self.route("stream") if job_id is None or r.job_id == job_id]

    def log_posts(self, job_id: str | None = None) -> list[Recorded]:
        return [r for r in self.route("log") if job_id is None or r.job_id == job_id]

    def wait_for(self, predicate: Callable[[], T], timeout: float = 10.0) -> T:
        """Return ``predicate()`` once truthy, re-checked after every request and answer.

        Raises AssertionError listing the recorded requests when ``timeout`` passes first.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                value = predicate()
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(min(left, 0.05))
        lines = "\n  ".join(repr(r) for r in self.requests[-40:])
        raise AssertionError(f"condition not met within {timeout}s; requests:\n  {lines}")

    def wait_count(
        self, getter: Callable[[], list[Recorded]], count: int, timeout: float = 10.0
    ) -> list[Recorded]:
        """Wait until ``getter()`` (e.g. ``p.pings``) returns at least ``count`` records."""

        def enough() -> list[Recorded]:
            got = getter()
            return got if len(got) >= count else []

        return self.wait_for(enough, timeout)

    # ---------------------------------------------------------------- HTTP

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self._writers.add(writer)
        try:
            while True:
                rec = await self._read_request(reader)
                if rec is None:
                    return
                reply = await self._answer(rec)
                if reply.drop:
                    self._finish(rec, None)
                    return
                await self._write(writer, rec, reply)
                if (rec.header("connection") or "").lower() == "close":
                    return
        except (_BadRequest, ConnectionError, asyncio.IncompleteReadError):
            return
        except asyncio.CancelledError:
            # Shutdown: end quietly (asyncio's stream callback logs a cancelled task).
            return
        finally:
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _read_request(self, reader: asyncio.StreamReader) -> Recorded | None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return None
        lines = head.decode("latin-1").split("\r\n")
        try:
            method, target, _version = lines[0].split(" ", 2)
        except ValueError:
            raise _BadRequest(lines[0]) from None
        headers = [
            (k.strip(), v.strip()) for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)
        ]
        rec = Recorded(method, target, "", [], headers, b"", 0.0)
        rec.body = await self._read_body(reader, rec)
        rec.at = time.monotonic()
        parts = urlsplit(target)
        rec.path = parts.path
        rec.query = parse_qsl(parts.query, keep_blank_values=True)
        self._classify(rec)
        with self._cond:
            self._requests.append(rec)
            self._cond.notify_all()
        return rec

    @staticmethod
    async def _read_body(reader: asyncio.StreamReader, rec: Recorded) -> bytes:
        if (rec.header("transfer-encoding") or "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                data = await reader.readexactly(size + 2)
                if size == 0:
                    return b"".join(chunks)
                chunks.append(data[:-2])
        length = int(rec.header("content-length") or 0)
        return await reader.readexactly(length) if length else b""

    def _classify(self, rec: Recorded) -> None:
        segs = rec.path.strip("/").split("/")
        if len(segs) < 4 or segs[0] != "v2" or segs[2] not in _ROUTES:
            return
        rec.route = _ROUTES[segs[2]]
        rec.worker_id = segs[3]
        if rec.route in ("done", "stream", "log") and len(segs) >= 5:
            rec.job_id = segs[4]

    async def _answer(self, rec: Recorded) -> Reply:
        scripted = self._pop_script(rec.route, rec.job_id)
        if scripted is not None:
            if scripted.hold:
                await asyncio.sleep(scripted.hold)
            return scripted
        if rec.route == "take":
            return await self._hold_for(rec, self.take_hold, self._take_jobs)
        if rec.route == "stop":
            return await self._hold_for(rec, self.stop_hold, self._take_stops)
        with self._cond:
            return self._defaults[rec.route]

    def _pop_script(self, route: str, job_id: str | None) -> Reply | None:
        with self._cond:
            for key in ((route, job_id), (route, None)):
                queue = self._scripts.get(key)
                if queue:
                    return queue.popleft()
            return None

    async def _hold_for(
        self, rec: Recorded, hold: float, take: Callable[[Recorded], Reply | None]
    ) -> Reply:
        """Answer from ``take`` as soon as it has something, else 204 after ``hold``."""
        assert self._wake is not None
        deadline = time.monotonic() + hold
        while True:
            reply = take(rec)
            if reply is not None:
                return reply
            left = deadline - time.monotonic()
            if left <= 0:
                return Reply(204)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), left)

    def _take_jobs(self, rec: Recorded) -> Reply | None:
        batch = rec.path.split("/")[3] == "job-take-batch"
        size = int(rec.param("batch_size") or 1) if batch else 1
        with self._cond:
            if not self._jobs:
                return None
            jobs = [self._jobs.popleft() for _ in range(min(size, len(self._jobs)))]
        return Reply(200, jobs if batch else jobs[0])

    def _take_stops(self, rec: Recorded) -> Reply | None:
        with self._cond:
            if not self._pending_stops:
                return None
            ids, self._pending_stops = self._pending_stops, []
        return Reply(200, {"jobsToStop": ids})

    async def _write(self, writer: asyncio.StreamWriter, rec: Recorded, reply: Reply) -> None:
        body, ctype = reply.encode()
        try:
            reason = HTTPStatus(reply.status).phrase
        except ValueError:
            reason = "Status"
        head = [f"HTTP/1.1 {reply.status} {reason}"]
        if ctype and reply.status != 204:
            head.append(f"Content-Type: {ctype}")
        if reply.status != 204:
            head.append(f"Content-Length: {len(body)}")
        if self.pitstop and rec.route == "take":
            head.append("X-Pitstop-Server: fake")
        head.extend(f"{k}: {v}" for k, v in reply.headers.items())
        data = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
        writer.write(data + (body if reply.status != 204 else b""))
        await writer.drain()
        self._finish(rec, reply.status)

    def _finish(self, rec: Recorded, status: int | None) -> None:
        with self._cond:
            rec.status = status
            rec.answered_at = time.monotonic()
            self._cond.notify_all()


def bodies(records: Iterable[Recorded]) -> list[Any]:
    """The JSON bodies of some records, in order."""
    return [r.json() for r in records]
