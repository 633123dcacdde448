"""``runpod.endpoint.runner``: the blocking client (``Endpoint``, ``Job``, ``RunPodClient``).

``RunPodClient`` is pitstop's :class:`pitstop.client.Client` configured from
``runpod.api_key`` / ``runpod.endpoint_url_base``, with the official ``get`` / ``post``
helpers; the differences from the official client are listed in :mod:`runpod.endpoint`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pitstop.client import Client
from pitstop.client._core import Call, is_terminal, outcome, root_of
from runpod.endpoint.helpers import (
    API_KEY_NOT_SET_MSG,
    FINAL_STATES,
    UNAUTHORIZED_MSG,
    final_output,
    is_completed,
    settings,
    submit_body,
)

__all__ = [
    "API_KEY_NOT_SET_MSG",
    "FINAL_STATES",
    "UNAUTHORIZED_MSG",
    "Endpoint",
    "Job",
    "RunPodClient",
    "is_completed",
]


class RunPodClient(Client):
    """The official ``RunPodClient(api_key=None)``: a pitstop client for ``endpoint_url_base``."""

    def __init__(self, api_key: str | None = None) -> None:
        key, base = settings(api_key)
        # RunPod's behaviour: no Idempotency-Key, streams by JSON polling.
        super().__init__(root_of(base), key, endpoint_base=base, idempotency_keys=False, sse=False)
        self.api_key = key
        self.endpoint_url_base = base

    def post(self, endpoint: str, data: Any, timeout: int = 10) -> Any:
        """POST ``data`` as JSON to ``{endpoint_url_base}/{endpoint}``; the decoded answer."""
        call = Call("POST", f"{self.endpoint_url_base}/{endpoint}", body=data, has_body=True)
        return self.call(call, timeout=timeout)

    def get(self, endpoint: str, timeout: int = 10) -> Any:
        """GET ``{endpoint_url_base}/{endpoint}``; the decoded answer."""
        call = Call("GET", f"{self.endpoint_url_base}/{endpoint}", idempotent=True)
        return self.call(call, timeout=timeout)


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
        return final_output(self._fetch())

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
        self.rp_client = RunPodClient(api_key)
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
