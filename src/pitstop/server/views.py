"""How a stored :class:`Job` looks on RunPod's wire (status bodies, stream, health, webhooks).

One function per body so every route and the webhook sender render a job the same way.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from pitstop.models import Chunk, Job, JobStatus, JobSummary, LogLine, WebhookDelivery, WorkerInfo


def status_body(job: Job) -> dict[str, Any]:
    """RunPod's ``/status`` body: id, status, timings, worker, output or error, retries.

    While ``IN_PROGRESS`` the latest ``progress_update`` value is the ``output``.
    """
    body: dict[str, Any] = {"id": job.id, "status": job.status.value}
    delay = job.delay_ms
    if delay is not None:
        body["delayTime"] = delay
    execution = job.execution_ms
    if execution is not None:
        body["executionTime"] = execution
    if job.worker_id is not None:
        body["workerId"] = job.worker_id
    if job.status is JobStatus.IN_PROGRESS:
        if job.has_progress:
            body["output"] = job.progress
    elif job.has_output:
        body["output"] = job.output
    if job.error is not None:
        body["error"] = job.error
    body["retries"] = job.retries
    return body


def stream_body(job: Job, chunks: Iterable[Chunk]) -> dict[str, Any]:
    """RunPod's ``/stream`` body: the status plus ``stream`` (always a list)."""
    body: dict[str, Any] = {"id": job.id, "status": job.status.value}
    delay = job.delay_ms
    if delay is not None:
        body["delayTime"] = delay
    if job.status.is_terminal and job.error is not None:
        body["error"] = job.error
    body["stream"] = [{"output": chunk.output} for chunk in chunks]
    return body


def webhook_body(job: Job) -> dict[str, Any]:
    """The webhook payload: the status body plus the original ``input`` and ``webhook``."""
    body = status_body(job)
    body["input"] = job.input
    body["webhook"] = job.webhook
    return body


def record_body(job: Job) -> dict[str, Any]:
    """pitstop's full job record (``GET /pitstop/v1/jobs/{id}``)."""
    record = dataclasses.asdict(job)
    record["status"] = job.status.value
    record["policy"] = {
        "executionTimeout": job.policy.execution_timeout_ms,
        "ttl": job.policy.ttl_ms,
        "lowPriority": job.policy.low_priority,
    }
    record["delayTime"] = job.delay_ms
    record["executionTime"] = job.execution_ms
    return record


def webhook_view(delivery: WebhookDelivery) -> dict[str, Any]:
    """One webhook delivery in a job record: where, how it went, the last error."""
    return {
        "url": delivery.url,
        "state": delivery.state,
        "attempts": delivery.attempts,
        "lastError": delivery.last_error,
        "nextAt": delivery.next_at if delivery.state == "pending" else None,
    }


def summary_body(job: Job | JobSummary) -> dict[str, Any]:
    """A short line for job lists."""
    return {
        "id": job.id,
        "endpoint": job.endpoint,
        "status": job.status.value,
        "createdAt": job.created_at,
        "startedAt": job.started_at,
        "finishedAt": job.finished_at,
        "workerId": job.worker_id,
        "retries": job.retries,
    }


def log_body(job_id: str, lines: Iterable[LogLine]) -> dict[str, Any]:
    """``GET /pitstop/v1/jobs/{id}/logs``."""
    return {
        "id": job_id,
        "lines": [
            {"seq": ln.seq, "at": ln.at, "stream": ln.stream, "text": ln.text} for ln in lines
        ],
    }


JOB_COUNTERS = {
    "completed": JobStatus.COMPLETED,
    "failed": JobStatus.FAILED,
    "inProgress": JobStatus.IN_PROGRESS,
    "inQueue": JobStatus.IN_QUEUE,
    "cancelled": JobStatus.CANCELLED,
    "timedOut": JobStatus.TIMED_OUT,
}


def health_body(
    counts: dict[str, int], workers: Iterable[WorkerInfo], unhealthy: set[str]
) -> dict[str, Any]:
    """RunPod's ``/health``: job counters and worker counters (``unhealthy`` is ours).

    A worker seen recently counts as ``running`` when its last ping or take named jobs, else
    ``idle``; a worker that reported ``status=unhealthy`` counts only as ``unhealthy``.
    ``initializing``, ``ready`` and ``throttled`` are RunPod states pitstop never enters.
    """
    jobs = {name: int(counts.get(status.value, 0)) for name, status in JOB_COUNTERS.items()}
    jobs["retried"] = int(counts.get("retried", 0))
    tally = {"idle": 0, "initializing": 0, "ready": 0, "running": 0, "throttled": 0}
    for worker in workers:
        if worker.id in unhealthy:
            continue
        tally["running" if worker.job_ids else "idle"] += 1
    tally["unhealthy"] = len(unhealthy)
    return {"jobs": jobs, "workers": tally}
