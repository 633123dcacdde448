"""The blocking client: :class:`Client`, its per-endpoint :class:`Endpoint` and :class:`Job`.

``AsyncClient`` in :mod:`pitstop.client.aio` has the same API with ``await``. Waiting uses
long-polls (``/runsync?wait=``, ``/status-sync?wait=``) and, against a pitstop server,
Server-Sent Events for ``stream()`` (JSON ``/stream?wait=`` long-polls elsewhere), so a
result arrives within milliseconds of the worker reporting it, without a polling interval.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any

import httpx

from pitstop.client._calls import Calls
from pitstop.client._core import (
    TERMINAL,
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


class Client:
    """A pitstop (or RunPod) server at ``base_url``, e.g. ``http://127.0.0.1:8000``.

    ``endpoint_base`` overrides the root of RunPod's routes (``{base_url}/v2`` by default).
    ``poll_wait`` is how long one long-poll may hold; ``poll_interval`` the pause between
    polls that the server answered early, and between ``logs --follow`` reads.
    ``idempotency_keys`` (default on) sends an ``Idempotency-Key`` with every submit, which
    makes submits safe to resend; ``sse`` (default on) streams over Server-Sent Events where
    the server speaks them. ``runpod.Endpoint`` turns both off to behave as RunPod's client.
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
        http: httpx.Client | None = None,
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
        self._http = http or httpx.Client(**pool_options(self.base_url, endpoint_base))

    def call(self, call: Call, *, timeout: float | None = None) -> Any:
        """Send ``call`` (with bounded retries) and return its decoded JSON body."""
        attempt = 0
        while True:
            try:
                response = self._send(call, timeout)
            except httpx.TransportError as exc:
                retry = self.retry.after_exception(exc, call, attempt)
                if retry is None or (retry.keyed and not self._honours_keys()):
                    raise transport_error(exc, call) from exc
            else:
                self.trust.saw(response)
                retry = self.retry.after_response(response, call, attempt)
                if retry is None or (retry.keyed and not self._honours_keys()):
                    return decode(response)
            time.sleep(retry.delay)
            attempt += 1

    def _send(self, call: Call, timeout: float | None) -> httpx.Response:
        return self._http.request(
            call.method,
            call.url,
            params=call.params,
            json=call.body if call.has_body else None,
            headers={**self._headers, **call.headers()},
            timeout=timeout_for(call, self.timeout if timeout is None else timeout),
        )

    def _honours_keys(self) -> bool:
        """Whether a resent submit is deduplicated by the server (probed once if unknown)."""
        if self.trust.known is None:
            try:
                return self.trust.probed(self._send(self.calls.probe(), None))
            except httpx.TransportError:
                return False
        return self.trust.known

    def open_events(
        self, call: Call, headers: Mapping[str, str], timeout: httpx.Timeout
    ) -> AbstractContextManager[httpx.Response]:
        """Open ``call`` as a streamed response (for Server-Sent Events)."""
        merged = {**self._headers, **headers}
        return self._http.stream(call.method, call.url, headers=merged, timeout=timeout)

    def endpoint(self, endpoint_id: str) -> Endpoint:
        """The RunPod API of one endpoint (queue)."""
        return Endpoint(self, endpoint_id)

    def logs(self, job_id: str, after: int | None = None) -> dict[str, Any]:
        """``{"id", "lines": [{"seq", "at", "stream", "text"}]}`` with ``seq > after``."""
        return dict(self.call(self.calls.logs(job_id, after)))

    def iter_logs(self, job_id: str, *, follow: bool = False) -> Iterator[dict[str, Any]]:
        """Yield a job's log lines; with ``follow``, keep reading until the job has ended."""
        after: int | None = None
        while True:
            done = follow and self.job_record(job_id).get("status") in TERMINAL
            lines = self.logs(job_id, after).get("lines") or []
            yield from lines
            if lines:
                after = int(lines[-1]["seq"])
            elif not follow or done:
                return
            else:
                time.sleep(self.poll_interval)

    def job_record(self, job_id: str) -> dict[str, Any]:
        """pitstop's full record of a job (endpoint, attempts, times, output or error)."""
        return dict(self.call(self.calls.job_record(job_id)))

    def jobs(
        self, endpoint_id: str | None = None, status: str | None = None, limit: int | None = None
    ) -> Any:
        """Recent jobs from ``/pitstop/v1/jobs``."""
        return self.call(self.calls.jobs(endpoint_id, status, limit))

    def endpoints(self) -> Any:
        """Endpoints the server knows, from ``/pitstop/v1/endpoints``."""
        return self.call(self.calls.endpoints())

    def endpoint_workers(self, endpoint_id: str) -> Any:
        """An endpoint's workers, from ``/pitstop/v1/endpoints/{id}/workers``."""
        return self.call(self.calls.endpoint_workers(endpoint_id))

    def job_page(
        self,
        endpoint_id: str,
        status: str | None = None,
        limit: int | None = None,
        before: int | None = None,
    ) -> dict[str, Any]:
        """``{"jobs": [...], "older", "newer"}``: a page of an endpoint's jobs, newest first."""
        return dict(self.call(self.calls.job_page(endpoint_id, status, limit, before)))

    def timeline(self, job_id: str) -> dict[str, Any]:
        """``{"id", "status", "events": [...]}``: a job's timeline."""
        return dict(self.call(self.calls.timeline(job_id)))

    def workers(self, endpoint_id: str | None = None) -> dict[str, Any]:
        """``{"workers": [...]}``: workers seen in the last hour."""
        return dict(self.call(self.calls.workers(endpoint_id)))

    def close(self) -> None:
        """Close the connection pool (only if this client created it)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class Endpoint:
    """RunPod's client API of one endpoint: ``/v2/{endpoint_id}/...``."""

    def __init__(self, client: Client, endpoint_id: str) -> None:
        self.client = client
        self.id = endpoint_id
        self._calls = client.calls

    def run(
        self,
        input: JSON,
        *,
        webhook: str | None = None,
        policy: Policy | Mapping[str, Any] | None = None,
        s3_config: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Job:
        """Queue a job (``/run``) and return its handle at once. ``idempotency_key``: your
        own key for this submission (default: a fresh one; the same key returns the same
        job from a pitstop server, within the job's retention)."""
        body = submit_body(input, webhook=webhook, policy=policy, s3_config=s3_config)
        return self.submit(body, idempotency_key=idempotency_key)

    def submit(
        self,
        body: Mapping[str, Any],
        *,
        timeout: float | None = None,
        idempotency_key: str | None = None,
    ) -> Job:
        """Queue a ready-made RunPod submit body (``{"input", "webhook", ...}``)."""
        key = key_for(idempotency_key, self.client.idempotency_keys)
        answer = self.client.call(self._calls.run(self.id, body, key), timeout=timeout)
        return Job(self, str(answer["id"]), answer)

    def run_sync(
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
        return outcome(self.submit_sync(body, timeout=timeout, idempotency_key=idempotency_key))

    def submit_sync(
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
        answer = dict(self.client.call(self._calls.run_sync(self.id, body, hold, key)))
        if is_terminal(answer):
            return answer
        job = Job(self, str(answer["id"]), answer)
        if on_update is not None:
            on_update(answer)
        if deadline.expired():
            raise deadline.give_up(job.id)
        return job.wait(deadline.remaining(), on_update=on_update, poll_wait=poll_wait)

    def job(self, job_id: str) -> Job:
        """A handle on an existing job of this endpoint."""
        return Job(self, job_id)

    def status(self, job_id: str, *, timeout: float | None = None) -> dict[str, Any]:
        """The job's status body (``/status``)."""
        return dict(self.client.call(self._calls.status(self.id, job_id), timeout=timeout))

    def status_sync(self, job_id: str, wait: float) -> dict[str, Any]:
        """The status body once terminal, or after the server held it ``wait`` seconds."""
        return dict(self.client.call(self._calls.status_sync(self.id, job_id, wait)))

    def stream_page(self, job_id: str, wait: float | None = None) -> dict[str, Any]:
        """One ``/stream`` read: chunks since the previous read, held up to ``wait``."""
        return dict(self.client.call(self._calls.stream(self.id, job_id, wait)))

    def stream(self, job_id: str, *, timeout: float | None = None) -> Iterator[JSON]:
        """Yield the job's streamed outputs until it ends (in any terminal state)."""
        return self.job(job_id).stream(timeout=timeout)

    def cancel(self, job_id: str, *, timeout: float | None = None) -> dict[str, Any]:
        """Cancel a queued or running job (``/cancel``)."""
        return dict(self.client.call(self._calls.cancel(self.id, job_id), timeout=timeout))

    def retry(self, job_id: str) -> dict[str, Any]:
        """Requeue a FAILED or TIMED_OUT job under the same id (``/retry``)."""
        return dict(self.client.call(self._calls.retry(self.id, job_id)))

    def purge_queue(self, *, timeout: float | None = None) -> dict[str, Any]:
        """Drop every queued job (``/purge-queue``): ``{"removed": n, "status": ...}``."""
        return dict(self.client.call(self._calls.purge_queue(self.id), timeout=timeout))

    def health(self, *, timeout: float | None = None) -> dict[str, Any]:
        """Job and worker counters (``/health``)."""
        return dict(self.client.call(self._calls.health(self.id), timeout=timeout))

    def logs(self, job_id: str, after: int | None = None) -> dict[str, Any]:
        """The job's log lines (pitstop's ``/pitstop/v1/jobs/{id}/logs``)."""
        return self.client.logs(job_id, after)


class Job:
    """A handle on one job; ``last`` is the most recent status body seen for it."""

    def __init__(
        self, endpoint: Endpoint, job_id: str, last: Mapping[str, Any] | None = None
    ) -> None:
        self.endpoint = endpoint
        self.id = job_id
        self.last: dict[str, Any] | None = None if last is None else dict(last)

    def __repr__(self) -> str:
        return f"Job({self.endpoint.id!r}, {self.id!r})"

    def status(self) -> dict[str, Any]:
        """Fetch the current status body."""
        self.last = self.endpoint.status(self.id)
        return self.last

    def wait(
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
            self.last = self.endpoint.status_sync(self.id, asked)
            if is_terminal(self.last):
                return self.last
            if on_update is not None:
                on_update(self.last)
            if deadline.expired():
                raise deadline.give_up(self.id)
            pause = deadline.pause(asked, time.monotonic() - started, self._floor)
            time.sleep(pause)

    def output(self, timeout: float | None = None) -> JSON:
        """Wait for the job and return its output; raise ``JobFailed``, ``JobCancelled`` or
        ``JobTimedOut`` if it ended otherwise, ``WaitTimeout`` after ``timeout`` seconds."""
        return outcome(self.wait(timeout))

    def stream(self, *, timeout: float | None = None) -> Iterator[JSON]:
        """Yield streamed outputs in order; end when the job is terminal (any terminal state)
        and drained. ``self.last`` then holds the terminal status.

        Against a pitstop server this follows the job's Server-Sent Events and resumes
        after a dropped connection where it left off; other servers are long-polled."""
        deadline = Deadline(timeout)
        client = self.endpoint.client
        if not client.sse:
            yield from self._poll(deadline)
            return
        call = client.calls.stream(self.endpoint.id, self.id, None)
        follower = SseFollower(self.id, call, client.retry, deadline)
        while True:
            try:
                with client.open_events(
                    call, follower.request_headers(), follower.timeout(client.timeout)
                ) as response:
                    if not is_event_stream(response):
                        response.read()
                        pause = follower.after_refusal(response)
                        if pause is None:  # JSON: no SSE here (or an error to raise)
                            yield from self._poll(deadline, decode(response))
                            return
                    else:
                        for line in response.iter_lines():
                            yield from follower.feed(line)
                            if follower.final is not None:
                                self.last = follower.final
                                return
                            if deadline.expired():
                                raise deadline.give_up(self.id)
                        pause = follower.ended_early()
            except httpx.TransportError as exc:
                pause = follower.after_failure(exc)
            time.sleep(pause)

    def _poll(self, deadline: Deadline, page: dict[str, Any] | None = None) -> Iterator[JSON]:
        """``stream()`` by JSON long-polls of ``/stream`` (RunPod's way), from ``page`` on."""
        hold = self.endpoint.client.poll_wait
        while True:
            asked = deadline.slice(hold)
            started = time.monotonic()
            self.last = page or self.endpoint.stream_page(self.id, asked)
            page = None
            outputs = stream_outputs(self.last)
            yield from outputs
            if is_terminal(self.last) and not outputs:
                return
            if deadline.expired():
                raise deadline.give_up(self.id)
            if not outputs:
                time.sleep(deadline.pause(asked, time.monotonic() - started, self._floor))

    def cancel(self) -> dict[str, Any]:
        """Cancel the job."""
        return self.endpoint.cancel(self.id)

    def retry(self) -> dict[str, Any]:
        """Requeue the job (only FAILED or TIMED_OUT jobs)."""
        return self.endpoint.retry(self.id)

    def logs(self, after: int | None = None) -> dict[str, Any]:
        """The job's log lines."""
        return self.endpoint.logs(self.id, after)

    @property
    def _floor(self) -> float:
        return self.endpoint.client.poll_interval
