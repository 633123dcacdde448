"""The console's data: endpoint cards, chart series, job pages, timelines and worker rows.

Each function reads the store through its console primitives (never scanning jobs) and
returns plain JSON-ready dicts, so the ``/pitstop/v1`` JSON, the dashboard's HTML and the
CLI show the same thing.
"""

from __future__ import annotations

from typing import Any

from pitstop.models import Job, JobEvent, JobPage, JobStatus, JobSummary, StatBucket, WorkerInfo
from pitstop.server.gpus import device_rows
from pitstop.server.state import ServerState
from pitstop.server.views import summary_body
from pitstop.storage.stats import merge, percentile

WINDOWS: dict[str, tuple[int, int]] = {"hour": (3600, 60), "day": (86400, 900)}
"""Chart window name -> (seconds covered, seconds per point)."""
WORKERS_SHOWN_S = 3600.0
"""Workers not seen for this long are left off the workers lists."""
ENDED = (
    ("completed", JobStatus.COMPLETED),
    ("failed", JobStatus.FAILED),
    ("cancelled", JobStatus.CANCELLED),
    ("timedOut", JobStatus.TIMED_OUT),
)


def _ms(seconds: float | None) -> int | None:
    return None if seconds is None else max(0, round(seconds * 1000))


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


# -- statistics -----------------------------------------------------------------------------


def window_start(now: float, window: str) -> tuple[int, int, int]:
    """``(start, step, points)`` of a chart window ending with ``now``'s step."""
    span, step = WINDOWS[window]
    points = span // step
    last = int(now // step) * step
    return last - (points - 1) * step, step, points


def series(buckets: list[StatBucket], start: int, step: int, points: int) -> dict[str, Any]:
    """Per-step counts of ended jobs and delay/execution p50/p95 (ms; None without jobs)."""
    slots: list[list[StatBucket]] = [[] for _ in range(points)]
    for bucket in buckets:
        index = (bucket.minute - start) // step
        if 0 <= index < points:
            slots[index].append(bucket)
    out: dict[str, Any] = {"step": step, "t": [start + i * step for i in range(points)]}
    merged = [merge(slot) for slot in slots]
    for name, status in ENDED:
        out[name] = [m.ended.get(status.value, 0) for m in merged]
    for name, attr in (("delay", "delay"), ("execution", "execution")):
        for q, suffix in ((0.5, "P50"), (0.95, "P95")):
            out[name + suffix] = [_round(percentile(getattr(m, attr), q)) for m in merged]
    return out


def last_hour(buckets: list[StatBucket]) -> dict[str, Any]:
    """Ended jobs and latency percentiles over the buckets (the cards' "last hour")."""
    total = merge(buckets)
    out: dict[str, Any] = {name: total.ended.get(s.value, 0) for name, s in ENDED}
    out["delayP50"] = _round(percentile(total.delay, 0.5))
    out["delayP95"] = _round(percentile(total.delay, 0.95))
    out["executionP50"] = _round(percentile(total.execution, 0.5))
    out["executionP95"] = _round(percentile(total.execution, 0.95))
    return out


async def endpoint_stats(state: ServerState, endpoint: str, window: str) -> dict[str, Any]:
    """The chart series of one endpoint over ``window`` (``hour`` or ``day``)."""
    start, step, points = window_start(state.now(), window)
    buckets = await state.store.stats(endpoint, start, state.now(), step)
    return {"endpoint": endpoint, "window": window, **series(buckets, start, step, points)}


# -- endpoints and workers ---------------------------------------------------------------------


def worker_state(state: ServerState, worker: WorkerInfo, unhealthy: set[str], now: float) -> str:
    """``unhealthy``, ``gone`` (not seen for ``worker_seen_s``), ``running`` or ``idle``."""
    if worker.id in unhealthy:
        return "unhealthy"
    if worker.last_seen < now - state.config.worker_seen_s:
        return "gone"
    return "running" if worker.job_ids else "idle"


def worker_body(worker: WorkerInfo, status: str, now: float) -> dict[str, Any]:
    """One row of the workers lists (``gpuDevices``: its GPUs, with current readings)."""
    meta = worker.meta
    return {
        "id": worker.id,
        "endpoint": worker.endpoint,
        "state": status,
        "jobs": list(worker.job_ids),
        "lastSeen": worker.last_seen,
        "version": worker.version,
        "pid": meta.pid if meta else None,
        "host": meta.host if meta else None,
        "startedAt": meta.started_at if meta else None,
        "restarts": meta.restarts if meta else None,
        "gpus": meta.gpus if meta else None,
        "gpuDevices": device_rows(worker, now) if status != "gone" else [],
    }


async def endpoint_workers(state: ServerState, endpoint: str) -> list[dict[str, Any]]:
    """Workers of the endpoint seen within :data:`WORKERS_SHOWN_S`, with their state."""
    now = state.now()
    unhealthy = state.unhealthy_ids(endpoint, now - state.config.worker_seen_s)
    workers = await state.store.workers(endpoint, now - WORKERS_SHOWN_S)
    return [worker_body(w, worker_state(state, w, unhealthy, now), now) for w in workers]


async def workers_of(state: ServerState, endpoints: list[str]) -> list[dict[str, Any]]:
    """:func:`endpoint_workers` of several endpoints, in endpoint order."""
    rows: list[dict[str, Any]] = []
    for endpoint in endpoints:
        rows += await endpoint_workers(state, endpoint)
    return rows


async def endpoint_card(state: ServerState, endpoint: str) -> dict[str, Any]:
    """One endpoint at a glance: queue, running, last hour, workers by state, hour series."""
    counts = await state.store.counts(endpoint)
    workers = await endpoint_workers(state, endpoint)
    start, step, points = window_start(state.now(), "hour")
    buckets = await state.store.stats(endpoint, start, state.now())
    tally = {"running": 0, "idle": 0, "unhealthy": 0, "gone": 0}
    for worker in workers:
        tally[worker["state"]] += 1
    return {
        "endpoint": endpoint,
        "queued": counts.get(JobStatus.IN_QUEUE.value, 0),
        "running": counts.get(JobStatus.IN_PROGRESS.value, 0),
        "retained": {s.value: counts.get(s.value, 0) for s in JobStatus},
        "lastHour": last_hour(buckets),
        "workers": tally,
        "series": series(buckets, start, step, points),
    }


# -- jobs --------------------------------------------------------------------------------------


def summary_row(job: JobSummary) -> dict[str, Any]:
    """A job in a job page."""
    delay = None if job.started_at is None else job.started_at - job.created_at
    execution = (
        None
        if job.started_at is None or job.finished_at is None
        else job.finished_at - job.started_at
    )
    return {
        "seq": job.seq,
        **summary_body(job),
        "attempt": job.attempt,
        "delayTime": _ms(delay),
        "executionTime": _ms(execution),
    }


def page_body(page: JobPage) -> dict[str, Any]:
    """A job page with its cursors."""
    return {
        "jobs": [summary_row(job) for job in page.jobs],
        "older": page.older,
        "newer": page.newer,
    }


def event_text(event: JobEvent) -> str:
    """What happened, in a few words (the timeline's description column)."""
    worker = event.worker_id or "?"
    attempt = "" if event.attempt is None else f" on attempt {event.attempt}"
    detail = event.detail or ""
    kind = event.kind.value
    if kind == "submitted":
        return "Submitted" + (" (runsync)" if detail == "runsync" else "")
    if kind == "taken":
        return f"Taken by worker {worker}{attempt}"
    if kind == "progress":
        return f"Progress: {detail}"
    if kind == "first_chunk":
        return f"First stream chunk from worker {worker}"
    if kind == "requeued":
        return f"Lease of worker {worker} lost{attempt}; re-queued"
    if kind == "lost":
        return f"Lease of worker {worker} lost{attempt}; failed"
    if kind == "cancelled":
        if detail == "purged":
            return "Purged from the queue"
        stop = f"; stop sent to worker {event.worker_id}" if event.worker_id else ""
        return "Cancel requested" + stop
    if kind == "timed_out":
        return f"Timed out: {detail}"
    if kind == "finished":
        return f"Finished {detail} by worker {worker}{attempt}"
    if kind == "retried":
        return "Retried: back in the queue"
    call = "" if event.attempt is None else f" (call {event.attempt})"
    return f"Webhook{call}: {detail}"


def timeline_rows(job: Job | None, events: list[JobEvent], now: float) -> list[dict[str, Any]]:
    """Events with their offset from the first and the time until the next one (for the
    last event of a job still active: until now)."""
    rows = []
    first = events[0].at if events else 0.0
    active = job is not None and not job.status.is_terminal
    for i, event in enumerate(events):
        if i + 1 < len(events):
            duration: float | None = events[i + 1].at - event.at
        else:
            duration = now - event.at if active else None
        rows.append(
            {
                "seq": event.seq,
                "at": event.at,
                "kind": event.kind.value,
                "workerId": event.worker_id,
                "attempt": event.attempt,
                "detail": event.detail,
                "text": event_text(event),
                "offsetMs": _ms(event.at - first),
                "durationMs": _ms(duration),
            }
        )
    return rows
