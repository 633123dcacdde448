"""The official SDK's wire helpers with their signatures, sent with httpx.

``rp_http.send_result`` / ``stream_result`` POST a job's body to a job-done / job-stream
URL (``$ID`` replaced, ``&isStream=`` appended, three attempts on 5xx and connection
errors; failures are logged, never raised). ``rp_job.get_job`` / ``get_stop_signals`` make
one job-take / job-stop request and raise :class:`pitstop.errors.TooManyRequests` on 429,
as the official ones do. The URL templates are arguments: the facade passes its module
settings (``rp_http.JOB_DONE_URL``, ``rp_job.JOB_GET_URL``), so assigning those takes
effect for these functions.

The ``session`` argument is used when it is a :class:`runpod.http_client.AsyncClientSession`
or an ``httpx.AsyncClient``; anything else (an aiohttp session) is ignored and a short-lived
httpx client is used. Requests carry the official session's headers (:func:`get_auth_header`).

``get_auth_header`` and :func:`sync_session_class` back ``runpod.http_client``.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from pitstop.errors import MissingExtraError, TooManyRequests
from pitstop.serverless.jobs_progress import jobs_in_progress
from pitstop.serverless.logger import get_logger
from pitstop.serverless.transport import Urls, parse_jobs, parse_stop_ids, user_agent

if TYPE_CHECKING:
    import httpx

ATTEMPTS = 3
RETRY_DELAYS = (0.1, 0.2)
TIMEOUT_S = 90.0


def get_auth_header() -> dict[str, str]:
    """The official session headers: the key from ``~/.runpod/config.toml``, else
    ``RUNPOD_AI_API_KEY``, plus RunPod's User-Agent (``http_client.get_auth_header``)."""
    from pitstop.credentials import get_credentials

    credentials = get_credentials()
    if credentials is not None:
        auth = str(credentials.get("api_key", ""))
    else:
        auth = os.environ.get("RUNPOD_AI_API_KEY", "")
    return {
        "Content-Type": "application/json",
        "Authorization": auth,
        "User-Agent": user_agent(),
        "Accept-Encoding": "gzip, deflate",
    }


def sync_session_class() -> type[Any]:
    """``http_client.SyncClientSession``: a ``requests.Session`` subclass when requests is
    installed, else a class whose construction names the extra to install."""
    try:
        import requests
    except ImportError:
        return _MissingRequestsSession

    class SyncClientSession(requests.Session):
        """``requests.Session``, as the official SDK's ``SyncClientSession``."""

    return SyncClientSession


class _MissingRequestsSession:
    """Stands in for ``SyncClientSession`` when requests is not installed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise MissingExtraError("runpod", "requests")


@asynccontextmanager
async def _client(session: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The caller's httpx client (directly or inside an AsyncClientSession), else a new one."""
    import httpx

    http = getattr(session, "http", session)
    if isinstance(http, httpx.AsyncClient):
        yield http
        return
    async with httpx.AsyncClient(timeout=TIMEOUT_S, trust_env=False) as client:
        yield client


async def _post(session: Any, url: str, body: bytes, job_id: str) -> None:
    """POST with up to three attempts on 5xx and connection errors; raises the last failure."""
    import httpx

    headers = {
        **get_auth_header(),
        "charset": "utf-8",
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Request-ID": job_id,
    }
    async with _client(session) as client:
        for attempt in range(ATTEMPTS):
            last = attempt == ATTEMPTS - 1
            try:
                response = await client.post(url, content=body, headers=headers)
            except httpx.TransportError:
                if last:
                    raise
            else:
                if response.status_code < 500 or last:
                    response.raise_for_status()
                    return
            await asyncio.sleep(RETRY_DELAYS[min(attempt, len(RETRY_DELAYS) - 1)])


async def _send(
    session: Any,
    job_data: dict[str, Any],
    job: dict[str, Any],
    url_template: str,
    sent_message: str,
    *,
    is_stream: bool = False,
    final: bool = False,
) -> None:
    import httpx

    log = get_logger()
    job_id = str(job["id"])
    try:
        body = json.dumps(job_data, ensure_ascii=False).encode("utf-8")
        flag = "true" if is_stream else "false"
        await _post(session, f"{url_template.replace('$ID', job_id)}&isStream={flag}", body, job_id)
        log.debug(sent_message, job_id)
    except httpx.HTTPError as err:
        log.error(f"Failed to return job results. | {err}", job_id)
    except (TypeError, ValueError, RuntimeError) as err:
        log.error(f"Error while returning job result. | {err}", job_id)
    finally:
        if final and job_data.get("status") != "IN_PROGRESS":
            log.info("Finished.", job_id)


async def send_result(
    session: Any,
    job_data: dict[str, Any],
    job: dict[str, Any],
    is_stream: bool = False,
    *,
    url_template: str,
) -> None:
    """POST a job-done body (``rp_http.send_result``); logs ``Finished.`` unless progress."""
    await _send(
        session, job_data, job, url_template, "Results sent.", is_stream=is_stream, final=True
    )


async def stream_result(
    session: Any, job_data: dict[str, Any], job: dict[str, Any], *, url_template: str
) -> None:
    """POST one stream chunk (``rp_http.stream_result``)."""
    await _send(session, job_data, job, url_template, "Intermediate results sent.")


def _too_many(response: httpx.Response) -> TooManyRequests:
    return TooManyRequests(
        response.request, (), status=response.status_code, message=response.reason_phrase
    )


async def get_job(session: Any, num_jobs: int = 1, *, take_url: str) -> list[dict[str, Any]] | None:
    """One job-take (batch take for ``num_jobs`` > 1): the jobs, or None when there are none.

    ``job_in_progress`` comes from :class:`~pitstop.serverless.jobs_progress.JobsProgress`.
    """
    busy = jobs_in_progress().get_job_count() > 0
    url = Urls(take=take_url, stop=None, done="", stream="", ping="").take_url(num_jobs, busy)
    get_logger().debug(f"rp_job | get_job: {url}")
    async with _client(session) as client:
        response = await client.get(url, headers=get_auth_header(), timeout=TIMEOUT_S)
    if response.status_code in (204, 400):
        return None
    if response.status_code == 429:
        raise _too_many(response)
    response.raise_for_status()
    jobs = parse_jobs(response)
    return jobs or None


async def get_stop_signals(session: Any, *, stop_url: str | None) -> list[str]:
    """One job-stop long-poll: ids of jobs to stop (empty without a stop channel)."""
    if not stop_url:
        return []
    async with _client(session) as client:
        response = await client.get(stop_url, headers=get_auth_header(), timeout=TIMEOUT_S)
    if response.status_code == 204:
        return []
    if response.status_code == 429:
        raise _too_many(response)
    response.raise_for_status()
    if "application/json" not in response.headers.get("content-type", ""):
        get_logger().warn("rp_job | get_stop_signals: unexpected content type")
        return []
    return parse_stop_ids(response)


def stop_url_for(take_url: str) -> str | None:
    """The job-stop URL derived from a job-take URL (None when it has no ``/job-take/``)."""
    return take_url.replace("/job-take/", "/job-stop/") if "/job-take/" in take_url else None
