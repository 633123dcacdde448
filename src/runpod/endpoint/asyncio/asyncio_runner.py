"""``runpod.endpoint.asyncio.asyncio_runner``: the asyncio client (``Endpoint``, ``Job``),
exported at the top level as ``runpod.AsyncioEndpoint`` / ``runpod.AsyncioJob``.

The differences from the official client are listed in :mod:`runpod.endpoint`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from pitstop.client import AsyncClient
from pitstop.client._core import AsyncClosing, is_terminal, outcome, root_of
from runpod.endpoint.helpers import FINAL_STATES, final_output, is_completed, settings, submit_body

__all__ = ["FINAL_STATES", "Endpoint", "Job", "is_completed"]


def _async_client(api_key: str | None, session: Any) -> AsyncClient:
    from runpod.http_client import AsyncClientSession

    key, base = settings(api_key)
    http = session.http if isinstance(session, AsyncClientSession) else None
    # RunPod's behaviour: no Idempotency-Key, streams by JSON polling.
    return AsyncClient(
        root_of(base), key, endpoint_base=base, http=http, idempotency_keys=False, sse=False
    )


def _key_from_headers(headers: Mapping[str, str] | None) -> str | None:
    auth = dict(headers or {}).get("Authorization", "")
    return auth.removeprefix("Bearer ").strip() or None


class Job:
    """A submitted job (``runpod.AsyncioJob``): ``Job(endpoint_id, job_id, session,
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
        return final_output(self._final)

    async def stream(self) -> AsyncIterator[Any]:
        """Yield the job's streamed outputs; ends when the job ends (in any state)."""
        async for item in self._job.stream():
            yield item
        if self._job.last is not None and is_terminal(self._job.last):
            self._final = self._job.last

    async def cancel(self, timeout: float = 3) -> Any:
        """Cancel the job; returns the server's answer."""
        return await self._client.endpoint(self.endpoint_id).cancel(self.job_id, timeout=timeout)


class Endpoint(AsyncClosing):
    """An endpoint for asyncio code: ``Endpoint(endpoint_id, session, api_key=None)``."""

    def __init__(self, endpoint_id: str, session: Any = None, api_key: str | None = None) -> None:
        self.endpoint_id = endpoint_id
        self.session = session
        self._client = _async_client(api_key, session)
        self._endpoint = self._client.endpoint(endpoint_id)

    async def run(self, endpoint_input: Any) -> Job:
        """Queue a job; like the sync ``run``, a dict with ``input`` is a full submit body."""
        job = await self._endpoint.submit(submit_body(endpoint_input))
        return Job(self.endpoint_id, job.id, self.session, client=self._client)

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
