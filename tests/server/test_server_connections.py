"""Connections and memory: idle or slow connections are closed, open connections are capped
below the file descriptor limit, request bytes in flight are bounded. Raw sockets against a
real server (in-process, or a subprocess under a low ``RLIMIT_NOFILE``)."""

from __future__ import annotations

import asyncio
import resource
import socket
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from tests.support.servers import ServerProcess

from pitstop.server.connections import connection_cap
from pitstop.server.runner import RunningServer

Start = Callable[..., Awaitable[RunningServer]]


async def _open(server: RunningServer) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", server.port)


async def _closed_after(reader: asyncio.StreamReader, limit: float) -> float:
    """Seconds until the server closes the connection (reading whatever it sends)."""
    started = time.monotonic()
    while await asyncio.wait_for(reader.read(65536), limit):
        pass
    return time.monotonic() - started


async def test_a_connection_that_sends_nothing_is_closed(start: Start) -> None:
    server = await start(header_timeout=0.3)
    reader, writer = await _open(server)
    assert 0.2 <= await _closed_after(reader, 5) < 2
    writer.close()


async def test_a_trickling_request_head_does_not_extend_the_deadline(start: Start) -> None:
    server = await start(header_timeout=0.4)
    reader, writer = await _open(server)
    started = time.monotonic()
    writer.write(b"GET /v2/ep/health HTTP/1.1\r\nHost: x\r\n")
    with pytest.raises((ConnectionError, asyncio.TimeoutError)):
        while time.monotonic() - started < 3:  # one header line every 100 ms, never the end
            writer.write(b"X-Slow: 1\r\n")
            await writer.drain()
            if await asyncio.wait_for(reader.read(1), 0.1) == b"":
                raise ConnectionError("closed")
    assert time.monotonic() - started < 2
    writer.close()


async def test_idle_keep_alive_connections_time_out(start: Start) -> None:
    server = await start(header_timeout=5.0, keep_alive_timeout=0.3)
    reader, writer = await _open(server)
    writer.write(b"GET /v2/ep/health HTTP/1.1\r\nHost: x\r\n\r\n")
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert head.startswith(b"HTTP/1.1 200")
    assert await _closed_after(reader, 5) < 2  # well before the 5 s header timeout
    writer.close()


async def test_connections_past_the_cap_are_answered_503_at_once(start: Start) -> None:
    server = await start(max_connections=4)
    idle = [await _open(server) for _ in range(4)]
    async with httpx.AsyncClient(base_url=server.url, timeout=5) as client:
        refused = await client.get("/v2/ep/health")
        assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
        assert refused.json()["error"]["code"] == "unavailable"
        for _reader, writer in idle:
            writer.close()
            await writer.wait_closed()

        async def admitted() -> httpx.Response:
            while (answer := await client.get("/v2/ep/health")).status_code == 503:
                await asyncio.sleep(0.02)
            return answer

        assert (await asyncio.wait_for(admitted(), 5)).status_code == 200


def test_the_cap_stays_below_the_file_descriptor_limit() -> None:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert connection_cap() < soft
    assert connection_cap(10) == 10
    assert connection_cap(soft * 2) == connection_cap()


def test_idle_connections_at_the_fd_limit_do_not_lock_clients_out(tmp_path: Path) -> None:
    """At ``ulimit -n 256`` with 300 connections that never send a request, a client gets its
    200 within the header timeout plus a few seconds (before: never, while they stay open)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 600 and hard >= 600:
        resource.setrlimit(resource.RLIMIT_NOFILE, (600, hard))  # room for our own sockets
    store = f"sqlite:///{tmp_path}/pitstop.db"
    with ServerProcess(
        ["--store", store, "--header-timeout", "0.5"], tmp_path / "server", nofile=256
    ) as server:
        host, port = server.url.removeprefix("http://").split(":")
        idle = [socket.create_connection((host, int(port))) for _ in range(300)]
        started = time.monotonic()
        try:
            with httpx.Client(base_url=server.url, timeout=5) as client:
                while True:
                    try:
                        answer = client.get("/v2/ep/health")
                        if answer.status_code == 200:
                            break
                        assert answer.status_code == 503, answer.text
                    except httpx.TransportError:
                        pass  # refused at once: try again
                    assert time.monotonic() - started < 0.5 + 4, server.output()
                    time.sleep(0.05)
        finally:
            for sock in idle:
                sock.close()
        assert server.proc.poll() is None


async def _post_partial(
    server: RunningServer, declared: int, sent: int
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A /run whose body is only partly sent (its bytes are held by the server)."""
    reader, writer = await _open(server)
    body = b'{"input": "' + b"x" * (declared - 13) + b'"}'
    assert len(body) == declared
    writer.write(
        b"POST /v2/ep/run HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {declared}\r\n\r\n".encode()
        + body[:sent]
    )
    await writer.drain()
    writer.rest = body[sent:]  # type: ignore[attr-defined]
    return reader, writer


async def test_request_bytes_in_flight_are_bounded(start: Start) -> None:
    server = await start(max_inflight_bytes=1_000_000, header_timeout=5.0)
    budget = server.app.state.pitstop.inflight
    reader, writer = await _post_partial(server, 800_000, 600_000)
    while budget.used < 600_000:  # the server has read what was sent
        await asyncio.sleep(0.01)
    async with httpx.AsyncClient(base_url=server.url, timeout=5) as client:
        big = {"input": "y" * 600_000}
        refused = await client.post("/v2/ep/run", json=big)
        assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
        assert refused.json()["error"]["code"] == "unavailable"
        assert (await client.post("/v2/ep/run", json={"input": 1})).status_code == 200  # small

        writer.write(writer.rest)  # type: ignore[attr-defined]
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 200")
        writer.close()
        assert budget.used == 0
        assert (await client.post("/v2/ep/run", json=big)).status_code == 200
        alone = {"input": "z" * 1_500_000}  # more than the budget, but alone: admitted
        assert (await client.post("/v2/ep/run", json=alone)).status_code == 200
    assert budget.used == 0
