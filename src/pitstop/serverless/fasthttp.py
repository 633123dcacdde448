"""A small keep-alive HTTP/1.1 client for the worker's plain-http job traffic.

Why not httpx here: measured on the worker benchmark machine, one httpx request costs about
2 ms of CPU (anyio cancel scopes, pool bookkeeping, cookie extraction, two socket writes),
an asyncio protocol about 0.13 ms; at one take and one result per job that was the whole
per-job budget. This client speaks only what the worker needs: GET/POST with a bytes body,
``Content-Length`` request bodies written with the head in one ``send`` (a large body right
after it, uncopied), responses framed by ``Content-Length`` (read straight into a buffer of
that size), ``chunked`` or connection close, gzip/deflate decoded. It sends the
same header lines in the same order as the httpx client it replaces (default headers, then
the client's, a per-request header replacing a client one moves to the end, then
``Content-Length``). TLS, proxies and redirects are not handled: https URLs keep httpx (see
``transport``).

The response object offers the httpx subset the transport reads (``status_code``,
``headers.get``, ``content``, ``reason_phrase``, ``url``). Failures raise :class:`WireTimeout`
or :class:`WireError`.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Iterable
from urllib.parse import quote

from pitstop.errors import TransportError

DEFAULT_HEADERS = (
    ("Accept", "*/*"),
    ("Accept-Encoding", "gzip, deflate"),
    ("Connection", "keep-alive"),
)
MAX_IDLE = 64
"""Idle keep-alive connections kept per host."""
HEAD_BUFFER = 16 * 1024
"""Initial read buffer of a response (its head, or a whole small answer)."""
SEPARATE_BODY = 64 * 1024
"""Request bodies larger than this are written after the head rather than joined to it."""
_SAFE_TARGET = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@/?%"
)


class WireError(TransportError):
    """The request could not be completed (connection refused, reset, malformed answer)."""


class WireTimeout(WireError):
    """No complete answer within the request's timeout."""


class Headers:
    """Response headers: case-insensitive ``get`` (the last value of a repeated name wins)."""

    def __init__(self, items: dict[str, str]) -> None:
        self._items = items

    def get(self, name: str, default: str | None = None) -> str | None:
        return self._items.get(name.lower(), default)

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items


class Response:
    """A complete response (the body is read before the request returns).

    ``content`` is bytes-like: the ``bytearray`` a ``Content-Length`` body was read into
    (equal to the same ``bytes``, accepted by ``json.loads``), else ``bytes``.
    """

    __slots__ = ("content", "headers", "status_code", "url")

    def __init__(self, status: int, headers: Headers, content: bytes, url: str) -> None:
        self.status_code = status
        self.headers = headers
        self.content = content
        self.url = url

    @property
    def reason_phrase(self) -> str:
        """The standard phrase for the status (as httpx reports it), e.g. ``Not Found``."""
        from http import HTTPStatus

        try:
            return HTTPStatus(self.status_code).phrase
        except ValueError:
            return ""


def split_url(url: str) -> tuple[str, int, str, str]:
    """``(host, port, request target, Host header)`` of an ``http://`` URL."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() != "http":
        raise WireError(f"not an http:// URL: {url!r}")
    cut = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
    authority, target = rest[:cut], rest[cut:] or "/"
    if target.startswith("?"):
        target = "/" + target
    if not _SAFE_TARGET.issuperset(target):
        target = quote(target, safe="".join(sorted(_SAFE_TARGET)))
    host, _colon, port = authority.rpartition(":") if "]" not in authority[-1:] else ("", "", "")
    if not _colon or not port.isdigit():
        host, port = authority, "80"
    return host.strip("[]"), int(port), target, authority


class _Connection(asyncio.BufferedProtocol):
    """One keep-alive connection; one request at a time.

    The socket is read straight into :attr:`_buf` (``recv_into``): once the head names a
    ``Content-Length``, the body goes into a buffer of exactly that size, which becomes the
    response's ``content`` without another copy (a 5 MB job input is copied once, by the
    kernel). Chunked and close-delimited bodies grow the buffer by doubling.
    """

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.reusable = True
        self._buf = bytearray(HEAD_BUFFER)
        self._filled = 0
        self._waiter: asyncio.Future[None] | None = None
        self._head: tuple[int, dict[str, str]] | None = None
        self._body_start = 0
        self._want: int | None = None  # body length; None: chunked or until close
        self._chunked = False
        self.got_bytes = False
        self._no_body = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            if self._head is not None and self._want is None and not self._chunked:
                waiter.set_result(None)  # body delimited by the close
            else:
                waiter.set_exception(WireError(f"connection closed: {exc or 'by peer'}"))

    def get_buffer(self, sizehint: int) -> memoryview:
        if self._filled == len(self._buf):
            self._move(0, max(2 * len(self._buf), HEAD_BUFFER))
        return memoryview(self._buf)[self._filled :]

    def buffer_updated(self, nbytes: int) -> None:
        self._filled += nbytes
        self.got_bytes = True
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        try:
            if self._complete():
                waiter.set_result(None)
        except (ValueError, WireError, MemoryError) as exc:
            waiter.set_exception(WireError(f"malformed response: {exc!r}"))

    def _move(self, start: int, size: int) -> None:
        """Continue in a new buffer of ``size`` bytes holding the unread ``_buf[start:]``.

        Never resizes ``_buf`` in place: the transport may still hold a view of it.
        """
        kept = min(self._filled - start, size)
        new = bytearray(size)
        new[:kept] = memoryview(self._buf)[start : start + kept]
        self._buf, self._filled = new, kept

    def begin(self, head: bytes, body: bytes | None, no_body: bool) -> asyncio.Future[None]:
        """Send one request; the future completes when the whole answer is buffered.

        A large body is written after the head, not appended to it (no copy of the body).
        """
        assert self.transport is not None
        self._filled = 0
        self._head = None
        self.got_bytes = False
        self._no_body = no_body
        self._waiter = asyncio.get_running_loop().create_future()
        if body and len(body) > SEPARATE_BODY:
            self.transport.write(head)
            self.transport.write(memoryview(body))  # sliced, not copied, if sent in parts
        else:
            self.transport.write(head + body if body else head)
        return self._waiter

    def _complete(self) -> bool:
        if self._head is None and not self._parse_head():
            return False
        if self._chunked:
            return _chunked_end(self._buf, self._body_start, self._filled) is not None
        if self._want is None:
            return False
        return self._filled - self._body_start >= self._want

    def _parse_head(self) -> bool:
        end = self._buf.find(b"\r\n\r\n", 0, self._filled)
        if end < 0:
            return False
        lines = bytes(self._buf[:end]).decode("latin-1").split("\r\n")
        version, _sp, rest = lines[0].partition(" ")
        status = int(rest[:3])
        if 100 <= status < 200:  # interim answer: drop it, wait for the real one
            self._move(end + 4, len(self._buf))
            return self._parse_head()
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _colon, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        self._head = (status, headers)
        self._body_start = end + 4
        self._chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        self._want = None
        if self._no_body or status in (204, 304):
            self._want, self._chunked = 0, False
        elif not self._chunked:
            length = headers.get("content-length")
            self._want = int(length) if length is not None else None
        if self._want is not None:  # the body alone, in a buffer of exactly its size
            self._move(self._body_start, self._want)
            self._body_start = 0
        closing = headers.get("connection", "").lower() == "close"
        if closing or version == "HTTP/1.0" or (self._want is None and not self._chunked):
            self.reusable = False
        return True

    def finish(self) -> tuple[int, dict[str, str], bytes]:
        """Status, headers and decoded body of the completed answer."""
        assert self._head is not None
        status, headers = self._head
        body: bytes
        if self._chunked:
            body = _dechunk(self._buf, self._body_start)
        elif len(self._buf) == self._want:
            # The buffer is exactly the body: handed over as is (bytes-like, not copied).
            body = self._buf  # type: ignore[assignment]
        elif self._want is not None:  # bytes beyond the body arrived and grew the buffer
            body = bytes(memoryview(self._buf)[: self._want])
        else:
            body = bytes(memoryview(self._buf)[self._body_start : self._filled])
        self._buf, self._filled = bytearray(HEAD_BUFFER), 0
        self._waiter = None
        return status, headers, _decode(body, headers.get("content-encoding", ""))

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


def _chunked_end(buf: bytearray, pos: int, end: int) -> int | None:
    """Index just past the last chunk (and trailers), or None while incomplete."""
    while True:
        eol = buf.find(b"\r\n", pos, end)
        if eol < 0:
            return None
        size = int(bytes(buf[pos:eol]).split(b";")[0], 16)
        if size == 0:
            last = buf.find(b"\r\n\r\n", eol, end)
            return None if last < 0 else last + 4
        pos = eol + 2 + size + 2
        if pos > end:
            return None


def _dechunk(buf: bytearray, pos: int) -> bytes:
    parts: list[bytes] = []
    while True:
        eol = buf.find(b"\r\n", pos)
        size = int(bytes(buf[pos:eol]).split(b";")[0], 16)
        if size == 0:
            return b"".join(parts)
        parts.append(bytes(buf[eol + 2 : eol + 2 + size]))
        pos = eol + 2 + size + 2


def _decode(body: bytes, encoding: str) -> bytes:
    encoding = encoding.strip().lower()
    if not body or encoding in ("", "identity"):
        return body
    try:
        if encoding == "gzip":
            return zlib.decompress(body, 16 + zlib.MAX_WBITS)
        if encoding == "deflate":
            try:
                return zlib.decompress(body)
            except zlib.error:
                return zlib.decompress(body, -zlib.MAX_WBITS)
    except zlib.error as exc:
        raise WireError(f"cannot decode {encoding} body: {exc}") from None
    return body


class Client:
    """Keep-alive connections per host; any number of requests in flight at once."""

    def __init__(self, headers: dict[str, str], timeout: float) -> None:
        merged = [*DEFAULT_HEADERS]
        _merge(merged, headers.items())
        self._base = merged
        self._timeout = timeout
        self._idle: dict[tuple[str, int], list[_Connection]] = {}
        self._heads: dict[tuple[str, str], bytes] = {}
        self._kept: dict[tuple[str, ...], list[tuple[str, str]]] = {}
        self._closed = False

    async def get(
        self, url: str, *, headers: dict[str, str] | None = None, timeout: float | None = None
    ) -> Response:
        return await self.request("GET", url, None, headers, timeout)

    async def post(
        self,
        url: str,
        *,
        content: bytes = b"",
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> Response:
        return await self.request("POST", url, content, headers, timeout)

    async def request(
        self,
        method: str,
        url: str,
        body: bytes | None,
        headers: dict[str, str] | None,
        timeout: float | None,
    ) -> Response:
        """Send one request and read its whole answer (WireTimeout after ``timeout`` s)."""
        host, port, target, authority = split_url(url)
        head = self._head(method, target, authority, headers, body)
        seconds = self._timeout if timeout is None else timeout
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        conn = self._take_idle(host, port)
        if conn is not None:
            try:
                return await self._exchange(conn, host, port, (head, body), method, url, deadline)
            except WireTimeout:
                raise
            except WireError:
                if conn.got_bytes:
                    raise
                # a kept-alive connection the server had closed: retry once on a fresh one
        conn = await self._connect(host, port, deadline)
        return await self._exchange(conn, host, port, (head, body), method, url, deadline)

    def _head(
        self,
        method: str,
        target: str,
        authority: str,
        extra: dict[str, str] | None,
        body: bytes | None,
    ) -> bytes:
        if not extra and body is None:
            key = (method, target + " " + authority)
            cached = self._heads.get(key)
            if cached is None:
                cached = _render(method, target, authority, self._base, None)
                if len(self._heads) < 64:
                    self._heads[key] = cached
            return cached
        items = self._base
        if extra:
            items = self._without(tuple(extra)) + list(extra.items())
        return _render(method, target, authority, items, len(body) if body is not None else None)

    def _without(self, names: tuple[str, ...]) -> list[tuple[str, str]]:
        """The client's headers minus ``names`` (cached: a job's POSTs reuse a few name sets)."""
        kept = self._kept.get(names)
        if kept is None:
            kept = list(self._base)
            _merge(kept, ((name, "") for name in names))
            kept = kept[: len(kept) - len(names)]
            if len(self._kept) < 64:
                self._kept[names] = kept
        return kept

    def _take_idle(self, host: str, port: int) -> _Connection | None:
        idle = self._idle.get((host, port))
        while idle:
            conn = idle.pop()
            if not conn.closed:
                return conn
        return None

    async def _connect(self, host: str, port: int, deadline: float) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            _transport, conn = await asyncio.wait_for(
                loop.create_connection(_Connection, host, port), max(0.0, deadline - loop.time())
            )
        except asyncio.TimeoutError:
            raise WireTimeout(f"connect to {host}:{port} timed out") from None
        except OSError as exc:
            raise WireError(f"cannot connect to {host}:{port}: {exc}") from None
        return conn

    async def _exchange(
        self,
        conn: _Connection,
        host: str,
        port: int,
        data: tuple[bytes, bytes | None],
        method: str,
        url: str,
        deadline: float,
    ) -> Response:
        loop = asyncio.get_running_loop()
        waiter = conn.begin(*data, no_body=method == "HEAD")
        timer = loop.call_at(deadline, _expire, waiter)
        try:
            await waiter
        except BaseException:
            conn.close()  # cancelled or failed mid-request: the connection is unusable
            raise
        finally:
            timer.cancel()
        status, headers, content = conn.finish()
        self._release(conn, host, port)
        return Response(status, Headers(headers), content, url)

    def _release(self, conn: _Connection, host: str, port: int) -> None:
        idle = self._idle.setdefault((host, port), [])
        unsent = conn.transport is not None and conn.transport.get_write_buffer_size() > 0
        if conn.closed or not conn.reusable or unsent or self._closed or len(idle) >= MAX_IDLE:
            conn.close()
            return
        idle.append(conn)

    async def aclose(self) -> None:
        """Close every idle connection (requests in flight close theirs when they end)."""
        self._closed = True
        for conns in self._idle.values():
            for conn in conns:
                conn.close()
        self._idle.clear()


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(WireTimeout("timed out waiting for the response"))


def _merge(items: list[tuple[str, str]], extra: Iterable[tuple[str, str]]) -> None:
    """httpx's header update: a name already present is removed, the new value appended."""
    for name, value in extra:
        lowered = name.lower()
        items[:] = [kv for kv in items if kv[0].lower() != lowered]
        items.append((name, value))


def _render(
    method: str, target: str, authority: str, items: list[tuple[str, str]], length: int | None
) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", f"Host: {authority}"]
    if length == 0:  # httpx puts an empty body's length first, a non-empty one's last
        lines.append("Content-Length: 0")
    lines += [f"{name}: {value}" for name, value in items]
    if length:
        lines.append(f"Content-Length: {length}")
    try:
        return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")
    except UnicodeEncodeError as exc:
        raise WireError(f"header is not ASCII: {exc}") from None
