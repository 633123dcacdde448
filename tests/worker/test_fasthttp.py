"""The worker's light HTTP client: same bytes on the wire as httpx, robust response framing."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncIterator

import httpx
import pytest

from pitstop.serverless.fasthttp import Client, WireError, WireTimeout, split_url

OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"


class RawServer:
    """Loopback server answering each request with the next scripted raw reply."""

    def __init__(self) -> None:
        self.requests: list[bytes] = []
        self.replies: list[bytes | None] = []  # None: close the connection without answering
        self.connections = 0
        self.port = 0
        self._server: asyncio.base_events.Server | None = None

    async def start(self) -> RawServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                self.requests.append(head + await reader.readexactly(length))
                reply = self.replies.pop(0) if self.replies else OK
                if reply is None:
                    break
                writer.write(reply)
                await writer.drain()
                if b"Connection: close" in reply:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()


@pytest.fixture
async def server() -> AsyncIterator[RawServer]:
    srv = await RawServer().start()
    yield srv
    await srv.stop()


HEADERS = {"Content-Type": "application/json", "Authorization": "KEY", "User-Agent": "RunPod-X/1"}
JOB_HEADERS = {
    "X-Request-ID": "j1",
    "Content-Type": "application/x-www-form-urlencoded",
    "charset": "utf-8",
}


async def test_requests_are_byte_for_byte_what_httpx_sends(server: RawServer) -> None:
    base = f"http://127.0.0.1:{server.port}/v2/ep"
    calls = [
        ("GET", f"{base}/job-take/w1?gpu=none&job_in_progress=0", None, None),
        ("POST", f"{base}/job-done/w1/j1?gpu=none&isStream=false", b'{"output": 1}', JOB_HEADERS),
        ("GET", f"{base}/ping/w1?gpu=none&job_id=a%2Cb", None, {"Authorization": "KEY"}),
        ("POST", f"{base}/job-log/w1/j1?gpu=none", b"", {"X-Request-ID": "j1"}),
    ]
    async with httpx.AsyncClient(headers=HEADERS) as reference:
        for method, url, body, extra in calls:
            await reference.request(method, url, content=body, headers=extra)
    expected, server.requests = server.requests, []
    client = Client(HEADERS, timeout=5.0)
    for method, url, body, extra in calls:
        assert (await client.request(method, url, body, extra, None)).status_code == 200
    await client.aclose()
    assert server.requests == expected
    assert server.connections == 2  # one kept-alive connection per client


async def test_chunked_gzip_and_headers_are_decoded(server: RawServer) -> None:
    packed = gzip.compress(b'{"id": "a"}')
    server.replies = [
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Pitstop-Server: 1\r\n"
        b"Content-Encoding: gzip\r\n\r\n"
        + b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (packed[:5], packed[5:]))
        + b"0\r\n\r\n",
        b"HTTP/1.1 204 No Content\r\n\r\n",
    ]
    client = Client(HEADERS, timeout=5.0)
    url = f"http://127.0.0.1:{server.port}/x?a=1"
    first = await client.get(url)
    assert first.content == b'{"id": "a"}'
    assert first.headers.get("x-pitstop-server") == "1" and first.url == url
    second = await client.get(url)
    assert second.status_code == 204 and second.content == b""
    await client.aclose()
    assert server.connections == 1


async def test_close_delimited_body_and_connection_close(server: RawServer) -> None:
    server.replies = [b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil-close"]
    client = Client(HEADERS, timeout=5.0)
    url = f"http://127.0.0.1:{server.port}/x"
    answer = await client.post(url, content=b"{}")
    assert answer.content == b"until-close"
    assert (await client.get(url)).status_code == 200  # a new connection was opened
    assert server.connections == 2
    await client.aclose()


async def test_megabyte_bodies_both_ways_on_one_connection(server: RawServer) -> None:
    big = bytes(range(256)) * 20_000  # 5 MB: read in many recv calls, written in many sends
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in (big[:70_000], big[70_000:]))
    server.replies = [
        b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(big), big),
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked + b"0\r\n\r\n",
        OK,
    ]
    client = Client(HEADERS, timeout=5.0)
    url = f"http://127.0.0.1:{server.port}/x"
    assert (await client.get(url)).content == big
    assert (await client.post(url, content=big)).content == b"ok"
    assert server.requests[-1].endswith(b"\r\n\r\n" + big)
    assert b"Content-Length: %d\r\n" % len(big) in server.requests[-1]
    assert (await client.get(url)).content == big
    small = await client.get(url)
    assert small.content == b"{}" and json.loads(small.content) == {}
    await client.aclose()
    assert server.connections == 1


async def test_bytes_beyond_content_length_are_not_part_of_the_body(server: RawServer) -> None:
    server.replies = [b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nokEXTRA"]
    client = Client(HEADERS, timeout=5.0)
    assert (await client.get(f"http://127.0.0.1:{server.port}/x")).content == b"ok"
    await client.aclose()


async def test_a_stale_kept_alive_connection_is_retried_once(server: RawServer) -> None:
    server.replies = [OK, None]  # answers once, then drops the connection on the next request
    client = Client(HEADERS, timeout=5.0)
    url = f"http://127.0.0.1:{server.port}/x"
    await client.get(url)
    assert (await client.get(url)).status_code == 200
    assert server.connections == 2 and len(server.requests) == 3
    await client.aclose()


async def test_timeout_and_refused_connection_raise_wire_errors(server: RawServer) -> None:
    hold = asyncio.Event()

    async def never(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await hold.wait()
        writer.close()

    silent = await asyncio.start_server(never, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    client = Client(HEADERS, timeout=5.0)
    with pytest.raises(WireTimeout):
        await client.get(f"http://127.0.0.1:{port}/x", timeout=0.05)
    hold.set()
    silent.close()
    await silent.wait_closed()
    with pytest.raises(WireError):
        await client.get(f"http://127.0.0.1:{port}/x", timeout=1.0)
    await client.aclose()


def test_split_url() -> None:
    assert split_url("http://h:81/a/b?x=1") == ("h", 81, "/a/b?x=1", "h:81")
    assert split_url("http://h?x=1") == ("h", 80, "/?x=1", "h")
    assert split_url("http://[::1]:9/p")[:3] == ("::1", 9, "/p")
    assert split_url("http://h/a b")[2] == "/a%20b"
    with pytest.raises(WireError):
        split_url("https://h/")


async def test_transport_uses_the_light_client_for_http_only() -> None:
    from pitstop.config import WorkerConfig
    from pitstop.serverless.transport import Transport, Urls

    def transport(url: str, http_client: str = "auto") -> Transport:
        cfg = WorkerConfig(job_take_url=url, worker_id="w", http_client=http_client)
        return Transport(cfg, Urls.from_config(cfg))

    chosen = [
        transport("http://h/v2/ep/job-take/$ID?gpu=none"),
        transport("https://h/v2/ep/job-take/$ID?gpu=none"),
        transport("http://h/v2/ep/job-take/$ID?gpu=none", http_client="httpx"),
    ]
    assert [type(t.client) for t in chosen] == [Client, httpx.AsyncClient, httpx.AsyncClient]
    for t in chosen:
        await t.aclose()


def test_reason_phrase_is_the_standard_one() -> None:
    from pitstop.serverless.fasthttp import Headers, Response

    assert Response(500, Headers({}), b"", "u").reason_phrase == "Internal Server Error"
    assert Response(599, Headers({}), b"", "u").reason_phrase == ""
