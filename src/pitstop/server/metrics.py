"""Prometheus metrics: queue depth and jobs by state per endpoint, latencies, workers, GPUs.

Gauges that mirror the store (jobs by state, queue depth, workers) are read from the store
when ``/metrics`` is scraped, so the hot routes pay nothing for them, and written as text
here: through prometheus_client they cost about 0.2 s per scrape with 1,000 endpoints, as
text a few milliseconds. Counters and latency histograms are prometheus_client's; they are
observed on the hot path from an in-memory note taken when a job is handed to a worker
(bounded: a job whose result never arrives is forgotten oldest first).
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from typing import Any
from urllib.parse import quote

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from pitstop.models import JobStatus, WorkerInfo
from pitstop.server.gpus import device_rows
from pitstop.server.limits import valid_id
from pitstop.storage.base import Store

_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
_MAX_NOTES = 100_000


class Metrics:
    """One registry per app (tests run many apps in one process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
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
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}

    def child(self, metric: Counter | Histogram, *labels: str) -> Any:
        """``metric.labels(*labels)``, remembered: prometheus_client checks and looks up the
        labels on every call, a measurable part of a small job's CPU."""
        key = (id(metric), labels)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*labels)
        return found

    def submitted_one(self, endpoint: str) -> None:
        """A job was accepted by run/runsync."""
        self.child(self.submitted, endpoint).inc()

    def taken(self, endpoint: str, job_id: str, created_at: float, now: float) -> None:
        """A worker took a job: observe the queue wait, remember times for :meth:`done`."""
        self.child(self.take_latency, endpoint).observe(max(0.0, now - created_at))
        self._notes[job_id] = (endpoint, created_at, now)
        if len(self._notes) > _MAX_NOTES:
            self._notes.popitem(last=False)

    def done(self, job_id: str, status: JobStatus, now: float) -> None:
        """A worker's result was accepted: observe run and end-to-end latency."""
        note = self._notes.pop(job_id, None)
        if note is None:
            return
        endpoint, created_at, started_at = note
        self.child(self.finished, endpoint, status.value).inc()
        self.child(self.run_latency, endpoint).observe(max(0.0, now - started_at))
        self.child(self.e2e_latency, endpoint).observe(max(0.0, now - created_at))

    async def render(
        self, store: Store, unhealthy: dict[str, set[str]], seen_since: float
    ) -> bytes:
        """The text exposition format: the store-backed gauges, then the registry.

        The per-endpoint reads are issued together, so the store batches them (one SQLite
        transaction, one Redis pipeline) instead of paying a round trip each.
        """
        endpoints = await store.endpoints()
        every_count = await asyncio.gather(*(store.counts(e) for e in endpoints))
        every_worker = await asyncio.gather(*(store.workers(e, seen_since) for e in endpoints))
        jobs: list[str] = []
        depth: list[str] = []
        workers: list[str] = []
        gpus: list[list[str]] = [[] for _ in _GPU_GAUGES]
        now = time.time()
        for endpoint, counts, seen in zip(endpoints, every_count, every_worker, strict=True):
            name = label(endpoint)
            for status in JobStatus:
                n = counts.get(status.value, 0)
                jobs.append(f'pitstop_jobs{{endpoint="{name}",status="{status.value}"}} {n}.0')
            depth.append(f'pitstop_queue_depth{{endpoint="{name}"}} {counts.get("IN_QUEUE", 0)}.0')
            bad = unhealthy.get(endpoint, set())
            running = sum(1 for w in seen if w.job_ids and w.id not in bad)
            idle = sum(1 for w in seen if not w.job_ids and w.id not in bad)
            for state, n in (("running", running), ("idle", idle), ("unhealthy", len(bad))):
                workers.append(f'pitstop_workers{{endpoint="{name}",state="{state}"}} {n}.0')
            for gauge, samples in zip(gpus, gpu_samples(name, seen, now), strict=True):
                gauge += samples
        text = (
            _family("pitstop_jobs", "Retained jobs by state", jobs)
            + _family("pitstop_queue_depth", "Jobs waiting in the queue", depth)
            + _family("pitstop_workers", "Workers seen recently by state", workers)
            + "".join(
                _family(name, doc, samples)
                for (name, doc), samples in zip(_GPU_GAUGES, gpus, strict=True)
                if samples
            )
        )
        return text.encode() + generate_latest(self.registry)


_GPU_GAUGES = (
    ("pitstop_gpu_utilization_ratio", "GPU utilisation (0-1) over NVML's last period"),
    ("pitstop_gpu_memory_used_bytes", "GPU memory in use"),
    ("pitstop_gpu_memory_total_bytes", "GPU memory in all"),
    ("pitstop_gpu_temperature_celsius", "GPU temperature"),
)
"""Gauges of the workers' current GPU readings (see :mod:`pitstop.server.gpus`)."""


def gpu_samples(endpoint: str, workers: list[WorkerInfo], now: float) -> list[list[str]]:
    """One endpoint's samples of each of :data:`_GPU_GAUGES`, per worker and device."""
    out: list[list[str]] = [[] for _ in _GPU_GAUGES]
    for worker in workers:
        for row in device_rows(worker, now):
            if row["sampledAt"] is None:
                continue
            where = f'endpoint="{endpoint}",worker="{label(worker.id)}",gpu="{row["index"]}"'
            util = row["utilization"]
            readings = (
                None if util is None else util / 100,
                row["memoryUsed"],
                row["memoryTotal"],
                row["temperature"],
            )
            for gauge, name, value in zip(out, _GPU_GAUGES, readings, strict=True):
                if value is not None:
                    gauge.append(f"{name[0]}{{{where}}} {float(value)!r}")
    return out


def _family(name: str, doc: str, samples: list[str]) -> str:
    return f"# HELP {name} {doc}\n# TYPE {name} gauge\n" + "".join(f"{s}\n" for s in samples)


def label(endpoint: str) -> str:
    """An endpoint as a label value. prometheus_client escapes only backslash, quote and
    newline; an id stored before ids were validated could hold a CR or NUL, so anything that
    is not a valid id is percent-encoded."""
    return endpoint if valid_id(endpoint) else quote(endpoint, safe="")
