"""A job's ordered outgoing traffic: progress updates, stream chunks, log lines, final result.

Every job gets one :class:`Outbox`. Items are sent by one sender task in the order they were
queued, so a job's progress updates and chunks always reach the platform before its final
result (RunPod's SDK sends progress from throwaway threads and can deliver it after the
result). Against a pitstop server, chunks queued while a stream POST is in flight go out
together as ``{"outputs": [...]}`` and log lines are batched; against any other platform
each chunk is RunPod's ``{"output": v}`` and no log traffic is sent.

``progress`` and ``log`` may be called from handler threads; everything else runs on the
worker's event loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from typing import Any

from pitstop.serverless.logger import get_logger
from pitstop.serverless.result import dumps, refusal_reason, refused_body, too_large_body
from pitstop.serverless.transport import Transport

MAX_PENDING = 1024
"""Queued items above which ``stream`` waits for the sender (generator back-pressure)."""

MAX_BATCH = 1000
"""Most chunks or log lines one coalesced POST carries."""

_boxes: dict[str, Outbox] = {}


def lookup(job_id: str) -> Outbox | None:
    """The outbox of a job running in this process, if any."""
    return _boxes.get(job_id)


class Outbox:
    """Ordered sender for one job's POSTs (see the module docstring)."""

    def __init__(self, transport: Transport, job: dict[str, Any]) -> None:
        self.transport = transport
        self.job = job
        self.job_id = str(job["id"])
        self.stream_failure: str | None = None
        self._items: deque[tuple[str, bytes]] = deque()
        self._wake = asyncio.Event()
        self._sent = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()
        self._sender: asyncio.Task[None] | None = None
        self._closing = False
        self._busy = False
        _boxes[self.job_id] = self

    # -- queueing (thread-safe for progress/log) ---------------------------------------
    def _enqueue(self, kind: str, text: bytes) -> None:
        if self._closing:
            return
        self._items.append((kind, text))
        self._wake.set()
        if self._sender is None:
            self._sender = self._loop.create_task(self._run())

    def _enqueue_any_thread(self, kind: str, text: bytes) -> None:
        if threading.get_ident() == self._thread:
            self._enqueue(kind, text)
            return
        try:
            self._loop.call_soon_threadsafe(self._enqueue, kind, text)
        except RuntimeError:  # loop closed: the worker is gone, so is the job
            return

    def progress(self, value: Any) -> None:
        """Queue ``{"status": "IN_PROGRESS", "output": value}`` for the job-done URL."""
        try:
            text = dumps({"status": "IN_PROGRESS", "output": value})
        except (TypeError, ValueError) as exc:
            get_logger().error(f"Progress update not sent: {exc}", self.job_id)
            return
        self._enqueue_any_thread("progress", text)

    def log(self, stream: str, text: str) -> None:
        """Queue one captured output line (sent to a pitstop server only)."""
        if self.transport.pitstop:
            try:
                line = dumps({"stream": stream, "text": text})
            except ValueError:  # a lone surrogate: the line is kept, the character replaced
                clean = text.encode("utf-8", "replace").decode("utf-8")
                line = dumps({"stream": stream, "text": clean})
            self._enqueue_any_thread("log", line)

    async def stream(self, value: Any) -> bool:
        """Queue a stream chunk; False (and ``stream_failure`` set) if it cannot be encoded."""
        try:
            text = dumps(value)
        except (TypeError, ValueError) as exc:
            self.stream_failure = f"Stream output is not JSON serialisable: {exc}"
            return False
        self._enqueue("stream", text)
        if not self._busy:
            await asyncio.sleep(0)  # let an idle sender take this chunk alone: first chunk fast
        while len(self._items) > MAX_PENDING:
            self._sent.clear()
            await self._sent.wait()
        return True

    # -- sending --------------------------------------------------------------------------
    async def _run(self) -> None:
        while self._items or not self._closing:
            if not self._items:
                self._wake.clear()
                await self._wake.wait()
                continue
            kind, text = self._items.popleft()
            group = [text]
            if kind == "log" or (kind == "stream" and self.transport.pitstop):
                while self._items and self._items[0][0] == kind and len(group) < MAX_BATCH:
                    group.append(self._items.popleft()[1])
            self._busy = True
            try:
                await self._send(kind, group)
            finally:
                self._busy = False
            self._sent.set()

    async def _send(self, kind: str, group: list[bytes]) -> None:
        urls = self.transport.urls
        if kind == "progress":
            url, body = urls.result_url(self.job_id, False), group[0]
        elif kind == "log":
            url, body = urls.log_url(self.job_id), b'{"lines": [' + b", ".join(group) + b"]}"
        elif len(group) == 1:
            url, body = urls.stream_url(self.job_id), b'{"output": ' + group[0] + b"}"
        else:
            url = urls.stream_url(self.job_id)
            body = b'{"outputs": [' + b", ".join(group) + b"]}"
        headers = self.transport.headers_for(self.job, result=kind != "log")
        status = await self.transport.post(url, body, headers)
        if not 200 <= status < 300:
            get_logger().error(
                f"Failed to send {kind} update. | HTTP {status or 'unreachable'}", self.job_id
            )

    async def _drain(self) -> None:
        self._closing = True
        self._wake.set()
        if self._sender is not None:
            await self._sender

    async def finish(self, body: bytes, is_stream: bool, stop_pod: bool) -> bool:
        """Send everything queued, then the final result; True once it was accepted."""
        try:
            await self._drain()
            return await self._send_final(body, is_stream, stop_pod)
        finally:
            self.close()

    async def _send_final(self, body: bytes, is_stream: bool, stop_pod: bool) -> bool:
        url = self.transport.urls.result_url(self.job_id, is_stream)
        headers = self.transport.headers_for(self.job)
        status, answer = await self.transport.finals.post(self.job, url, body, headers)
        if status == 413:
            get_logger().error(f"Result of {len(body)} bytes refused as too large.", self.job_id)
            status = await self.transport.post(url, too_large_body(len(body), stop_pod), headers)
        elif status == 400:
            reason = refusal_reason(answer)
            get_logger().error(f"Result refused by the server: {reason}", self.job_id)
            status = await self.transport.post(url, refused_body(reason, stop_pod), headers)
        if 200 <= status < 300:
            return True
        reason = "unreachable" if status == 0 else f"HTTP {status}"
        get_logger().error(
            f"Failed to return job results. | job {self.job_id} | {reason}; result lost.",
            self.job_id,
        )
        return False

    def close(self) -> None:
        """Forget the job (a stopped job's pending items are dropped)."""
        self._closing = True
        self._wake.set()
        if _boxes.get(self.job_id) is self:
            del _boxes[self.job_id]

    def abandon(self) -> None:
        """Drop queued items of a stopped job and stop its sender."""
        self._items.clear()
        self.close()
        if self._sender is not None and not self._sender.done():
            self._sender.cancel()
