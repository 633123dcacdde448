"""SSRF-safe fetching of URLs that arrive in job input.

A job can name any URL; without care a worker would fetch cloud metadata
(169.254.169.254) or services on its private network for whoever submits jobs. Every hop
of a fetch here is checked, as RunPod's ``rp_ssrf`` does:

* only ``http`` and ``https``;
* the host is resolved and **every** address must be globally routable (the rules of
  :mod:`pitstop.ssrf`, shared with the server's webhooks);
* the connection goes to the validated address (the URL's host is replaced by the IP, the
  ``Host`` header and TLS SNI/certificate name stay the original host), so DNS rebinding
  between check and connect cannot redirect it;
* redirects are followed by hand, each hop re-validated, at most five;
* a URL the environment would send through a proxy is refused (pinning cannot hold there);
* the body is capped at ``RUNPOD_MAX_DOWNLOAD_BYTES`` (default 5 GiB), checked against
  ``Content-Length`` and while streaming.

``RUNPOD_ALLOW_PRIVATE_DOWNLOAD_URLS=1|true|yes`` turns off the address and proxy checks
(for same-network object stores); the scheme check and size cap still apply. A refused
URL raises :class:`SSRFError`, a ``ValueError``, which callers must not retry.
"""

from __future__ import annotations

import os
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from pitstop.ssrf import SSRFError, pinned_request, resolve
from pitstop.ssrf import is_public_address as is_safe_address

if TYPE_CHECKING:
    import httpx

__all__ = ["SSRFError", "is_safe_address", "resolve_and_validate", "safe_stream"]

ALLOW_PRIVATE_ENV = "RUNPOD_ALLOW_PRIVATE_DOWNLOAD_URLS"
MAX_BYTES_ENV = "RUNPOD_MAX_DOWNLOAD_BYTES"
DEFAULT_MAX_BYTES = 5 * 1024**3
MAX_REDIRECTS = 5
_SCHEMES = ("http", "https")
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


def private_allowed() -> bool:
    """True when ``RUNPOD_ALLOW_PRIVATE_DOWNLOAD_URLS`` disables the address checks."""
    return os.environ.get(ALLOW_PRIVATE_ENV, "").strip().lower() in ("1", "true", "yes")


def resolve_and_validate(host: str, port: int) -> list[str]:
    """Resolve ``host``; return its addresses, refusing if any one is not public."""
    ips = resolve(host, port)
    if not private_allowed():
        for ip in ips:
            if not is_safe_address(ip):
                raise SSRFError(
                    f"host {host!r} resolves to non-public address {ip}; "
                    f"set {ALLOW_PRIVATE_ENV}=true to allow private destinations"
                )
    return ips


def max_download_bytes() -> int:
    """The per-download byte cap from ``RUNPOD_MAX_DOWNLOAD_BYTES`` (invalid or <= 0: 5 GiB)."""
    try:
        value = int(os.environ.get(MAX_BYTES_ENV, ""))
    except ValueError:
        return DEFAULT_MAX_BYTES
    return value if value > 0 else DEFAULT_MAX_BYTES


def refuse_if_proxied(url: str) -> None:
    """Refuse a URL the environment routes through a proxy (``NO_PROXY`` is honoured)."""
    if private_allowed():
        return
    parts = urlsplit(url)
    proxy = urllib.request.getproxies_environment().get(parts.scheme)
    bypass = getattr(urllib.request, "proxy_bypass_environment")  # noqa: B009 (untyped)
    if proxy and not bypass(parts.hostname or ""):
        raise SSRFError(
            f"refusing to fetch {url} through proxy {proxy}: the connection cannot be "
            f"pinned to a validated address; set {ALLOW_PRIVATE_ENV}=true to allow it"
        )


@contextmanager
def safe_stream(
    url: str,
    *,
    timeout: float,
    headers: Mapping[str, str] | None = None,
    max_bytes: int | None = None,
    max_redirects: int = MAX_REDIRECTS,
) -> Iterator[httpx.Response]:
    """Open a streamed GET of ``url`` with every protection above; close it on exit.

    The response is not status-checked (call ``raise_for_status``); read the body with
    :func:`iter_capped` so the cap also holds when ``Content-Length`` lies or is absent.
    """
    import httpx

    cap = max_download_bytes() if max_bytes is None else max_bytes
    with httpx.Client(trust_env=False, timeout=timeout, follow_redirects=False) as client:
        current = url
        for _hop in range(max_redirects + 1):
            response = _open_hop(client, current, headers or {})
            if response.status_code not in _REDIRECTS:
                break
            location = response.headers.get("Location")
            response.close()
            if not location:
                raise SSRFError(f"redirect without a Location header: {current}")
            current = urljoin(current, location)
        else:
            raise SSRFError(f"more than {max_redirects} redirects: {url}")
        try:
            _check_declared_size(response, cap)
            yield response
        finally:
            response.close()


def iter_capped(response: httpx.Response, max_bytes: int | None = None) -> Iterator[bytes]:
    """Yield the body in 64 KiB chunks; raise SSRFError as soon as it passes the cap."""
    cap = max_download_bytes() if max_bytes is None else max_bytes
    return iter_content_capped(response, 64 * 1024, cap)


def iter_content_capped(response: Any, chunk_size: int, max_bytes: int | None) -> Iterator[bytes]:
    """RunPod's ``iter_content_capped``: the body in chunks, SSRFError (after closing the
    response) once more than ``max_bytes`` arrived. Works on httpx and requests responses."""
    if hasattr(response, "iter_content"):
        chunks = response.iter_content(chunk_size=chunk_size)
    else:
        chunks = response.iter_bytes(chunk_size)
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if max_bytes is not None and total > max_bytes:
            response.close()
            raise SSRFError(f"download exceeds the size cap: more than {max_bytes} bytes")
        if chunk:
            yield chunk


class SafeResponse:
    """What :func:`safe_get` returns: the validated response, with requests' reading API
    (``iter_content``, ``content``, ``raise_for_status``, ``with``); other attributes are
    httpx's (``status_code``, ``headers``, ``url``). ``close()`` releases the connection."""

    def __init__(self, response: httpx.Response, stack: ExitStack) -> None:
        self._response = response
        self._stack = stack
        self._body: bytes | None = None

    def iter_content(
        self, chunk_size: int | None = 1, decode_unicode: bool = False
    ) -> Iterator[bytes]:
        """The body in chunks of ``chunk_size`` bytes (any size when None)."""
        if self._body is not None:
            yield self._body
            return
        yield from self._response.iter_bytes(chunk_size)

    @property
    def content(self) -> bytes:
        """The whole body, read (under the cap) on first use."""
        if self._body is None:
            self._body = b"".join(iter_capped(self._response))
        return self._body

    def raise_for_status(self) -> None:
        """Raise ``httpx.HTTPStatusError`` for a 4xx or 5xx answer."""
        self._response.raise_for_status()

    def close(self) -> None:
        """Close the response and its client."""
        self._stack.close()

    def __enter__(self) -> SafeResponse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._response, name)


def safe_get(
    url: str,
    *,
    stream: bool = True,
    timeout: float = 30,
    headers: Mapping[str, str] | None = None,
    max_bytes: int | None = None,
    max_redirects: int = MAX_REDIRECTS,
) -> SafeResponse:
    """RunPod's ``safe_get``: a GET with every protection of :func:`safe_stream`, returned
    open (close it, or use ``with``); with ``stream=False`` the body is read at once."""
    stack = ExitStack()
    try:
        response = stack.enter_context(
            safe_stream(
                url,
                timeout=timeout,
                headers=headers,
                max_bytes=max_bytes,
                max_redirects=max_redirects,
            )
        )
        safe = SafeResponse(response, stack)
        if not stream:
            _ = safe.content
    except BaseException:
        stack.close()
        raise
    return safe


def _open_hop(client: httpx.Client, url: str, headers: Mapping[str, str]) -> httpx.Response:
    """Validate one hop and send it to the first reachable validated address."""
    import httpx

    parts = urlsplit(url)
    if parts.scheme not in _SCHEMES:
        raise SSRFError(f"blocked URL scheme {parts.scheme!r}: {url}")
    if not parts.hostname:
        raise SSRFError(f"URL has no host: {url}")
    refuse_if_proxied(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as err:
        raise SSRFError(f"bad port in {url}: {err}") from err
    last_error: Exception | None = None
    for ip in resolve_and_validate(parts.hostname, port):
        request = pinned_request(client, "GET", url, ip, headers)
        try:
            return client.send(request, stream=True)
        except httpx.ConnectError as err:
            last_error = err
    assert last_error is not None
    raise last_error


def _check_declared_size(response: httpx.Response, cap: int) -> None:
    declared = response.headers.get("Content-Length")
    try:
        size = int(declared) if declared is not None else None
    except ValueError:
        size = None
    if size is not None and size > cap:
        raise SSRFError(f"download exceeds the size cap: {size} > {cap} bytes")
