"""Download files named in job input, as RunPod's ``rp_download``, through :mod:`.ssrf`.

``download_files_from_urls`` fetches in parallel (a thread pool), retries transient
failures (connection errors and HTTP error statuses) three times with exponential backoff,
and maps a URL that still fails to ``None`` with a "Failed to download" line. A URL refused
by the SSRF checks raises :class:`~pitstop.serverless.utils.ssrf.SSRFError` at once: it is
neither retried nor turned into ``None``, so a blocked address fails the job loudly.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
import uuid
import zipfile
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from pitstop.serverless.utils.ssrf import SSRFError, iter_capped, safe_stream

if TYPE_CHECKING:
    import httpx

__all__ = [
    "HEADERS",
    "SSRFError",
    "calculate_chunk_size",
    "download_files_from_urls",
    "file",
    "parse_content_length",
]

HEADERS = {"User-Agent": "runpod-python/0.0.0 (https://runpod.io; support@runpod.io)"}
TRIES = 3
_EXTENSION = re.compile(r"^\.[A-Za-z0-9_-]{1,16}$")
T = TypeVar("T")


def calculate_chunk_size(file_size: int) -> int:
    """RunPod's read size for a body of ``file_size`` bytes: 1 KiB up to 1 MiB, 1 MiB up to
    1 GiB, else 10 MiB."""
    if file_size <= 1024 * 1024:
        return 1024
    if file_size <= 1024 * 1024 * 1024:
        return 1024 * 1024
    return 10 * 1024 * 1024


def parse_content_length(headers: Mapping[str, str]) -> int:
    """``Content-Length`` as an int; 0 when missing or malformed (it is remote-controlled)."""
    try:
        return int(headers.get("Content-Length", 0))
    except (TypeError, ValueError):
        return 0


def download_files_from_urls(
    job_id: str,
    urls: str | Sequence[str | None],
    *,
    backoff: float = 1.0,
) -> list[str | None]:
    """Download each URL to ``./jobs/<job_id>/downloaded_files/<uuid4><ext>``.

    Returns absolute paths in input order; ``None`` for ``None`` entries and for URLs that
    failed all tries. ``backoff`` is the first retry delay in seconds (doubled each try).
    """
    directory = os.path.abspath(os.path.join("jobs", job_id, "downloaded_files"))
    os.makedirs(directory, exist_ok=True)
    url_list: list[str | None] = [urls] if isinstance(urls, str) else list(urls)

    def one(url: str | None) -> str | None:
        if url is None:
            return None
        return _download_with_retries(url, os.path.join(directory, str(uuid.uuid4())), backoff)

    with ThreadPoolExecutor(max_workers=min(32, max(1, len(url_list)))) as pool:
        return list(pool.map(one, url_list))


def file(file_url: str) -> dict[str, Any]:
    """Download one file to ``job_files/<uuid>.<ext>`` (timeout 30 s; HTTP errors raise).

    A ``zip`` is extracted to ``job_files/<uuid>/``. Returns ``file_path`` (absolute),
    ``type`` (extension without the dot), ``original_name`` and ``extracted_path``.
    """
    import httpx

    os.makedirs("job_files", exist_ok=True)
    name = str(uuid.uuid4())
    with safe_stream(file_url, timeout=30, headers=HEADERS) as response:
        response.raise_for_status()
        original = _disposition_filename(response) or os.path.basename(urlsplit(file_url).path)
        file_type = _safe_extension(original).lstrip(".")
        path = os.path.join("job_files", f"{name}.{file_type}")
        try:
            _write_body(response, path)
        except httpx.HTTPError:
            _remove_quietly(path)
            raise
    extracted = None
    if file_type == "zip":
        extracted = os.path.abspath(os.path.join("job_files", name))
        os.makedirs(extracted, exist_ok=True)
        with zipfile.ZipFile(path) as archive:
            archive.extractall(extracted)
    return {
        "file_path": os.path.abspath(path),
        "type": file_type,
        "original_name": original,
        "extracted_path": extracted,
    }


def _download_with_retries(url: str, base_path: str, backoff: float) -> str | None:
    """One URL: up to ``TRIES`` attempts; SSRFError propagates, the last failure gives None."""
    import httpx

    def attempt() -> str:
        return _download_once(url, base_path)

    try:
        return _retry(attempt, httpx.HTTPError, backoff)
    except httpx.HTTPError as err:
        _report_failure(url, err)
        return None


def _retry(fn: Callable[[], T], retry_on: type[Exception], backoff: float) -> T:
    for attempt in range(1, TRIES + 1):
        try:
            return fn()
        except retry_on:
            if attempt == TRIES:
                raise
            time.sleep(backoff * 2 ** (attempt - 1))
    raise AssertionError("unreachable")


def _report_failure(url: str, err: Exception) -> None:
    print(f"Failed to download {url}: {err}", flush=True)


def _download_once(url: str, base_path: str) -> str:
    import httpx

    with safe_stream(url, timeout=5, headers=HEADERS) as response:
        response.raise_for_status()
        extension = _safe_extension(_disposition_filename(response))
        if not extension:
            extension = _safe_extension(urlsplit(url).path)
        path = base_path + extension
        try:
            _write_body(response, path)
        except (httpx.HTTPError, SSRFError):
            _remove_quietly(path)
            raise
    return path


def _write_body(response: httpx.Response, path: str) -> None:
    with open(path, "wb") as out:
        for chunk in iter_capped(response):
            out.write(chunk)


def _disposition_filename(response: httpx.Response) -> str:
    return disposition_params(response.headers.get("Content-Disposition", "")).get("filename", "")


def disposition_params(header: str) -> Mapping[str, str]:
    """``key=value`` parameters of a ``Content-Disposition`` header, keys lower-cased."""
    params: dict[str, str] = {}
    for part in header.split(";"):
        key, sep, value = part.partition("=")
        if sep:
            params[key.strip().lower()] = value.strip().strip('"')
    return params


def _safe_extension(name: str) -> str:
    """The extension of ``name`` if it is short and plain (it becomes part of a local path)."""
    extension = os.path.splitext(os.path.basename(name))[1]
    return extension if _EXTENSION.match(extension) else ""


def _remove_quietly(path: str) -> None:
    with contextlib.suppress(OSError):
        os.remove(path)
