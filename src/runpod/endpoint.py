"""RunPod's client classes (``runpod.Endpoint``, ``runpod.AsyncioEndpoint``) on pitstop's client.

The signatures are RunPod SDK 1.12.0's, so existing client code runs unchanged; every
request goes through :mod:`pitstop.client` (no HTTP logic here). ``runpod.api_key`` and
``runpod.endpoint_url_base`` (env ``RUNPOD_ENDPOINT_BASE_URL``) are read when an object is
constructed, as in the official SDK.

Deliberate differences from the official client (its bugs are not reproduced):

* ``Endpoint.run_sync`` and ``Job.output`` never drop errors: a FAILED job raises
  ``pitstop.errors.JobFailed`` carrying the worker's error string (CANCELLED raises
  ``JobCancelled``, TIMED_OUT ``JobTimedOut``); the official client returns ``None``.
* ``Job.stream`` ends on every terminal state, CANCELLED included (the official one loops
  for ever on a cancelled job). Waiting uses long-polls, not a 1 s polling loop.
* ``AsyncioJob.output()`` with the default ``timeout=0`` waits until the job ends (the
  official one raises ``TimeoutError`` at once).
* ``AsyncioEndpoint.run`` accepts ``{"input": ..., "webhook": ..., "policy": ...}`` like the
  sync ``run`` (the official one always wraps, so it cannot send a webhook or policy).
* ``{"input": <falsy value>, ...}`` passes through as a submit body (the official client
  wraps it a second time).
* HTTP errors raise ``pitstop.errors`` classes (``Unauthorized`` for 401, ``NotFound``,
  ``QueueFull``...) instead of ``RuntimeError`` / ``requests.HTTPError``; waiting too long
  raises ``pitstop.errors.WaitTimeout``, a ``TimeoutError`` as in the official client.
* No API key is accepted (a pitstop server may run without keys): requests then carry no
  ``Authorization`` header instead of failing with ``RuntimeError``.
* ``AsyncioEndpoint(endpoint_id, session)`` takes the session for signature compatibility.
  A :class:`runpod.http_client.AsyncClientSession` is used as the connection pool; any other
  session (e.g. aiohttp's) is ignored and the endpoint uses its own httpx pool, closed by
  ``await endpoint.close()`` (or ``async with``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from types import TracebackType
from typing import Any

from pitstop.client import AsyncClient, Client
from pitstop.client._core import is_terminal, outcome, root_of

_SUBMIT_KEYS = ("input", "webhook", "policy", "s3Config")


def _settings(api_key: str | None) -> tuple[str | None, str]:
    """The API key and base URL in force now (``runpod.api_key``, ``runpod.endpoint_url_base``)."""
    import runpod

    return api_key or runpod.api_key, runpod.endpoint_url_base


def submit_body(request_input: Any) -> dict[str, Any]:
    """RunPod's wrapping rule: a dict with an ``input`` key is already a submit body
    (``input``, ``webhook``, ``policy``, ``s3Config``); anything else becomes its ``input``."""
    if isinstance(request_input, Mapping) and "input" in request_input:
        return {k: request_input[k] for k in _SUBMIT_KEYS if k in request_input}
    return {"input": request_input}


def _final_output(body: Mapping[str, Any]) -> Any:
    """The output of a status body: raises for a terminal state other than COMPLETED."""
    return outcome(body) if is_terminal(body) else body.get("output")


def _sync_client(api_key: str | None) -> Client:
    key, base = _settings(api_key)
    return Client(root_of(base), key, endpoint_base=base)


# ---------------------------------------------------------------------------- sync


class Job:
    """A submitted job (``runpod.endpoint.runner.Job``)."""

    def __init__(self, endpoint_id: str, job_id: str, client: Client) -> None:
        self.endpoint_id = endpoint_id
        self.job_id = job_id
        self.rp_client = client
        self._job = client.endpoint(endpoint_id).job(job_id)
        self._final: dict[str, Any] | None = None

    def _fetch(self) -> dict[str, Any]:
        if self._final is not None:
            return self._final
        body = self._job.status()
        if is_terminal(body):
            self._final = body
        return body

    def status(self) -> str:
        """The job's state (``IN_QUEUE``, ..., ``COMPLETED``); cached once terminal."""
        return str(self._fetch()["status"])

    def output(self, timeout: int = 0) -> Any:
        """The output; with ``timeout`` > 0, first wait up to that many seconds
        (``TimeoutError`` after). A job that ended FAILED/CANCELLED/TIMED_OUT raises."""
        if timeout > 0 and self._final is None:
            self._final = self._job.wait(timeout)
        return _final_output(self._fetch())

    def stream(self) -> Iterator[Any]:
        """Yield the job's streamed outputs; ends when the job ends (in any state)."""
        yield from self._job.stream()
        if self._job.last is not None and is_terminal(self._job.last):
            self._final = self._job.last

    def cancel(self, timeout: int = 3) -> Any:
        """Cancel the job; returns the server's answer (``{"id", "status"}``)."""
        return self.rp_client.endpoint(self.endpoint_id).cancel(self.job_id, timeout=timeout)


class Endpoint:
    """An endpoint (``runpod.Endpoint``): ``Endpoint(endpoint_id, api_key=None)``."""

    def __init__(self, endpoint_id: str, api_key: str | None = None) -> None:
        self.endpoint_id = endpoint_id
        self.rp_client = _sync_client(api_key)
        self._endpoint = self.rp_client.endpoint(endpoint_id)

    def run(self, request_input: Any) -> Job:
        """Queue a job; ``request_input`` is the handler input or a full submit body."""
        job = self._endpoint.submit(submit_body(request_input))
        return Job(self.endpoint_id, job.id, self.rp_client)

    def run_sync(self, request_input: Any, timeout: int = 86400) -> Any:
        """Run a job and return its output, waiting up to ``timeout`` seconds.

        Unlike the official client, a FAILED job raises ``JobFailed`` with its error."""
        return outcome(self._endpoint.submit_sync(submit_body(request_input), timeout=timeout))

    def health(self, timeout: int = 3) -> Any:
        """Job and worker counters."""
        return self._endpoint.health(timeout=timeout)

    def purge_queue(self, timeout: int = 3) -> Any:
        """Drop every queued job."""
        return self._endpoint.purge_queue(timeout=timeout)


# ---------------------------------------------------------------------------- asyncio


def _async_client(api_key: str | None, session: Any) -> AsyncClient:
    from runpod.http_client import AsyncClientSession

    key, base = _settings(api_key)
    http = session.http if isinstance(session, AsyncClientSession) else None
    return AsyncClient(root_of(base), key, endpoint_base=base, http=http)


def _key_from_headers(headers: Mapping[str, str] | None) -> str | None:
    auth = dict(headers or {}).get("Authorization", "")
    return auth.removeprefix("Bearer ").strip() or None


class AsyncioJob:
    """A submitted job (``runpod.AsyncioJob``): ``AsyncioJob(endpoint_id, job_id, session,
    headers)``; the key comes from the ``Authorization`` header (or ``runpod.api_key``)."""

    def __init__(
        self,
        endpoint_id: str,
        job_id: str,
        session: Any = None,
        headers: Mapping[str, str] | None = None,
        *,
        client: AsyncClient | None = None,
    ) -> None:
        self.endpoint_id = endpoint_id
        self.job_id = job_id
        self.session = session
        self.headers = dict(headers or {})
        self._client = client or _async_client(_key_from_headers(headers), session)
        self._job = self._client.endpoint(endpoint_id).job(job_id)
        self._final: dict[str, Any] | None = None

    async def _fetch(self) -> dict[str, Any]:
        if self._final is not None:
            return self._final
        body = await self._job.status()
        if is_terminal(body):
            self._final = body
        return body

    async def status(self) -> str:
        """The job's state; cached once terminal."""
        return str((await self._fetch())["status"])

    async def output(self, timeout: float = 0) -> Any:
        """Wait for the job (for ever with ``timeout=0``, else up to ``timeout`` seconds) and
        return its output; a job that ended FAILED/CANCELLED/TIMED_OUT raises."""
        if self._final is None:
            self._final = await self._job.wait(timeout or None)
        return _final_output(self._final)

    async def stream(self) -> AsyncIterator[Any]:
        """Yield the job's streamed outputs; ends when the job ends (in any state)."""
        async for item in self._job.stream():
            yield item
        if self._job.last is not None and is_terminal(self._job.last):
            self._final = self._job.last

    async def cancel(self, timeout: float = 3) -> Any:
        """Cancel the job; returns the server's answer."""
        return await self._client.endpoint(self.endpoint_id).cancel(self.job_id, timeout=timeout)


class AsyncioEndpoint:
    """An endpoint for asyncio code: ``AsyncioEndpoint(endpoint_id, session, api_key=None)``."""

    def __init__(self, endpoint_id: str, session: Any = None, api_key: str | None = None) -> None:
        self.endpoint_id = endpoint_id
        self.session = session
        self._client = _async_client(api_key, session)
        self._endpoint = self._client.endpoint(endpoint_id)

    async def run(self, endpoint_input: Any) -> AsyncioJob:
        """Queue a job; like the sync ``run``, a dict with ``input`` is a full submit body."""
        job = await self._endpoint.submit(submit_body(endpoint_input))
        return AsyncioJob(self.endpoint_id, job.id, self.session, client=self._client)

    async def run_sync(self, request_input: Any, timeout: float = 86400) -> Any:
        """Run a job and return its output (pitstop addition; raises like the sync one)."""
        return outcome(
            await self._endpoint.submit_sync(submit_body(request_input), timeout=timeout)
        )

    async def health(self, timeout: float = 3) -> Any:
        """Job and worker counters."""
        return await self._endpoint.health(timeout=timeout)

    async def purge_queue(self, timeout: float = 3) -> Any:
        """Drop every queued job."""
        return await self._endpoint.purge_queue(timeout=timeout)

    async def close(self) -> None:
        """Close the endpoint's own connection pool (a no-op on a shared session's pool)."""
        await self._client.close()

    async def __aenter__(self) -> AsyncioEndpoint:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
