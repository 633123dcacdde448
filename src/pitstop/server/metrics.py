"""Prometheus metrics: queue depth and jobs by state per endpoint, latencies, workers, GPUs.

Gauges that mirror the store (jobs by state, queue depth, workers) are read from the store
when ``/metrics`` is scraped, so the hot routes pay nothing for them, and written as text
here: through prometheus_client they cost about 0.2 s per scrape with 1,000 endpoints, as
text a few milliseconds. The job counters and latency histograms are counted in plain
dictionaries and lists (:class:`JobCounts`), which prometheus_client reads as a custom
collector when scraped: its own metric objects take a lock and walk the buckets per
observation, about 4 µs of a small job's 130. Latencies come from an in-memory note taken
when a job is handed to a worker (bounded: a job whose result never arrives is forgotten
oldest first).
"""

from __future__ import annotations

import asyncio
import time
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Hashable, Iterator
from typing import TypeVar
from urllib.parse import quote

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from pitstop.models import JobStatus, WorkerInfo
from pitstop.server.gpus import device_rows
from pitstop.server.limits import valid_id
from pitstop.storage.base import Store

_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
_MAX_NOTES = 100_000
_K = TypeVar("_K", bound=Hashable)


_HISTOGRAMS = (
    ("pitstop_take_latency_seconds", "Time from submission to a worker taking the job"),
    ("pitstop_run_latency_seconds", "Time from take to the worker's result"),
    ("pitstop_end_to_end_latency_seconds", "Time from submission to the worker's result"),
)
TAKE, RUN, E2E = range(len(_HISTOGRAMS))
_LE = [*(repr(float(b)) for b in _BUCKETS), "+Inf"]
"""The buckets' ``le`` labels, written as prometheus_client writes them (``1.0``, ``+Inf``)."""


class _Histogram:
    """Observations per bucket (not cumulative; the last one is ``+Inf``) and their sum."""

    __slots__ = ("counts", "created", "sum")

    def __init__(self) -> None:
        self.counts = [0] * (len(_BUCKETS) + 1)
        self.sum = 0.0
        self.created = time.time()

    def observe(self, value: float) -> None:
        self.counts[bisect_left(_BUCKETS, value)] += 1  # the first bucket with le >= value
        self.sum += value

    def cumulative(self) -> list[tuple[str, float]]:
        total = 0
        out = []
        for le, n in zip(_LE, self.counts, strict=True):
            total += n
            out.append((le, float(total)))
        return out


class JobCounts:
    """Jobs submitted and finished, and the three latency histograms, per endpoint: a
    prometheus_client collector (``collect``) over plain counts kept by the event loop."""

    def __init__(self) -> None:
        self.submitted: dict[str, int] = {}
        self.finished: dict[tuple[str, str], int] = {}
        self.histograms: list[dict[str, _Histogram]] = [{} for _ in _HISTOGRAMS]
        self._created: dict[object, float] = {}

    def count_submitted(self, endpoint: str) -> None:
        self._count(self.submitted, endpoint)

    def count_finished(self, endpoint: str, status: str) -> None:
        self._count(self.finished, (endpoint, status))

    def _count(self, counter: dict[_K, int], key: _K) -> None:
        """One more for ``key`` (its ``_created`` time noted the first time)."""
        n = counter.get(key)
        if n is None:
            self._created[key] = time.time()
            n = 0
        counter[key] = n + 1

    def observe(self, which: int, endpoint: str, seconds: float) -> None:
        by_endpoint = self.histograms[which]
        histogram = by_endpoint.get(endpoint)
        if histogram is None:
            histogram = by_endpoint[endpoint] = _Histogram()
        histogram.observe(max(0.0, seconds))

    def collect(self) -> Iterator[Metric]:
        """The metric families as prometheus_client renders its own (``_total`` and
        ``_created`` of counters; cumulative ``_bucket`` series, ``_count``, ``_sum`` and a
        ``_created`` gauge of histograms)."""
        submitted = CounterMetricFamily(
            "pitstop_jobs_submitted", "Jobs accepted by run/runsync", labels=["endpoint"]
        )
        for endpoint, n in self.submitted.items():
            submitted.add_metric([endpoint], n, created=self._created.get(endpoint))
        yield submitted
        finished = CounterMetricFamily(
            "pitstop_jobs_finished", "Results accepted from workers", labels=["endpoint", "status"]
        )
        for key, n in self.finished.items():
            finished.add_metric(list(key), n, created=self._created.get(key))
        yield finished
        for (name, doc), by_endpoint in zip(_HISTOGRAMS, self.histograms, strict=True):
            family = HistogramMetricFamily(name, doc, labels=["endpoint"])
            created = GaugeMetricFamily(f"{name}_created", doc, labels=["endpoint"])
            for endpoint, histogram in by_endpoint.items():
                family.add_metric([endpoint], histogram.cumulative(), histogram.sum)
                created.add_metric([endpoint], histogram.created)
            yield family
            yield created


class Metrics:
    """One registry per app (tests run many apps in one process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.counts = JobCounts()
        self.registry.register(self.counts)
        self._notes: OrderedDict[str, tuple[str, float, float]] = OrderedDict()

    def submitted_one(self, endpoint: str) -> None:
        """A job was accepted by run/runsync."""
        self.counts.count_submitted(endpoint)

    def taken(self, endpoint: str, job_id: str, created_at: float, now: float) -> None:
        """A worker took a job: observe the queue wait, remember times for :meth:`done`."""
        self.counts.observe(TAKE, endpoint, now - created_at)
        self._notes[job_id] = (endpoint, created_at, now)
        if len(self._notes) > _MAX_NOTES:
            self._notes.popitem(last=False)

    def done(self, job_id: str, status: JobStatus, now: float) -> None:
        """A worker's result was accepted: observe run and end-to-end latency."""
        note = self._notes.pop(job_id, None)
        if note is None:
            return
        endpoint, created_at, started_at = note
        counts = self.counts
        counts.count_finished(endpoint, status.value)
        counts.observe(RUN, endpoint, now - started_at)
        counts.observe(E2E, endpoint, now - created_at)

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
