"""The worker's HTTP side: RunPod's URL building (spec §4.2) and every request it sends.

One shared keep-alive client carries all traffic: :mod:`pitstop.serverless.fasthttp` for plain
http platforms (httpx's per-request CPU cost capped a worker near 120 jobs/s), an
``httpx.AsyncClient`` when some URL is https. Headers follow §4.3/§4.5:
``Authorization`` is the raw key, ``User-Agent`` starts ``RunPod-Python-SDK/``, result
POSTs add ``Content-Type: application/x-www-form-urlencoded``, ``charset: utf-8`` and a
per-request ``X-Request-ID`` (RunPod's sticky-header bug is not reproduced). Query
parameters are appended with ``&`` exactly as RunPod does, so platform URLs carry a ``?``.

pitstop extensions (``X-Pitstop-Attempt``, chunk coalescing, job logs) are switched on only
after a take response carried ``X-Pitstop-Server``. A 503 (the server's store is down, or it
is overloaded; nothing was done) is waited out as its ``Retry-After`` says, on every route. httpx is imported only for https
platforms, never at ``import runpod``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import platform
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from pitstop.config import WorkerConfig
from pitstop.serverless.backoff import UNAVAILABLE, Backoff, retry_after
from pitstop.serverless.done_batch import DoneBatcher, batch_url
from pitstop.serverless.logger import get_logger
from pitstop.serverless.version import runpod_version

if TYPE_CHECKING:
    import httpx

    from pitstop.serverless.fasthttp import Response as WireResponse

    Answer = httpx.Response | WireResponse

HELD_S = 0.05
"""A 204 that took at least this long was a held long-poll: re-poll without backoff."""
MAX_PING_IDS = 8000
"""Longest ``job_id`` list a ping carries (servers limit URL length; RunPod: 64 KiB)."""
EMPTY_BACKOFF_MAX = 1.0
"""Cap of the backoff after immediate empty answers (no work is not an error: stay responsive)."""


def user_agent() -> str:
    """RunPod's SDK User-Agent (the platform may key behaviour on its prefix), then pitstop's
    own product token."""
    import os

    from pitstop import __version__

    ua = (
        f"RunPod-Python-SDK/{runpod_version} ({platform.system()} {platform.release()}; "
        f"{platform.machine()}) Language/Python {platform.python_version()}"
    )
    integration = os.environ.get("RUNPOD_UA_INTEGRATION")
    ua = f"{ua} Integration/{integration}" if integration else ua
    return f"{ua} pitstop/{__version__}"


def _append(url: str, params: str) -> str:
    """Append ``&params`` (RunPod's naive ``+=``)."""
    return f"{url}&{params}"


@dataclass
class Urls:
    """Every URL the worker talks to, built once from :class:`WorkerConfig`."""

    take: str
    stop: str | None
    done: str
    stream: str
    ping: str
    process: str = ""
    """pitstop's ping parameters naming the worker process (see :func:`process_params`)."""

    @classmethod
    def from_config(cls, cfg: WorkerConfig) -> Urls:
        take = (cfg.job_take_url or "None").replace("$ID", cfg.worker_id)
        stop = take.replace("/job-take/", "/job-stop/") if "/job-take/" in take else None
        wid = cfg.worker_id
        return cls(
            take=take,
            stop=stop,
            done=cfg.job_done_url.replace("$RUNPOD_POD_ID", wid),
            stream=cfg.job_stream_url.replace("$RUNPOD_POD_ID", wid),
            ping=cfg.ping_url.replace("$RUNPOD_POD_ID", wid),
            process=process_params(cfg),
        )

    def take_url(self, count: int, in_progress: bool) -> str:
        """``job-take`` for one job, ``job-take-batch`` with ``batch_size`` for more."""
        busy = "1" if in_progress else "0"
        if count > 1:
            batch = self.take.replace("/job-take/", "/job-take-batch/")
            return _append(batch, f"batch_size={count}&job_in_progress={busy}")
        return _append(self.take, f"job_in_progress={busy}")

    def result_url(self, job_id: str, is_stream: bool) -> str:
        """job-done URL; ``isStream=true`` only for a generator's final result."""
        flag = "true" if is_stream else "false"
        return _append(self.done.replace("$ID", job_id), f"isStream={flag}")

    def stream_url(self, job_id: str) -> str:
        """job-stream URL (chunks carry ``isStream=false``, RunPod's inversion)."""
        return _append(self.stream.replace("$ID", job_id), "isStream=false")

    def log_url(self, job_id: str) -> str:
        """pitstop's job-log URL, derived from the job-done URL."""
        return self.done.replace("$ID", job_id).replace("/job-done/", "/job-log/")

    def ping_url(self, job_ids: list[str], process: bool = False) -> str:
        """Heartbeat URL: ``job_id`` comma-joined (omitted when idle), ``runpod_version``;
        with ``process`` (a pitstop server) also :attr:`process`."""
        params: dict[str, str] = {}
        if job_ids:
            params["job_id"] = _cap_ids(",".join(job_ids))
        params["runpod_version"] = runpod_version
        sep = "&" if "?" in self.ping else "?"
        tail = f"&{self.process}" if process and self.process else ""
        return f"{self.ping}{sep}{urlencode(params)}{tail}"


def process_params(cfg: WorkerConfig) -> str:
    """``pitstop_pid``, ``pitstop_host``, ``pitstop_started`` (now), ``pitstop_restarts`` and
    ``pitstop_gpus`` as a query string: what the dashboard's workers page shows. Sent only to
    a pitstop server, like every protocol extension."""
    import os
    import socket

    params = {
        "pitstop_pid": str(os.getpid()),
        "pitstop_host": socket.gethostname(),
        "pitstop_started": f"{time.time():.3f}",
    }
    if cfg.restarts is not None:
        params["pitstop_restarts"] = str(cfg.restarts)
    if cfg.gpus:
        params["pitstop_gpus"] = cfg.gpus
    return urlencode(params)


def _cap_ids(joined: str) -> str:
    """Keep the ping's id list under ``MAX_PING_IDS`` characters, cut at a comma."""
    if len(joined) <= MAX_PING_IDS:
        return joined
    get_logger().warn(
        f"Too many in-flight jobs to list in one ping; sent the first {MAX_PING_IDS} chars."
    )
    return joined[: joined.rfind(",", 0, MAX_PING_IDS + 1)]


@dataclass
class TakeResult:
    """What one job-take produced: jobs, or why not and how long to wait before the next."""

    jobs: list[dict[str, Any]] = field(default_factory=list)
    wait: float = 0.0
    failed: bool = False


def parse_jobs(response: Answer) -> list[dict[str, Any]]:
    """Jobs from a 200 take answer (§4.4); raises ValueError for an object without id/input."""
    if "application/json" not in str(response.headers.get("content-type") or ""):
        return []
    if not response.content:
        return []
    try:
        data = json.loads(response.content)
    except ValueError:
        get_logger().debug("job-take answered invalid JSON; no job.")
        return []
    if isinstance(data, dict):
        if "id" not in data or "input" not in data:
            raise ValueError("Job has missing field(s): id or input.")
        return [data]
    if isinstance(data, list):
        return [job for job in data if _valid_batch_job(job)]
    return []


def _valid_batch_job(job: Any) -> bool:
    if isinstance(job, dict) and isinstance(job.get("id"), str):
        return True
    get_logger().error(
        f"Failed to get job. | Error Type: Exception | Error Message: bad job {job!r}"
    )
    return False


def _cache_sniffio_absence() -> None:
    """Make a missing ``sniffio`` fail fast: httpcore tries to import it on every request."""
    if "sniffio" in sys.modules:
        return
    try:
        import sniffio  # noqa: F401
    except ImportError:
        sys.modules["sniffio"] = None  # type: ignore[assignment]


def _quiet_httpx_logging() -> None:
    """httpx logs every request at INFO; keep that out of a user's INFO logging setup."""
    http_log = logging.getLogger("httpx")
    if http_log.level == logging.NOTSET:
        http_log.setLevel(logging.WARNING)


def _client(cfg: WorkerConfig, urls: Urls, headers: dict[str, str]) -> Any:
    """The light :mod:`wire` client for plain-http platforms; httpx when TLS is involved
    (or when ``cfg.http_client`` is ``"httpx"``)."""
    if cfg.http_client != "httpx" and not _uses_tls(urls):
        from pitstop.serverless.fasthttp import Client

        return Client(headers, timeout=600.0)
    _cache_sniffio_absence()
    _quiet_httpx_logging()
    import httpx

    return httpx.AsyncClient(
        headers=headers,
        timeout=httpx.Timeout(600.0),
        verify=True if _uses_tls(urls) else _no_tls_context(),
        trust_env=False,  # as RunPod's aiohttp session: no proxy variables for job traffic
        limits=httpx.Limits(max_connections=None, max_keepalive_connections=64),
    )


def _no_tls_context() -> Any:
    """A context that loads no CA bundle (httpx loads one even for ``verify=False``, ~0.1 s)."""
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _uses_tls(urls: Urls) -> bool:
    return any(u.startswith("https:") for u in (urls.take, urls.done, urls.stream, urls.ping))


def _timeouts() -> tuple[type[BaseException], ...]:
    """Exception types meaning "no answer in time", of whichever client is in use."""
    from pitstop.serverless.fasthttp import WireTimeout

    httpx = sys.modules.get("httpx")
    return (WireTimeout, httpx.TimeoutException) if httpx else (WireTimeout,)


def _failures() -> tuple[type[BaseException], ...]:
    """Exception types meaning "the request failed", of whichever client is in use."""
    from pitstop.serverless.fasthttp import WireError

    httpx = sys.modules.get("httpx")
    return (WireError, httpx.HTTPError) if httpx else (WireError,)


class Transport:
    """HTTP calls of a running worker, sharing one client and the pitstop-server flag."""

    def __init__(self, cfg: WorkerConfig, urls: Urls) -> None:
        self.cfg = cfg
        self.urls = urls
        self.pitstop = False
        headers = {
            "Content-Type": "application/json",
            "Authorization": cfg.api_key,
            "User-Agent": user_agent(),
        }
        self.client: Any = _client(cfg, urls, headers)
        self.take_backoff = Backoff(cfg.backoff_base, cfg.backoff_max)
        self.empty_backoff = Backoff(cfg.backoff_base, min(cfg.backoff_max, EMPTY_BACKOFF_MAX))
        self._take_urls: dict[tuple[int, bool], str] = {}
        self.finals = DoneBatcher(self, batch_url(urls.done, cfg.worker_id))
        self._last_error_log = 0.0
        self._suppressed = 0

    async def aclose(self) -> None:
        """Close the shared client."""
        await self.client.aclose()

    async def take(self, count: int, in_progress: bool) -> TakeResult:
        """One job-take (or batch take) long-poll, classified as §4.4 (with backoff)."""
        key = (count, in_progress)
        url = self._take_urls.get(key)
        if url is None:
            url = self._take_urls[key] = self.urls.take_url(count, in_progress)
        started = time.monotonic()
        try:
            response = await self.client.get(url, timeout=self.cfg.take_timeout)
        except _timeouts():
            return TakeResult()
        except _failures() as exc:
            return self._take_failed(type(exc).__name__, str(exc) or repr(exc))
        return self._take_answered(response, time.monotonic() - started)

    def _take_answered(self, response: Answer, elapsed: float) -> TakeResult:
        status = response.status_code
        if response.headers.get("x-pitstop-server"):
            self.pitstop = True
        if status == 200:
            return self._take_ok(response)
        if status == 429:
            get_logger().debug("job-take rate limited (429); waiting.")
            return TakeResult(wait=self.cfg.rate_limit_wait)
        if status == UNAVAILABLE:
            return self._take_unavailable(response)
        if status in (204, 400):
            return self._take_empty(elapsed)
        reason = f"{status}, message='{response.reason_phrase}', url='{response.url}'"
        return self._take_failed("ClientResponseError", reason)

    def _take_empty(self, elapsed: float) -> TakeResult:
        """No work: re-poll at once after a held long-poll, back off after an instant answer."""
        self.take_backoff.reset()
        if elapsed >= HELD_S:
            self.empty_backoff.reset()
            return TakeResult()
        return TakeResult(wait=self.empty_backoff.next())

    def _take_ok(self, response: Answer) -> TakeResult:
        try:
            jobs = parse_jobs(response)
        except ValueError as exc:
            return self._take_failed("Exception", str(exc))
        self.take_backoff.reset()
        if jobs:
            self.empty_backoff.reset()
            return TakeResult(jobs=jobs)
        return TakeResult(wait=self.empty_backoff.next())

    def _take_unavailable(self, response: Answer) -> TakeResult:
        """503: wait as long as the server asked (at least the usual backoff)."""
        backoff = self.take_backoff.next()
        wait = max(backoff, retry_after(response.headers) or 0.0)
        self._log_take_error("ServiceUnavailable", f"503 from the server; retrying in {wait:.1f}s")
        return TakeResult(wait=wait, failed=True)

    def _take_failed(self, kind: str, message: str) -> TakeResult:
        self._log_take_error(kind, message)
        return TakeResult(wait=self.take_backoff.next(), failed=True)

    def _log_take_error(self, kind: str, message: str) -> None:
        """RunPod's ERROR line, at most one per second (with a count of the ones skipped)."""
        now = time.monotonic()
        if now - self._last_error_log < 1.0:
            self._suppressed += 1
            return
        more = f" ({self._suppressed} similar errors suppressed)" if self._suppressed else ""
        self._last_error_log = now
        self._suppressed = 0
        get_logger().error(
            f"Failed to get job. | Error Type: {kind} | Error Message: {message}{more}"
        )

    async def stop_poll(self) -> tuple[list[str], float]:
        """One job-stop long-poll: ids to stop and how long to wait before the next poll."""
        assert self.urls.stop is not None
        floor = self.cfg.stop_poll_floor
        try:
            response = await self.client.get(self.urls.stop, timeout=self.cfg.take_timeout)
        except _timeouts():
            return [], 0.0
        except _failures() as exc:
            return _stop_error(type(exc).__name__, str(exc) or repr(exc), self._error_wait())
        if response.status_code == 429:
            return [], self.cfg.rate_limit_wait
        if response.status_code == UNAVAILABLE:
            return [], max(self._error_wait(), retry_after(response.headers) or 0.0)
        if response.status_code == 204:
            return [], floor
        if response.status_code != 200:
            return _stop_error("ClientResponseError", str(response.status_code), self._error_wait())
        ids = parse_stop_ids(response)
        return ids, 0.0 if ids else floor

    def _error_wait(self) -> float:
        """Pause after a failed job-stop poll: the floor, never a hot loop."""
        return max(self.cfg.stop_poll_floor, self.cfg.backoff_base)

    def headers_for(self, job: dict[str, Any], *, result: bool = True) -> dict[str, str]:
        """Per-request headers of a job's POSTs (§4.5 plus the attempt fence)."""
        headers = {"X-Request-ID": str(job.get("id"))}
        if result:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["charset"] = "utf-8"
        attempt = job.get("attempt")
        if self.pitstop and isinstance(attempt, int) and not isinstance(attempt, bool):
            headers["X-Pitstop-Attempt"] = str(attempt)
        return headers

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        """POST with retries on 5xx and connection errors; the final status (0: unreachable)."""
        status, _ = await self.post_answer(url, body, headers)
        return status

    async def post_answer(
        self, url: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        """:meth:`post`, also returning the final answer's body (empty when unreachable).

        ``result_attempts`` bounds the retries after errors; 503 answers (nothing was
        stored) are waited out as ``Retry-After`` says for up to ``unavailable_wait``
        seconds in all, without using up attempts, so a result outlives a store outage.
        """
        attempt, waited, status, content = 0, 0.0, 0, b""
        while True:
            try:
                response = await self.client.post(url, content=body, headers=headers)
            except _failures() as exc:
                get_logger().debug(f"POST {url} failed: {type(exc).__name__}: {exc}")
                status, content = 0, b""
            else:
                status, content = int(response.status_code), bytes(response.content)
                if status < 500:
                    return status, content
                hinted = retry_after(response.headers) if status == UNAVAILABLE else None
                if hinted is not None and waited + hinted <= self.cfg.unavailable_wait:
                    get_logger().warn(f"POST {url}: 503 from the server; retrying in {hinted}s")
                    waited += hinted
                    await asyncio.sleep(hinted)
                    continue
            attempt += 1
            if attempt >= max(1, self.cfg.result_attempts):
                return status, content
            await asyncio.sleep(self.cfg.result_backoff * (2 ** (attempt - 1)))

    async def ping(self, job_ids: list[str], timeout: float) -> int:
        """One heartbeat GET; the status, or 0 when it could not be sent."""
        try:
            response = await self.client.get(
                self.urls.ping_url(job_ids, self.pitstop),
                headers={"Authorization": self.cfg.api_key},
                timeout=timeout,
            )
        except _failures() as exc:
            get_logger().error(f"Ping Request Error: {exc!r}, attempting to restart ping.")
            return 0
        if not self.pitstop and response.headers.get("x-pitstop-server"):
            self.pitstop = True  # say at once which process this is (the dashboard shows it)
            return await self.ping(job_ids, timeout)
        return int(response.status_code)


def parse_stop_ids(response: Answer) -> list[str]:
    """String ids from a ``{"jobsToStop": [...]}`` answer; anything else is none (WARN)."""
    log = get_logger()
    try:
        data = json.loads(response.content)
    except ValueError:
        log.warn("job-stop answered invalid JSON; ignored.")
        return []
    ids = data.get("jobsToStop") if isinstance(data, dict) else None
    if not isinstance(ids, list):
        log.warn("job-stop answer has no jobsToStop list; ignored.")
        return []
    good = [i for i in ids if isinstance(i, str)]
    if len(good) != len(ids):
        log.warn(f"job-stop: ignored non-string ids {[i for i in ids if not isinstance(i, str)]}")
    return good


def _stop_error(kind: str, message: str, wait: float) -> tuple[list[str], float]:
    get_logger().error(
        f"JobScaler.monitor_stop_signals | Error Type: {kind} | Error Message: {message}"
    )
    return [], wait
