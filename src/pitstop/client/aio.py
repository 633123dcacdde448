"""The asyncio client: :class:`AsyncClient`, :class:`AsyncEndpoint` and :class:`AsyncJob`.

The same API as :mod:`pitstop.client.sync` (same names, same arguments), with ``await``;
``stream`` and ``iter_logs`` are async iterators. Requests, errors and retries come from the
shared :mod:`pitstop.client._core`, so the two clients cannot drift apart.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx

from pitstop.client._calls import Calls
from pitstop.client._core import (
    TERMINAL,
    AsyncClosing,
    Call,
    Deadline,
    RetryPolicy,
    Routes,
    auth_headers,
    decode,
    is_terminal,
    outcome,
    pool_options,
    stream_outputs,
    submit_body,
    timeout_for,
    transport_error,
)
from pitstop.client._keys import KeyTrust, key_for
from pitstop.client._sse import SseFollower, is_event_stream
from pitstop.models import JSON, Policy

StatusCallback = Callable[[dict[str, Any]], None]


class AsyncClient(AsyncClosing):
    """A pitstop (or RunPod) server at ``base_url``, e.g. ``http://127.0.0.1:8000``.

    ``endpoint_base`` overrides the root of RunPod's routes (``{base_url}/v2`` by default).
    ``poll_wait`` is how long one long-poll may hold; ``poll_interval`` the pause between
    polls that the server answered early, and between ``logs --follow`` reads.
    ``idempotency_keys`` and ``sse`` as for :class:`pitstop.client.Client`.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        timeout: float = 30.0,
        *,
        endpoint_base: str | None = None,
        retry: RetryPolicy | None = None,
        poll_wait: float = 30.0,
        poll_interval: float = 0.25,
        http: httpx.AsyncClient | None = None,
        idempotency_keys: bool = True,
        sse: bool = True,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.idempotency_keys = idempotency_keys
        self.sse = sse
        self.trust = KeyTrust()
        self.timeout = timeout
        self.poll_wait = poll_wait
        self.poll_interval = poll_interval
        self.retry = retry or RetryPolicy()
        self.calls = Calls(Routes.for_server(self.base_url, endpoint_base))
        self._headers = auth_headers(api_key)
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient(**pool_options(self.base_url, endpoint_base))

    async def call(self, call: Call, *, timeout: float | None = None) -> Any:
        """Send ``call`` (with bounded retries) and return its decoded JSON body."""
        attempt = 0
        while True:
            try:
                response = await self._send(call, timeout)
            except httpx.TransportError as exc:
                retry = self.retry.after_exception(exc, call, attempt)
                if retry is None or (retry.keyed and not await self._honours_keys()):
                    raise transport_error(exc, call) from exc
            else:
                self.trust.saw(response)
                retry = self.retry.after_response(response, call, attempt)
                if retry is None or (retry.keyed and not await self._honours_keys()):
                    return decode(response)
            await asyncio.sleep(retry.delay)
            attempt += 1

    async def _send(self, call: Call, timeout: float | None) -> httpx.Response:
        return await self._http.request(
            call.method,
            call.url,
            params=call.params,
            json=call.body if call.has_body else None,
            headers={**self._headers, **call.headers()},
            timeout=timeout_for(call, self.timeout if timeout is None else timeout),
        )

    async def _honours_keys(self) -> bool:
        """Whether a resent submit is deduplicated by the server (probed once if unknown)."""
        if self.trust.known is None:
            try:
                return self.trust.probed(await self._send(self.calls.probe(), None))
            except httpx.TransportError:
                return False
        return self.trust.known

    def open_events(
        self, call: Call, headers: Mapping[str, str], timeout: httpx.Timeout
    ) -> AbstractAsyncContextManager[httpx.Response]:
        """Open ``call`` as a streamed response (for Server-Sent Events)."""
        merged = {**self._headers, **headers}
        return self._http.stream(call.method, call.url, headers=merged, timeout=timeout)

    def endpoint(self, endpoint_id: str) -> AsyncEndpoint:
        """The RunPod API of one endpoint (queue)."""
        return AsyncEndpoint(self, endpoint_id)

    async def logs(self, job_id: str, after: int | None = None) -> dict[str, Any]:
        """``{"id", "lines": [{"seq", "at", "stream", "text"}]}`` with ``seq > after``."""
        return dict(await self.call(self.calls.logs(job_id, after)))

    async def iter_logs(
        self, job_id: str, *, follow: bool = False
    ) -> AsyncIterator[dict[str, Any]]:
        """Yield a job's log lines; with ``follow``, keep reading until the job has ended."""
        after: int | None = None
        while True:
            done = follow and (await self.job_record(job_id)).get("status") in TERMINAL
            lines = (await self.logs(job_id, after)).get("lines") or []
            for line in lines:
                yield line
            if lines:
                after = int(lines[-1]["seq"])
            elif not follow or done:
                return
            else:
                await asyncio.sleep(self.poll_interval)

    async def job_record(self, job_id: str) -> dict[str, Any]:
        """pitstop's full record of a job (endpoint, attempts, times, output or error)."""
        return dict(await self.call(self.calls.job_record(job_id)))

    async def jobs(
        self, endpoint_id: str | None = None, status: str | None = None, limit: int | None = None
    ) -> Any:
        """Recent jobs from ``/pitstop/v1/jobs``."""
        return await self.call(self.calls.jobs(endpoint_id, status, limit))

    async def endpoints(self) -> Any:
        """Endpoints the server knows, from ``/pitstop/v1/endpoints``."""
        return await self.call(self.calls.endpoints())

    async def endpoint_workers(self, endpoint_id: str) -> Any:
        """An endpoint's workers, from ``/pitstop/v1/endpoints/{id}/workers``."""
        return await self.call(self.calls.endpoint_workers(endpoint_id))

    async def job_page(
        self,
        endpoint_id: str,
        status: str | None = None,
        limit: int | None = None,
        before: int | None = None,
    ) -> dict[str, Any]:
        """``{"jobs": [...], "older", "newer"}``: a page of an endpoint's jobs, newest first."""
        return dict(await self.call(self.calls.job_page(endpoint_id, status, limit, before)))

    async def timeline(self, job_id: str) -> dict[str, Any]:
        """``{"id", "status", "events": [...]}``: a job's timeline."""
        return dict(await self.call(self.calls.timeline(job_id)))

    async def workers(self, endpoint_id: str | None = None) -> dict[str, Any]:
        """``{"workers": [...]}``: workers seen in the last hour."""
        return dict(await self.call(self.calls.workers(endpoint_id)))

    async def close(self) -> None:
        """Close the connection pool (only if this client created it)."""
        if self._owns_http:
            await self._http.aclose()


class AsyncEndpoint:
    """RunPod's client API of one endpoint: ``/v2/{endpoint_id}/...``."""

    def __init__(self, client: AsyncClient, endpoint_id: str) -> None:
        self.client = client
        self.id = endpoint_id
        self._calls = client.calls

    async def run(
        self,
        input: JSON,
        *,
        webhook: str | None = None,
        policy: Policy | Mapping[str, Any] | None = None,
        s3_config: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> AsyncJob:
        """Queue a job (``/run``) and return its handle at once (``idempotency_key`` as
        for the blocking client)."""
        body = submit_body(input, webhook=webhook, policy=policy, s3_config=s3_config)
        return await self.submit(body, idempotency_key=idempotency_key)

    async def submit(
        self,
        body: Mapping[str, Any],
        *,
        timeout: float | None = None,
        idempotency_key: str | None = None,
    ) -> AsyncJob:
        """Queue a ready-made RunPod submit body (``{"input", "webhook", ...}``)."""
        key = key_for(idempotency_key, self.client.idempotency_keys)
        answer = await self.client.call(self._calls.run(self.id, body, key), timeout=timeout)
        return AsyncJob(self, str(answer["id"]), answer)

    async def run_sync(
        self,
        input: JSON,
        *,
        webhook: str | None = None,
        policy: Policy | Mapping[str, Any] | None = None,
        s3_config: Mapping[str, Any] | None = None,
        timeout: float | None = None,
        idempotency_key: str | None = None,
    ) -> JSON:
        """Run a job and return its output; a job that did not complete raises its
        ``JobError`` (``JobFailed`` carries the worker's error), waiting longer than
        ``timeout`` seconds raises ``WaitTimeout``."""
        body = submit_body(input, webhook=webhook, policy=policy, s3_config=s3_config)
        final = await self.submit_sync(body, timeout=timeout, idempotency_key=idempotency_key)
        return outcome(final)

    async def submit_sync(
        self,
        body: Mapping[str, Any],
        *,
        timeout: float | None = None,
        on_update: StatusCallback | None = None,
        poll_wait: float | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """``/runsync`` a submit body, then long-poll ``/status-sync`` until the job ends;
        return the terminal status body (whatever the terminal state)."""
        deadline = Deadline(timeout)
        hold = deadline.slice(poll_wait or self.client.poll_wait)
        key = key_for(idempotency_key, self.client.idempotency_keys)
        answer = dict(await self.client.call(self._calls.run_sync(self.id, body, hold, key)))
        if is_terminal(answer):
            return answer
        job = AsyncJob(self, str(answer["id"]), answer)
        if on_update is not None:
            on_update(answer)
        if deadline.expired():
            raise deadline.give_up(job.id)
        return await job.wait(deadline.remaining(), on_update=on_update, poll_wait=poll_wait)

    def job(self, job_id: str) -> AsyncJob:
        """A handle on an existing job of this endpoint."""
        return AsyncJob(self, job_id)

    async def status(self, job_id: str, *, timeout: float | None = None) -> dict[str, Any]:
        """The job's status body (``/status``)."""
        return dict(await self.client.call(self._calls.status(self.id, job_id), timeout=timeout))

    async def status_sync(self, job_id: str, wait: float) -> dict[str, Any]:
        """The status body once terminal, or after the server held it ``wait`` seconds."""
        return dict(await self.client.call(self._calls.status_sync(self.id, job_id, wait)))

    async def stream_page(self, job_id: str, wait: float | None = None) -> dict[str, Any]:
        """One ``/stream`` read: chunks since the previous read, held up to ``wait``."""
        return dict(await self.client.call(self._calls.stream(self.id, job_id, wait)))

    def stream(self, job_id: str, *, timeout: float | None = None) -> AsyncIterator[JSON]:
        """Yield the job's streamed outputs until it ends (in any terminal state)."""
        return self.job(job_id).stream(timeout=timeout)

    async def cancel(self, job_id: str, *, timeout: float | None = None) -> dict[str, Any]:
        """Cancel a queued or running job (``/cancel``)."""
        return dict(await self.client.call(self._calls.cancel(self.id, job_id), timeout=timeout))

    async def retry(self, job_id: str) -> dict[str, Any]:
        """Requeue a FAILED or TIMED_OUT job under the same id (``/retry``)."""
        return dict(await self.client.call(self._calls.retry(self.id, job_id)))

    async def purge_queue(self, *, timeout: float | None = None) -> dict[str, Any]:
        """Drop every queued job (``/purge-queue``): ``{"removed": n, "status": ...}``."""
        return dict(await self.client.call(self._calls.purge_queue(self.id), timeout=timeout))

    async def health(self, *, timeout: float | None = None) -> dict[str, Any]:
        """Job and worker counters (``/health``)."""
        return dict(await self.client.call(self._calls.health(self.id), timeout=timeout))

    async def logs(self, job_id: str, after: int | None = None) -> dict[str, Any]:
        """The job's log lines (pitstop's ``/pitstop/v1/jobs/{id}/logs``)."""
        return await self.client.logs(job_id, after)


class AsyncJob:
    """A handle on one job; ``last`` is the most recent status body seen for it."""

    def __init__(
        self, endpoint: AsyncEndpoint, job_id: str, last: Mapping[str, Any] | None = None
    ) -> None:
        self.endpoint = endpoint
        self.id = job_id
        self.last: dict[str, Any] | None = None if last is None else dict(last)

    def __repr__(self) -> str:
        return f"AsyncJob({self.endpoint.id!r}, {self.id!r})"

    async def status(self) -> dict[str, Any]:
        """Fetch the current status body."""
        self.last = await self.endpoint.status(self.id)
        return self.last

    async def wait(
        self,
        timeout: float | None = None,
        *,
        on_update: StatusCallback | None = None,
        poll_wait: float | None = None,
    ) -> dict[str, Any]:
        """Long-poll until the job ends and return its terminal status body.

        ``on_update`` sees every non-terminal body (progress lives in its ``output``);
        ``timeout`` (seconds, None = for ever) raises ``WaitTimeout`` when exceeded.
        """
        deadline = Deadline(timeout)
        hold = poll_wait or self.endpoint.client.poll_wait
        while True:
            asked = deadline.slice(hold)
            started = time.monotonic()
            self.last = await self.endpoint.status_sync(self.id, asked)
            if is_terminal(self.last):
                return self.last
            if on_update is not None:
                on_update(self.last)
            if deadline.expired():
                raise deadline.give_up(self.id)
            pause = deadline.pause(asked, time.monotonic() - started, self._floor)
            await asyncio.sleep(pause)

    async def output(self, timeout: float | None = None) -> JSON:
        """Wait for the job and return its output; raise ``JobFailed``, ``JobCancelled`` or
        ``JobTimedOut`` if it ended otherwise, ``WaitTimeout`` after ``timeout`` seconds."""
        return outcome(await self.wait(timeout))

    async def stream(self, *, timeout: float | None = None) -> AsyncIterator[JSON]:
        """Yield streamed outputs in order; end when the job is terminal (any terminal state)
        and drained. ``self.last`` then holds the terminal status.

        Against a pitstop server this follows the job's Server-Sent Events and resumes
        after a dropped connection where it left off; other servers are long-polled."""
        deadline = Deadline(timeout)
        client = self.endpoint.client
        if not client.sse:
            async for item in self._poll(deadline):
                yield item
            return
        call = client.calls.stream(self.endpoint.id, self.id, None)
        follower = SseFollower(self.id, call, client.retry, deadline)
        while True:
            try:
                async with client.open_events(
                    call, follower.request_headers(), follower.timeout(client.timeout)
                ) as response:
                    if not is_event_stream(response):
                        await response.aread()
                        pause = follower.after_refusal(response)
                        if pause is None:  # JSON: no SSE here (or an error to raise)
                            async for item in self._poll(deadline, decode(response)):
                                yield item
                            return
                    else:
                        async for line in response.aiter_lines():
                            for item in follower.feed(line):
                                yield item
                            if follower.final is not None:
                                self.last = follower.final
                                return
                            if deadline.expired():
                                raise deadline.give_up(self.id)
                        pause = follower.ended_early()
            except httpx.TransportError as exc:
                pause = follower.after_failure(exc)
            await asyncio.sleep(pause)

    async def _poll(
        self, deadline: Deadline, page: dict[str, Any] | None = None
    ) -> AsyncIterator[JSON]:
        """``stream()`` by JSON long-polls of ``/stream`` (RunPod's way), from ``page`` on."""
        hold = self.endpoint.client.poll_wait
        while True:
            asked = deadline.slice(hold)
            started = time.monotonic()
            self.last = page or await self.endpoint.stream_page(self.id, asked)
            page = None
            outputs = stream_outputs(self.last)
            for item in outputs:
                yield item
            if is_terminal(self.last) and not outputs:
                return
            if deadline.expired():
                raise deadline.give_up(self.id)
            if not outputs:
                await asyncio.sleep(deadline.pause(asked, time.monotonic() - started, self._floor))

    async def cancel(self) -> dict[str, Any]:
        """Cancel the job."""
        return await self.endpoint.cancel(self.id)

    async def retry(self) -> dict[str, Any]:
        """Requeue the job (only FAILED or TIMED_OUT jobs)."""
        return await self.endpoint.retry(self.id)

    async def logs(self, after: int | None = None) -> dict[str, Any]:
        """The job's log lines."""
        return await self.endpoint.logs(self.id, after)

    @property
    def _floor(self) -> float:
        return self.endpoint.client.poll_interval
