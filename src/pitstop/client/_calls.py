"""Every route the client speaks, as a :class:`Call` (method, URL, body, retry safety).

RunPod's client API lives under ``/v2/{endpoint}``; pitstop's additions (job logs, job
records, listings) under ``/pitstop/v1``. Sync and async clients both build their requests
here, so a route is spelled exactly once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pitstop.client._core import Call, Routes, segment, wait_params


class Calls:
    """Request specs for one server (see :class:`Routes` for the URL roots)."""

    def __init__(self, routes: Routes) -> None:
        self.routes = routes

    def _ep(self, endpoint_id: str, op: str, job_id: str | None = None) -> str:
        return self.routes.endpoint(endpoint_id, op, job_id)

    # --- RunPod's /v2 API -------------------------------------------------------------

    def run(self, endpoint_id: str, body: Mapping[str, Any], key: str | None = None) -> Call:
        """``POST /run``: queue a job, answer ``{"id", "status"}`` at once. ``key`` is the
        ``Idempotency-Key`` (None: send none, as RunPod's client does)."""
        return Call("POST", self._ep(endpoint_id, "run"), body=dict(body), has_body=True, key=key)

    def run_sync(
        self, endpoint_id: str, body: Mapping[str, Any], wait: float, key: str | None = None
    ) -> Call:
        """``POST /runsync?wait=``: queue a job and hold the answer up to ``wait`` seconds."""
        return Call(
            "POST",
            self._ep(endpoint_id, "runsync"),
            params=wait_params(wait),
            body=dict(body),
            has_body=True,
            extra_timeout=wait,
            key=key,
        )

    def status(self, endpoint_id: str, job_id: str) -> Call:
        """``GET /status/{id}``: state, timings, output or error."""
        return Call("GET", self._ep(endpoint_id, "status", job_id), idempotent=True)

    def status_sync(self, endpoint_id: str, job_id: str, wait: float) -> Call:
        """``GET /status-sync/{id}?wait=``: like status, held until terminal or ``wait``."""
        return Call(
            "GET",
            self._ep(endpoint_id, "status-sync", job_id),
            params=wait_params(wait),
            idempotent=True,
            extra_timeout=wait,
        )

    def stream(self, endpoint_id: str, job_id: str, wait: float | None) -> Call:
        """``GET /stream/{id}?wait=``: chunks since the previous read (a server-side cursor)."""
        return Call(
            "GET",
            self._ep(endpoint_id, "stream", job_id),
            params=wait_params(wait),
            idempotent=True,
            extra_timeout=wait or 0.0,
        )

    def cancel(self, endpoint_id: str, job_id: str) -> Call:
        """``POST /cancel/{id}`` (idempotent: cancelling twice changes nothing)."""
        return Call("POST", self._ep(endpoint_id, "cancel", job_id), idempotent=True)

    def retry(self, endpoint_id: str, job_id: str) -> Call:
        """``POST /retry/{id}``: requeue a FAILED or TIMED_OUT job under the same id."""
        return Call("POST", self._ep(endpoint_id, "retry", job_id))

    def purge_queue(self, endpoint_id: str) -> Call:
        """``POST /purge-queue``: drop every queued (not running) job."""
        return Call("POST", self._ep(endpoint_id, "purge-queue"))

    def health(self, endpoint_id: str) -> Call:
        """``GET /health``: job and worker counters."""
        return Call("GET", self._ep(endpoint_id, "health"), idempotent=True)

    def probe(self) -> Call:
        """A cheap read whose answer, whatever its status, says whether the server is
        pitstop (``X-Pitstop-Server``): ``GET /pitstop/v1/endpoints``."""
        return self.endpoints()

    # --- pitstop's /pitstop/v1 API -----------------------------------------------------

    def logs(self, job_id: str, after: int | None = None) -> Call:
        """``GET /pitstop/v1/jobs/{id}/logs?after=SEQ``: lines the handler printed."""
        params = {} if after is None else {"after": after}
        url = f"{self.routes.pitstop_base}/jobs/{segment(job_id)}/logs"
        return Call("GET", url, params=params, idempotent=True)

    def job_record(self, job_id: str) -> Call:
        """``GET /pitstop/v1/jobs/{id}``: the full job record (endpoint, attempts, times)."""
        url = f"{self.routes.pitstop_base}/jobs/{segment(job_id)}"
        return Call("GET", url, idempotent=True)

    def jobs(
        self, endpoint_id: str | None = None, status: str | None = None, limit: int | None = None
    ) -> Call:
        """``GET /pitstop/v1/jobs``: recent jobs, optionally filtered."""
        params: dict[str, str | int] = {}
        if endpoint_id is not None:
            params["endpoint"] = endpoint_id
        if status is not None:
            params["status"] = status
        if limit is not None:
            params["limit"] = limit
        return Call("GET", f"{self.routes.pitstop_base}/jobs", params=params, idempotent=True)

    def endpoints(self) -> Call:
        """``GET /pitstop/v1/endpoints``: endpoints the server has seen."""
        return Call("GET", f"{self.routes.pitstop_base}/endpoints", idempotent=True)

    def endpoint_workers(self, endpoint_id: str) -> Call:
        """``GET /pitstop/v1/endpoints/{id}/workers``: workers seen lately, an unhealthy one
        with its last exit code and error line."""
        url = f"{self.routes.pitstop_base}/endpoints/{segment(endpoint_id)}/workers"
        return Call("GET", url, idempotent=True)

    def job_page(
        self,
        endpoint_id: str,
        status: str | None = None,
        limit: int | None = None,
        before: int | None = None,
    ) -> Call:
        """``GET /pitstop/v1/endpoints/{ep}/jobs``: a keyset page of jobs, newest first."""
        params = {k: v for k, v in (("status", status), ("limit", limit), ("before", before)) if v}
        url = f"{self.routes.pitstop_base}/endpoints/{segment(endpoint_id)}/jobs"
        return Call("GET", url, params=params, idempotent=True)

    def timeline(self, job_id: str) -> Call:
        """``GET /pitstop/v1/jobs/{id}/timeline``: what happened to a job, in order."""
        url = f"{self.routes.pitstop_base}/jobs/{segment(job_id)}/timeline"
        return Call("GET", url, idempotent=True)

    def workers(self, endpoint_id: str | None = None) -> Call:
        """``GET /pitstop/v1/workers``: workers seen in the last hour."""
        params = {} if endpoint_id is None else {"endpoint": endpoint_id}
        return Call("GET", f"{self.routes.pitstop_base}/workers", params=params, idempotent=True)
