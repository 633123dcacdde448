"""download_files_from_urls / file: SSRF protection, retries and size cap, on real loopback HTTP."""

from __future__ import annotations

import io
import os
import socket
import zipfile
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import LoopbackServer, send
from pitstop.serverless.utils import ssrf
from runpod.serverless.utils import download_files_from_urls
from runpod.serverless.utils.rp_download import (
    calculate_chunk_size,
    file,
    iter_content_capped,
    parse_content_length,
    safe_get,
)
from runpod.serverless.utils.rp_ssrf import SSRFError, is_safe_address


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv(ssrf.ALLOW_PRIVATE_ENV, raising=False)
    monkeypatch.delenv(ssrf.MAX_BYTES_ENV, raising=False)


@pytest.fixture
def allow_private(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ssrf.ALLOW_PRIVATE_ENV, "true")


def body(data: bytes, headers: dict[str, str] | None = None) -> Any:
    return lambda h: send(h, 200, data, headers)


@pytest.mark.parametrize(
    ("ip", "safe"),
    [
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("192.168.0.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),
        ("::1", False),
        ("fd00::1", False),
        ("::ffff:10.0.0.1", False),
        ("not-an-ip", False),
        ("8.8.8.8", True),
        ("2606:4700:4700::1111", True),
    ],
)
def test_is_safe_address(ip: str, safe: bool) -> None:
    assert is_safe_address(ip) is safe


def test_loopback_url_is_refused_without_a_request(http_server: LoopbackServer) -> None:
    http_server.routes["/a.txt"] = body(b"secret")
    with pytest.raises(SSRFError, match=r"non-public address 127\.0\.0\.1"):
        download_files_from_urls("job1", f"{http_server.url}/a.txt")
    assert http_server.requests == []


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/x", "gopher://x/"])
def test_non_http_schemes_are_refused(url: str) -> None:
    with pytest.raises(SSRFError, match="blocked URL scheme"):
        download_files_from_urls("job1", url)


def test_proxied_url_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.internal:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with pytest.raises(SSRFError, match="through proxy"):
        download_files_from_urls("job1", "http://example.com/file.bin")


@pytest.mark.usefixtures("allow_private")
def test_private_urls_download_with_the_escape_hatch(http_server: LoopbackServer) -> None:
    http_server.routes["/img.png"] = body(b"PNGDATA")
    http_server.routes["/dl"] = body(
        b"zipdata", {"Content-Disposition": 'attachment; filename="model.tar.gz"'}
    )
    paths = download_files_from_urls(
        "job1", [f"{http_server.url}/img.png", None, f"{http_server.url}/dl"]
    )
    assert paths[1] is None
    first, third = Path(str(paths[0])), Path(str(paths[2]))
    assert first.read_bytes() == b"PNGDATA" and first.suffix == ".png"
    assert third.read_bytes() == b"zipdata" and third.suffix == ".gz"
    assert first.parent == Path.cwd() / "jobs" / "job1" / "downloaded_files"
    assert first.is_absolute()


def test_redirect_to_a_private_address_is_refused(
    http_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Treat only the test server's loopback address as public, so the first hop is allowed
    # and the redirect target is judged by the real rules.
    real = ssrf.is_safe_address
    monkeypatch.setattr(ssrf, "is_safe_address", lambda ip: ip == "127.0.0.1" or real(ip))
    http_server.routes["/go"] = lambda h: send(
        h, 302, headers={"Location": "http://169.254.169.254/latest/meta-data/"}
    )
    with pytest.raises(SSRFError, match=r"169\.254\.169\.254"):
        download_files_from_urls("job1", f"{http_server.url}/go")
    assert http_server.hits("/go") == 1


@pytest.mark.usefixtures("allow_private")
def test_redirects_are_followed_and_bounded(http_server: LoopbackServer) -> None:
    http_server.routes["/r1"] = lambda h: send(h, 301, headers={"Location": "/final.txt"})
    http_server.routes["/final.txt"] = body(b"done")
    http_server.routes["/loop"] = lambda h: send(h, 302, headers={"Location": "/loop"})
    [path] = download_files_from_urls("job1", [f"{http_server.url}/r1"])
    assert Path(str(path)).read_bytes() == b"done"
    with pytest.raises(SSRFError, match="more than 5 redirects"):
        download_files_from_urls("job1", f"{http_server.url}/loop")
    assert http_server.hits("/loop") == 6


def test_connection_is_pinned_to_the_validated_address(
    http_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_getaddrinfo = socket.getaddrinfo
    lookups: list[str] = []

    def fake_dns(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "files.example.test":
            lookups.append(host)
            return real_getaddrinfo("127.0.0.1", *args, **kwargs)
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake_dns)
    monkeypatch.setattr(ssrf, "is_safe_address", lambda ip: ip == "127.0.0.1")
    http_server.routes["/w.bin"] = body(b"weights")
    [path] = download_files_from_urls("job1", f"http://files.example.test:{http_server.port}/w.bin")
    assert Path(str(path)).read_bytes() == b"weights"
    # One resolution (ours): the socket went to the validated IP, not a second lookup.
    assert lookups == ["files.example.test"]
    assert http_server.requests[0][1]["Host"] == f"files.example.test:{http_server.port}"


@pytest.mark.usefixtures("allow_private")
def test_declared_size_over_the_cap_is_refused(
    http_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ssrf.MAX_BYTES_ENV, "100")
    http_server.routes["/big"] = body(b"x" * 1000)
    with pytest.raises(SSRFError, match="1000 > 100"):
        download_files_from_urls("job1", f"{http_server.url}/big")


@pytest.mark.usefixtures("allow_private")
def test_undeclared_size_over_the_cap_is_refused_while_streaming(
    http_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ssrf.MAX_BYTES_ENV, "100")

    def chunked(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        for _ in range(5):
            h.wfile.write(b"64\r\n" + b"y" * 100 + b"\r\n")
        h.wfile.write(b"0\r\n\r\n")

    http_server.routes["/stream"] = chunked
    with pytest.raises(SSRFError, match="more than 100 bytes"):
        download_files_from_urls("job1", f"{http_server.url}/stream")
    assert os.listdir("jobs/job1/downloaded_files") == []


@pytest.mark.usefixtures("allow_private")
def test_transient_errors_are_retried(http_server: LoopbackServer) -> None:
    answers = iter([500, 503, 200])
    http_server.routes["/flaky.txt"] = lambda h: send(h, next(answers), b"payload")
    [path] = download_files_from_urls("job1", f"{http_server.url}/flaky.txt", backoff=0.001)
    assert Path(str(path)).read_bytes() == b"payload"
    assert http_server.hits("/flaky.txt") == 3


@pytest.mark.usefixtures("allow_private")
def test_persistent_failure_gives_none_after_three_tries(
    http_server: LoopbackServer, capsys: pytest.CaptureFixture[str]
) -> None:
    http_server.routes["/down"] = lambda h: send(h, 500, b"no")
    ok = f"{http_server.url}/ok.txt"
    http_server.routes["/ok.txt"] = body(b"fine")
    paths = download_files_from_urls("job1", [f"{http_server.url}/down", ok], backoff=0.001)
    assert paths[0] is None and Path(str(paths[1])).read_bytes() == b"fine"
    assert http_server.hits("/down") == 3
    assert f"Failed to download {http_server.url}/down" in capsys.readouterr().out


@pytest.mark.usefixtures("allow_private")
def test_file_downloads_and_extracts_zip(http_server: LoopbackServer) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("inner/a.txt", "A")
    http_server.routes["/pack"] = body(
        buf.getvalue(), {"Content-Disposition": 'attachment; filename="inputs.zip"'}
    )
    info = file(f"{http_server.url}/pack")
    assert info["type"] == "zip" and info["original_name"] == "inputs.zip"
    assert Path(info["file_path"]).read_bytes() == buf.getvalue()
    assert Path(info["extracted_path"], "inner", "a.txt").read_text() == "A"


@pytest.mark.usefixtures("allow_private")
def test_file_raises_on_http_error(http_server: LoopbackServer) -> None:
    with pytest.raises(httpx.HTTPStatusError):
        file(f"{http_server.url}/missing.zip")


def test_safe_get_refuses_a_loopback_url_before_connecting(http_server: LoopbackServer) -> None:
    http_server.routes["/f"] = body(b"x")
    with pytest.raises(SSRFError):
        safe_get(f"{http_server.url}/f")
    assert http_server.hits("/f") == 0


def test_safe_get_reads_like_a_requests_response(
    http_server: LoopbackServer, allow_private: None
) -> None:
    data = bytes(range(256)) * 8
    http_server.routes["/f"] = body(data)
    with safe_get(f"{http_server.url}/f", timeout=5) as response:
        response.raise_for_status()
        assert response.status_code == 200
        size = parse_content_length(response.headers)
        chunks = list(iter_content_capped(response, calculate_chunk_size(size), None))
    assert size == len(data)
    assert b"".join(chunks) == data
    assert max(len(c) for c in chunks) <= 1024
    eager = safe_get(f"{http_server.url}/f", stream=False)
    try:
        assert eager.content == data
        assert b"".join(eager.iter_content(100)) == data
    finally:
        eager.close()


def test_iter_content_capped_raises_past_the_cap(
    http_server: LoopbackServer, allow_private: None
) -> None:
    http_server.routes["/big"] = body(b"x" * 5000)
    with safe_get(f"{http_server.url}/big") as response, pytest.raises(SSRFError):
        list(iter_content_capped(response, 1024, 2048))
