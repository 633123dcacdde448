"""The job counters and latency histograms are kept in plain counts and rendered by a
collector: the exposition must be what prometheus_client's own metric objects would give for
the same observations (creation timestamps aside)."""

from __future__ import annotations

import re

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from pitstop.models import JobStatus
from pitstop.server.metrics import _BUCKETS, Metrics

ENDPOINTS = ("ep", 'we"ird\\n')
# (created, taken, done): latencies on bucket edges, between them, below and above all
TIMES = [(0.0, 0.0005, 0.002), (0.0, 0.001, 1.0), (10.0, 12.5, 310.0), (0.0, -1.0, 0.1)]


def _reference() -> bytes:
    registry = CollectorRegistry()
    submitted = Counter(
        "pitstop_jobs_submitted", "Jobs accepted by run/runsync", ["endpoint"], registry=registry
    )
    finished = Counter(
        "pitstop_jobs_finished",
        "Results accepted from workers",
        ["endpoint", "status"],
        registry=registry,
    )
    docs = {
        "take": "Time from submission to a worker taking the job",
        "run": "Time from take to the worker's result",
        "end_to_end": "Time from submission to the worker's result",
    }
    latency = {
        name: Histogram(
            f"pitstop_{name}_latency_seconds",
            doc,
            ["endpoint"],
            buckets=_BUCKETS,
            registry=registry,
        )
        for name, doc in docs.items()
    }
    for endpoint in ENDPOINTS:
        for i, (created, taken, done) in enumerate(TIMES):
            submitted.labels(endpoint).inc()
            latency["take"].labels(endpoint).observe(max(0.0, taken - created))
            status = JobStatus.COMPLETED if i % 2 else JobStatus.FAILED
            finished.labels(endpoint, status.value).inc()
            latency["run"].labels(endpoint).observe(max(0.0, done - taken))
            latency["end_to_end"].labels(endpoint).observe(max(0.0, done - created))
    return generate_latest(registry)


def _ours() -> bytes:
    metrics = Metrics()
    for endpoint in ENDPOINTS:
        for i, (created, taken, done) in enumerate(TIMES):
            metrics.submitted_one(endpoint)
            metrics.taken(endpoint, f"{endpoint}-{i}", created, taken)
            status = JobStatus.COMPLETED if i % 2 else JobStatus.FAILED
            metrics.done(f"{endpoint}-{i}", status, done)
    metrics.done("never-taken", JobStatus.COMPLETED, 1.0)  # no note: not counted
    return generate_latest(metrics.registry)


def _without_timestamps(text: bytes) -> str:
    return re.sub(r"(_created\{[^}]*\}) \S+", r"\1 T", text.decode())


def test_counts_render_as_prometheus_clients_own_metrics() -> None:
    ours = _without_timestamps(_ours())
    assert ours == _without_timestamps(_reference())
    assert 'pitstop_take_latency_seconds_bucket{endpoint="ep",le="0.001"} 3.0' in ours
    assert 'pitstop_run_latency_seconds_bucket{endpoint="ep",le="+Inf"} 4.0' in ours
    assert 'pitstop_jobs_finished_total{endpoint="ep",status="FAILED"} 2.0' in ours
