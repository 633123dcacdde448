"""A small asyncio TCP proxy on 127.0.0.1 that breaks connections on purpose.

It runs on its own event loop in a background thread, so blocking and asyncio clients can
both go through it, and relays bytes between a client and the real server unchanged except:

* ``drop_run_answers = n``: the next ``n`` ``POST .../run`` or ``.../runsync`` requests are
  forwarded to the server, but when the server's answer starts to arrive the client's
  connection is closed instead of relaying it (the job exists; the client never hears so);
* ``cut_event_streams = n``: the next ``n`` event-stream answers are cut mid-event, just
  after their ``cut_at``-th ``data: `` field name (that event arrives half-way);
* ``strip_sse = True``: ``text/event-stream`` in a request's ``Accept`` is replaced, so the
  server answers as a server without Server-Sent Events would (JSON).

Each request head the proxy saw is kept in ``heads`` (lower-cased), to check what was sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Any
from urllib.parse import urlsplit


class Proxy:
    """See the module docstring; ``url`` is the proxy's base URL."""

    def __init__(self, target_url: str) -> None:
        parts = urlsplit(target_url)
        self.target = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.drop_run_answers = 0
        self.cut_event_streams = 0
        self.cut_at = 3
        self.strip_sse = False
        self.heads: list[str] = []
        self.loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def start(self) -> Proxy:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._listen(), self.loop)
        self._server = future.result(10)
        return self

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        async def close() -> None:
            if self._server is not None:
                self._server.close()
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()

    def requests(self, method: str, path_part: str) -> list[str]:
        """The request heads of ``method`` whose request line contains ``path_part``."""
        return [h for h in self.heads if h.startswith(method.lower() + " ") and path_part in h]

    async def _listen(self) -> asyncio.Server:
        return await asyncio.start_server(self._serve, "127.0.0.1", 0)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._relay(reader, writer)
        finally:
            self._tasks.discard(task)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        state: dict[str, Any] = {"drop": False, "cut": False}
        upstream = asyncio.create_task(self._client_to_server(reader, up_writer, state))
        try:
            await self._server_to_client(up_reader, writer, state)
        finally:
            upstream.cancel()
            await asyncio.gather(upstream, return_exceptions=True)
            for w in (writer, up_writer):
                w.close()
                with contextlib.suppress(Exception):
                    await w.wait_closed()

    async def _client_to_server(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, state: dict[str, Any]
    ) -> None:
        while data := await reader.read(65536):
            head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").lower()
            if head.split(" ", 1)[0] in ("get", "post"):
                self.heads.append(head)
                line = head.split("\r\n", 1)[0]
                submit = line.startswith("post ") and ("/run " in line or "/runsync" in line)
                if submit and self.drop_run_answers > 0:
                    self.drop_run_answers -= 1
                    state["drop"] = True
                if "text/event-stream" in head and self.cut_event_streams > 0:
                    self.cut_event_streams -= 1
                    state["cut"] = True
                if self.strip_sse:
                    data = data.replace(b"text/event-stream", b"application/json")
            writer.write(data)
            await writer.drain()

    async def _server_to_client(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, state: dict[str, Any]
    ) -> None:
        seen = b""
        while data := await reader.read(65536):
            if state["drop"]:
                return  # the server answered; the client never hears it
            if state["cut"]:
                seen += data
                cut = _nth(seen, b"data: ", self.cut_at)
                if cut is not None:
                    writer.write(data[: len(data) - (len(seen) - cut)])
                    await writer.drain()
                    return
            writer.write(data)
            await writer.drain()


def _nth(data: bytes, marker: bytes, n: int) -> int | None:
    """The offset just past the ``n``-th ``marker`` in ``data`` (None if fewer)."""
    at = -1
    for _ in range(n):
        at = data.find(marker, at + 1)
        if at < 0:
            return None
    return at + len(marker)
