"""Dashboard and console JSON with a million retained jobs, on SQLite and on Redis.

The store is filled directly (bulk SQL inserts; pipelined Redis commands in the store's key
layout) with 1,000,000 finished jobs of one endpoint (``bench``, three timeline events each,
a day of per-minute statistics) plus two small endpoints, then a real server (in this process)
answers the routes the dashboard uses. Figures are p50 latencies in ms over ``REQUESTS``
requests each; targets: overview and endpoint JSON at most 50 ms, a job page at most 20 ms.
Redis runs on 127.0.0.1:6379 under a unique key prefix, deleted afterwards.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from bench import Options, Row, row
from pitstop.config import ServerConfig
from pitstop.server.runner import start_server
from pitstop.storage import make_store
from pitstop.storage.stats import ROLLUP_S, ms_bin

JOBS = 1_000_000
SMALL = 100
REQUESTS = 40
REDIS_URL = "redis://127.0.0.1:6379/0"
EP = "bench"


def _job(i: int, now: float) -> dict[str, Any]:
    created = now - (JOBS - i) * 0.08
    status = "FAILED" if i % 1000 == 0 else "CANCELLED" if i % 1000 == 1 else "COMPLETED"
    return {
        "id": f"job-{i:07d}",
        "status": status,
        "created": created,
        "started": created + 0.01,
        "finished": created + 0.21,
        "input": json.dumps({"prompt": "hello", "n": i}),
        "output": '{"ok":true}',
    }


def _events(
    job: dict[str, Any],
) -> list[tuple[int, float, str, str | None, int | None, str | None]]:
    return [
        (0, job["created"], "submitted", None, None, None),
        (1, job["started"], "taken", "w1", 1, None),
        (2, job["finished"], "finished", "w1", 1, job["status"]),
    ]


def _stat_fields(minute: int) -> dict[str, int]:
    return {
        "COMPLETED": 748,
        "FAILED": 1,
        "CANCELLED": 1,
        f"d{ms_bin(10)}": 750,
        f"x{ms_bin(200)}": 750,
    }


# -- SQLite ------------------------------------------------------------------------------------


def fill_sqlite(path: Path, now: float) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("BEGIN")
    batch: list[tuple[Any, ...]] = []
    events: list[tuple[Any, ...]] = []
    for endpoint, count in ((EP, JOBS), ("alpha", SMALL), ("beta", SMALL)):
        for i in range(count):
            job = _job(i, now)
            job_id = job["id"] if endpoint == EP else f"{endpoint}-{i}"
            batch.append(
                (
                    job_id,
                    endpoint,
                    job["status"],
                    job["input"],
                    job["created"],
                    job["started"],
                    job["finished"],
                    job["output"],
                    1,
                    "w1",
                    1,
                    now + 86400,
                )
            )
            events += [(job_id, *e) for e in _events(job)]
            if len(batch) >= 50_000:
                _flush_sqlite(conn, batch, events)
    _flush_sqlite(conn, batch, events)
    first = int(now // 60) * 60 - 1440 * 60
    conn.executemany(
        "INSERT INTO job_stats (endpoint, minute, metric, n) VALUES (?, ?, ?, ?)",
        [
            (EP, m, k, n)
            for m in range(first, first + 1441 * 60, 60)
            for k, n in _stat_fields(m).items()
        ],
    )
    conn.execute("COMMIT")
    conn.close()


def _flush_sqlite(conn: sqlite3.Connection, batch: list[Any], events: list[Any]) -> None:
    conn.executemany(
        "INSERT INTO jobs (id, endpoint, status, input, created_at, started_at, finished_at, "
        "output, has_output, worker_id, attempt, retain_until) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        batch,
    )
    conn.executemany(
        "INSERT INTO job_events (job_id, seq, at, kind, worker_id, attempt, detail) "
        "VALUES (?,?,?,?,?,?,?)",
        events,
    )
    batch.clear()
    events.clear()


# -- Redis -------------------------------------------------------------------------------------


async def fill_redis(prefix: str, now: float) -> None:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        seq = 0
        for endpoint, count in ((EP, JOBS), ("alpha", SMALL), ("beta", SMALL)):
            counts: dict[str, int] = {}
            pipe = client.pipeline(transaction=False)
            for i in range(count):
                seq += 1
                job = _job(i, now)
                job_id = job["id"] if endpoint == EP else f"{endpoint}-{i}"
                counts[job["status"]] = counts.get(job["status"], 0) + 1
                _redis_job(pipe, prefix, endpoint, job_id, job, seq, now)
                if i % 5000 == 4999:
                    await pipe.execute()
            await pipe.execute()
            await client.hset(f"{prefix}:counts:{endpoint}", mapping=counts)
            await client.sadd(f"{prefix}:endpoints", endpoint)
        first = int(now // 60) * 60 - 1440 * 60
        pipe = client.pipeline(transaction=False)
        for minute in range(first, first + 1441 * 60, 60):
            pipe.hset(f"{prefix}:stats:{minute}:{EP}", mapping=_stat_fields(minute))
            for name, n in _stat_fields(minute).items():  # the 15-minute rollups
                pipe.hincrby(f"{prefix}:stats15:{minute // ROLLUP_S * ROLLUP_S}:{EP}", name, n)
        await pipe.execute()
    finally:
        await client.aclose()


def _redis_job(
    pipe: Any, prefix: str, ep: str, job_id: str, job: dict[str, Any], seq: int, now: float
) -> None:
    qm = f"{seq:016d}:{job_id}"
    pipe.hset(
        f"{prefix}:job:{job_id}",
        mapping={
            "id": job_id,
            "ep": ep,
            "st": job["status"],
            "qm": qm,
            "in": job["input"],
            "plow": "0",
            "sync": "0",
            "att": "1",
            "ret": "0",
            "cr": repr(job["created"]),
            "sa": repr(job["started"]),
            "fa": repr(job["finished"]),
            "wk": "w1",
            "nch": "0",
            "cur": "0",
            "out": job["output"],
            "hout": "1",
            "exp": repr(now + 86400),
            "why": "worker",
        },
    )
    pipe.zadd(f"{prefix}:bystatus:{job['status']}:{ep}", {job_id: seq})
    pipe.zadd(f"{prefix}:recent:{ep}", {qm: job["created"]})
    pipe.rpush(
        f"{prefix}:events:{job_id}",
        *(
            json.dumps(
                {
                    "s": s,
                    "t": repr(at),
                    "k": k,
                    **({"w": w, "n": n} if w else {}),
                    **({"d": d} if d else {}),
                }
            )
            for s, at, k, w, n, d in _events(job)
        ),
    )


async def drop_redis(prefix: str) -> None:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        batch: list[bytes] = []
        async for key in client.scan_iter(match=f"{prefix}:*", count=10_000):
            batch.append(key)
            if len(batch) >= 10_000:
                await client.unlink(*batch)
                batch.clear()
        if batch:
            await client.unlink(*batch)
    finally:
        await client.aclose()


# -- measuring ---------------------------------------------------------------------------------


ROUTES: list[tuple[str, str, float | None]] = [
    ("overview JSON", "/pitstop/v1/overview", 50.0),
    ("endpoint JSON (card)", f"/pitstop/v1/endpoints/{EP}", 50.0),
    ("endpoint jobs, first page", f"/pitstop/v1/endpoints/{EP}/jobs", 50.0),
    ("endpoint jobs, FAILED only", f"/pitstop/v1/endpoints/{EP}/jobs?status=FAILED", 50.0),
    ("endpoint jobs, page at 500k", f"/pitstop/v1/endpoints/{EP}/jobs?before=500000", 50.0),
    ("endpoint stats, last day", f"/pitstop/v1/endpoints/{EP}/stats?window=day", 50.0),
    ("endpoint page (HTML)", f"/dashboard/endpoints/{EP}", None),
    ("job JSON + timeline", "/pitstop/v1/jobs/job-0500000/timeline", 20.0),
    ("job page (HTML)", "/dashboard/jobs/job-0500000", 20.0),
]


async def measure(store_url: str) -> dict[str, list[float]]:
    config = ServerConfig(host="127.0.0.1", port=0, store_url=store_url, sweep_interval=3600)
    server = await start_server(config)
    samples: dict[str, list[float]] = {}
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            for name, path, _target in ROUTES:
                for _ in range(3):
                    (await client.get(path)).raise_for_status()
                took = []
                for _ in range(REQUESTS):
                    started = time.perf_counter()
                    response = await client.get(path)
                    took.append((time.perf_counter() - started) * 1000)
                    response.raise_for_status()
                samples[name] = took
    finally:
        await server.stop()
    return samples


def rows_for(backend: str, samples: dict[str, list[float]], fill_s: float) -> list[Row]:
    out = [
        row(
            "console",
            f"{backend}: {name} p50",
            "ms",
            {"pitstop": samples[name]},
            higher_is_better=False,
            target=target,
        )
        for name, _path, target in ROUTES
    ]
    out.append(
        row(
            "console",
            f"{backend}: fill {JOBS:,} jobs",
            "s",
            {"pitstop": [fill_s]},
            higher_is_better=False,
        )
    )
    return out


def _timed(fill: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fill()
    return time.perf_counter() - started


async def _sqlite_rows(tmp: Path, verbose: bool) -> list[Row]:
    url = f"sqlite:///{tmp}/console.db"
    store = make_store(url)
    await store.open()
    await store.close()
    now = time.time()
    fill_s = await asyncio.to_thread(_timed, lambda: fill_sqlite(tmp / "console.db", now))
    if verbose:
        print(f"sqlite filled in {fill_s:.1f}s", flush=True)
    return rows_for("sqlite", await measure(url), fill_s)


async def _redis_rows(verbose: bool) -> list[Row]:
    prefix = f"pitstop-console-bench-{uuid.uuid4().hex[:8]}"
    try:
        started = time.perf_counter()
        await fill_redis(prefix, time.time())
        fill_s = time.perf_counter() - started
        if verbose:
            print(f"redis filled in {fill_s:.1f}s", flush=True)
        return rows_for("redis", await measure(f"{REDIS_URL}?prefix={prefix}"), fill_s)
    finally:
        await drop_redis(prefix)


def bench_console(opts: Options) -> list[Row]:
    """Registered as ``console`` in ``bench/__main__.py``."""

    async def main() -> list[Row]:
        with tempfile.TemporaryDirectory(prefix="pitstop-console-bench-") as tmp:
            rows = await _sqlite_rows(Path(tmp), opts.verbose)
        return rows + await _redis_rows(opts.verbose)

    rows = asyncio.run(main())
    if opts.verbose:
        for r in rows:
            print(r.metric, statistics.median(r.samples["pitstop"]))
    return rows
