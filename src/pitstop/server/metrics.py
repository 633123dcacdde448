"""Prometheus metrics: queue depth and jobs by state per endpoint, latencies, workers.

Gauges that mirror the store (jobs by state, workers) are refreshed from the store when
``/metrics`` is scraped, so the hot routes pay nothing for them. Latency histograms are
observed on the hot path from an in-memory note taken when a job is handed to a worker
(bounded: a job whose result never arrives is forgotten oldest first).
"""

from __future__ import annotations

from collections import OrderedDict

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from pitstop.models import JobStatus
from pitstop.storage.base import Store

_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
_MAX_NOTES = 100_000


class Metrics:
    """One registry per app (tests run many apps in one process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.jobs = Gauge(
            "pitstop_jobs", "Retained jobs by state", ["endpoint", "status"], registry=r
        )
        self.queue_depth = Gauge(
            "pitstop_queue_depth", "Jobs waiting in the queue", ["endpoint"], registry=r
        )
        self.workers = Gauge(
            "pitstop_workers", "Workers seen recently by state", ["endpoint", "state"], registry=r
        )
        self.submitted = Counter(
            "pitstop_jobs_submitted", "Jobs accepted by run/runsync", ["endpoint"], registry=r
        )
        self.finished = Counter(
            "pitstop_jobs_finished",
            "Results accepted from workers",
            ["endpoint", "status"],
            registry=r,
        )
        self.take_latency = Histogram(
            "pitstop_take_latency_seconds",
            "Time from submission to a worker taking the job",
            ["endpoint"],
            buckets=_BUCKETS,
            registry=r,
        )
        self.run_latency = Histogram(
            "pitstop_run_latency_seconds",
            "Time from take to the worker's result",
            ["endpoint"],
            buckets=_BUCKETS,
            registry=r,
        )
        self.e2e_latency = Histogram(
            "pitstop_end_to_end_latency_seconds",
            "Time from submission to the worker's result",
            ["endpoint"],
            buckets=_BUCKETS,
            registry=r,
        )
        self._notes: OrderedDict[str, tuple[str, float, float]] = OrderedDict()

    def taken(self, endpoint: str, job_id: str, created_at: float, now: float) -> None:
        """A worker took a job: observe the queue wait, remember times for :meth:`done`."""
        self.take_latency.labels(endpoint).observe(max(0.0, now - created_at))
        self._notes[job_id] = (endpoint, created_at, now)
        if len(self._notes) > _MAX_NOTES:
            self._notes.popitem(last=False)

    def done(self, job_id: str, status: JobStatus, now: float) -> None:
        """A worker's result was accepted: observe run and end-to-end latency."""
        note = self._notes.pop(job_id, None)
        if note is None:
            return
        endpoint, created_at, started_at = note
        self.finished.labels(endpoint, status.value).inc()
        self.run_latency.labels(endpoint).observe(max(0.0, now - started_at))
        self.e2e_latency.labels(endpoint).observe(max(0.0, now - created_at))

    async def render(
        self, store: Store, unhealthy: dict[str, set[str]], seen_since: float
    ) -> bytes:
        """Refresh the store-backed gauges and render the text exposition format."""
        for endpoint in await store.endpoints():
            counts = await store.counts(endpoint)
            for status in JobStatus:
                self.jobs.labels(endpoint, status.value).set(counts.get(status.value, 0))
            self.queue_depth.labels(endpoint).set(counts.get(JobStatus.IN_QUEUE.value, 0))
            workers = await store.workers(endpoint, seen_since)
            bad = unhealthy.get(endpoint, set())
            running = sum(1 for w in workers if w.job_ids and w.id not in bad)
            idle = sum(1 for w in workers if not w.job_ids and w.id not in bad)
            self.workers.labels(endpoint, "running").set(running)
            self.workers.labels(endpoint, "idle").set(idle)
            self.workers.labels(endpoint, "unhealthy").set(len(bad))
        return generate_latest(self.registry)
