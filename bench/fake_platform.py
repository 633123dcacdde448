"""A fast, minimal RunPod worker platform for benchmarks (not the recording mock in tests).

It speaks just enough HTTP/1.1 (keep-alive, Content-Length or chunked bodies) on asyncio,
in a background thread of the benchmark driver, to serve one endpoint's worker API:

* ``GET job-take/<worker>`` and ``job-take-batch/<worker>?batch_size=N``: hands out
  preloaded jobs (an object for one, a list for a batch); with none left it holds the
  long-poll up to ``hold`` seconds, then answers 204;
* ``POST job-done/<worker>/<job>``: the final result (body size recorded, not parsed);
* ``POST job-stream/<worker>/<job>``: ``{"output": v}`` or pitstop's ``{"outputs": [...]}``;
* ``GET job-stop/<worker>``: 204 at once (both SDKs sleep their own floor between polls);
* ``GET ping/<worker>``, ``POST job-log/...``: 200.

Job-take answers carry ``X-Pitstop-Server`` (``pitstop_header=True``), as a pitstop server
does, so a pitstop worker uses its protocol extensions; RunPod's SDK ignores the header.
Timestamps are ``time.perf_counter()`` of the driver process, so they compare directly with
the driver's own clock (process spawn time).
"""

from __future__ import annotations

import asyncio
import collections
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pitstop.server.urls import worker_env

ENDPOINT = "bench"


@dataclass
class Stats:
    """What the platform saw; read by the driver after (or while) a run."""

    first_request: float | None = None
    """When the first job-take request arrived (cold start ends here)."""
    first_take: float | None = None
    """When the first job was handed out (throughput spans start here)."""
    taken: dict[str, float] = field(default_factory=dict)
    done: dict[str, float] = field(default_factory=dict)
    done_bytes: dict[str, int] = field(default_factory=dict)
    chunks: dict[str, int] = field(default_factory=lambda: collections.defaultdict(int))
    first_chunk: dict[str, float] = field(default_factory=dict)
    last_chunk: float | None = None
    requests: collections.Counter[str] = field(default_factory=collections.Counter)


class FakePlatform:
    """Start with :meth:`start`, feed with :meth:`load`, read :attr:`stats`, :meth:`stop`."""

    def __init__(self, *, hold: float = 2.0, pitstop_header: bool = True) -> None:
        self.hold = hold
        self.pitstop_header = pitstop_header
        self.stats = Stats()
        self.port = 0
        self._queue: collections.deque[tuple[str, bytes]] = collections.deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._available: asyncio.Event | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None
        self._done_cond = threading.Condition()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def worker_env(self, worker_id: str, key: str = "bench-key") -> dict[str, str]:
        """RunPod's worker variables pointing at this platform (as a pitstop server gives them)."""
        return worker_env(self.url, ENDPOINT, worker_id, key)

    # -- driver side (any thread) ---------------------------------------------------------

    def start(self) -> FakePlatform:
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(5)

    def reset(self) -> None:
        """Forget stats and queued jobs (between runs)."""
        self._call(self._reset)

    def load(self, jobs: list[dict[str, Any]]) -> None:
        """Queue jobs (``{"id", "input"}``); serialised once here, not per take."""
        encoded = [(str(job["id"]), json.dumps(job).encode()) for job in jobs]
        self._call(self._enqueue, encoded)

    def wait_done(self, count: int, timeout: float) -> bool:
        """Block until ``count`` results arrived (or the timeout); True if they did."""
        deadline = time.monotonic() + timeout
        with self._done_cond:
            while len(self.stats.done) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._done_cond.wait(min(left, 0.05))
        return True

    def wait_first_take(self, timeout: float) -> bool:
        """Block until the first job-take request arrived; True if it did."""
        deadline = time.monotonic() + timeout
        while self.stats.first_request is None:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.002)
        return True

    def _call(self, fn: Any, *args: Any) -> None:
        assert self._loop is not None
        done = threading.Event()

        def run() -> None:
            fn(*args)
            done.set()

        self._loop.call_soon_threadsafe(run)
        done.wait(5)

    # -- platform side (its own loop) ------------------------------------------------------

    def _run(self, ready: threading.Event) -> None:
        try:
            import uvloop

            loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
        except ImportError:
            loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        self._available = asyncio.Event()
        self._server = loop.run_until_complete(
            asyncio.start_server(self._serve, "127.0.0.1", 0, limit=1 << 20, backlog=512)
        )
        self.port = self._server.sockets[0].getsockname()[1]
        ready.set()
        loop.run_forever()
        self._server.close()
        loop.close()

    def _reset(self) -> None:
        # Release long-polls of workers from a previous run (they are dead or being
        # killed); a fresh event makes sure they can never take the next run's jobs.
        self.stats = Stats()
        self._queue.clear()
        if self._available is not None:
            self._available.set()
        self._available = asyncio.Event()

    def _enqueue(self, encoded: list[tuple[str, bytes]]) -> None:
        self._queue.extend(encoded)
        assert self._available is not None
        self._available.set()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    break
                method, target, headers, body = request
                status, extra, payload = await self._route(method, target, body)
                writer.write(_response(status, extra, payload))
                if headers.get("connection", "").lower() == "close":
                    break
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    async def _route(
        self, method: str, target: str, body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(target)
        segments = parts.path.strip("/").split("/")
        kind = segments[2] if len(segments) > 2 else ""
        self.stats.requests[kind] += 1
        if kind in ("job-take", "job-take-batch"):
            size = int(parse_qs(parts.query).get("batch_size", ["1"])[0])
            return await self._take(size, batch=kind == "job-take-batch")
        if kind == "job-done" and len(segments) > 4:
            self._record_done(segments[4], body)
            return 200, {}, b"{}"
        if kind == "job-stream" and len(segments) > 4:
            self._record_chunks(segments[4], body)
            return 200, {}, b"{}"
        if kind == "job-stop":
            return 204, {}, b""
        return 200, {}, b"{}"

    async def _take(self, size: int, *, batch: bool) -> tuple[int, dict[str, str], bytes]:
        available = self._available
        assert available is not None
        if self.stats.first_request is None:
            self.stats.first_request = time.perf_counter()
        if not self._queue:
            available.clear()
            try:
                await asyncio.wait_for(available.wait(), self.hold)
            except asyncio.TimeoutError:
                return 204, {}, b""
            if available is not self._available:
                return 204, {}, b""
        now = time.perf_counter()
        if self.stats.first_take is None:
            self.stats.first_take = now
        picked = [self._queue.popleft() for _ in range(min(size, len(self._queue)))]
        if not picked:
            return 204, {}, b""
        for job_id, _raw in picked:
            self.stats.taken[job_id] = now
        headers = {"Content-Type": "application/json"}
        if self.pitstop_header:
            headers["X-Pitstop-Server"] = "bench"
        if batch:
            return 200, headers, b"[" + b",".join(raw for _id, raw in picked) + b"]"
        return 200, headers, picked[0][1]

    def _record_done(self, job_id: str, body: bytes) -> None:
        with self._done_cond:
            self.stats.done.setdefault(job_id, time.perf_counter())
            self.stats.done_bytes[job_id] = len(body)
            self._done_cond.notify_all()

    def _record_chunks(self, job_id: str, body: bytes) -> None:
        now = time.perf_counter()
        try:
            message = json.loads(body)
        except ValueError:
            return
        outputs = message.get("outputs") if isinstance(message, dict) else None
        count = len(outputs) if isinstance(outputs, list) else 1
        self.stats.first_chunk.setdefault(job_id, now)
        self.stats.last_chunk = now
        self.stats.chunks[job_id] += count


async def _read_request(
    reader: asyncio.StreamReader,
) -> tuple[str, str, dict[str, str], bytes] | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, target, _version = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if line:
            name, _sep, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        body = await _read_chunked(reader)
    else:
        body = b""
    return method, target, headers, body


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)


_REASONS = {200: "OK", 204: "No Content", 404: "Not Found"}


def _response(status: int, headers: dict[str, str], body: bytes) -> bytes:
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'OK')}"]
    if status != 204:
        headers = {"Content-Type": "application/json", **headers}
        lines.append(f"Content-Length: {len(body)}")
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body if status != 204 else b"")
