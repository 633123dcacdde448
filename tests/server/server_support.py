"""Helpers for the server tests: a fast config, a worker speaking RunPod's protocol over httpx,
and polling a condition with a deadline (never a fixed sleep)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from pitstop.config import ServerConfig

Q = "gpu=none"


def fast_config(tmp_path: Path, **overrides: Any) -> ServerConfig:
    """A loopback server on a free port with millisecond intervals."""
    values: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": 0,
        "store_url": f"sqlite:///{tmp_path}/pitstop.db",
        "sweep_interval": 0.01,
        "take_wait": 2.0,
        "stop_wait": 2.0,
        "runsync_wait": 5.0,
        "webhook_timeout": 2.0,
        "webhook_backoff": 0.02,
        "log_level": "warning",
    }
    values.update(overrides)
    return ServerConfig(**values)


async def eventually(
    check: Callable[[], Awaitable[Any]], timeout: float = 5.0, interval: float = 0.01
) -> Any:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value {value!r})")
        await asyncio.sleep(interval)


class Worker:
    """Drives the worker side of RunPod's protocol with httpx, like the official SDK."""

    def __init__(
        self, client: httpx.AsyncClient, endpoint: str, worker_id: str, key: str = ""
    ) -> None:
        self.client = client
        self.ep = endpoint
        self.id = worker_id
        self.headers = {"Authorization": key} if key else {}

    async def take(self, in_progress: int = 0) -> httpx.Response:
        return await self.client.get(
            f"/v2/{self.ep}/job-take/{self.id}?{Q}&job_in_progress={in_progress}",
            headers=self.headers,
        )

    async def take_job(self) -> dict[str, Any]:
        response = await self.take()
        assert response.status_code == 200, response.text
        job: dict[str, Any] = response.json()
        return job

    async def done(
        self,
        job_id: str,
        body: bytes | dict[str, Any],
        *,
        attempt: int | None = None,
        is_stream: bool = False,
        worker_id: str | None = None,
    ) -> httpx.Response:
        headers = dict(self.headers)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        if attempt is not None:
            headers["X-Pitstop-Attempt"] = str(attempt)
        import json

        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        wid = worker_id or self.id
        return await self.client.post(
            f"/v2/{self.ep}/job-done/{wid}/{job_id}?{Q}&isStream={'true' if is_stream else 'false'}",
            content=content,
            headers=headers,
        )

    async def stream(
        self, job_id: str, body: dict[str, Any], attempt: int | None = None
    ) -> httpx.Response:
        headers = dict(self.headers)
        if attempt is not None:
            headers["X-Pitstop-Attempt"] = str(attempt)
        return await self.client.post(
            f"/v2/{self.ep}/job-stream/{self.id}/{job_id}?{Q}&isStream=false",
            json=body,
            headers=headers,
        )

    async def ping(self, *job_ids: str, extra: str = "") -> httpx.Response:
        query = f"{Q}&runpod_version=1.12.0"
        if job_ids:
            query += "&job_id=" + "%2C".join(job_ids)
        return await self.client.get(
            f"/v2/{self.ep}/ping/{self.id}?{query}{extra}", headers=self.headers
        )

    async def stop_poll(self) -> httpx.Response:
        return await self.client.get(f"/v2/{self.ep}/job-stop/{self.id}?{Q}", headers=self.headers)


class Receiver:
    """A webhook receiver on loopback: records each POSTed JSON body; the first
    ``failures`` requests are answered 500."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.bodies: list[Any] = []
        self.raw: list[tuple[dict[str, str], bytes]] = []
        """Every request's headers (lower-case names) and body bytes, failures included."""
        self.hosts: list[str] = []
        self.requests = 0
        self._server: asyncio.AbstractServer | None = None
        self.url = ""

    async def __aenter__(self) -> Receiver:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/hook"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        import json

        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            headers = dict(
                (name.strip().lower(), value.strip())
                for name, _, value in (h.partition(":") for h in head.decode().split("\r\n")[1:])
                if name
            )
            for line in head.decode().split("\r\n"):
                if line.lower().startswith("content-length:"):
                    length = int(line.split(":", 1)[1])
                if line.lower().startswith("host:"):
                    self.hosts.append(line.split(":", 1)[1].strip())
            body = await reader.readexactly(length)
            self.raw.append((headers, body))
            self.requests += 1
            if self.requests <= self.failures:
                writer.write(b"HTTP/1.1 500 Oops\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            else:
                self.bodies.append(json.loads(body))
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            await writer.drain()
        finally:
            writer.close()
