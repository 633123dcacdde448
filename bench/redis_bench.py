"""Redis benchmark: pitstop's end-to-end HTTP path against saq and arq on the same Redis.

``python -m bench redis`` (or ``.venv/bin/python bench/redis_bench.py [--jobs N] [--runs R]``)
measures no-op jobs per second, from the first submission until every job is complete:

* ``pitstop-1``: one ``python -m pitstop.server`` on Redis, one pitstop worker process
  (``tests/scaleout/noop_handler.py``, concurrency 10); jobs go in through ``POST /run``
  (two client processes, 32 connections each), out through ``job-take`` / ``job-done``;
* ``pitstop-2``: the same with two server processes (submissions round-robin over both);
* ``saq`` / ``arq``: one worker process each (concurrency 10, a no-op ``async`` function),
  jobs enqueued straight into Redis by two client processes (32 concurrent enqueues each).
  arq polls its queue; its ``poll_delay`` is set to 50 ms (default 500 ms) so it is not
  handicapped.

Completion is read from Redis directly (pitstop's per-status counters; saq's incomplete set;
arq's queue set), polled every 20 ms. Every system uses its own fresh key namespace in
database 14 of ``$PITSTOP_BENCH_REDIS`` (default ``redis://127.0.0.1:6379``), removed after.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO))

from bench import Options, Row, row  # noqa: E402

REDIS = os.environ.get("PITSTOP_BENCH_REDIS", "redis://127.0.0.1:6379").rstrip("/") + "/14"
HANDLER = REPO / "tests" / "scaleout" / "noop_handler.py"
ENDPOINT = "bench"
CONCURRENCY = 10
CLIENTS = 2
CONNECTIONS = 32
WARMUP = 20
VERBOSE_CPU = os.environ.get("PITSTOP_BENCH_CPU") == "1"
SYSTEMS = ("pitstop-1", "pitstop-2", "saq", "arq")


# -- processes --------------------------------------------------------------------------------


def _env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RUNPOD_", "PITSTOP_"))}
    env.update(PYTHONUNBUFFERED="1", **extra)
    return env


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
    for proc in procs:
        proc.wait()


def _server_url(log: Path, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in log.read_text(errors="replace").splitlines():
            if "pitstop server listening on " in line:
                return str(json.loads(line)["msg"].split()[4])
        if proc.poll() is not None:
            break
        time.sleep(0.02)
    raise RuntimeError(f"pitstop server did not start:\n{log.read_text(errors='replace')}")


# -- clients (separate processes) -------------------------------------------------------------


def _pitstop_client(urls: list[str], numbers: list[int], out: Any) -> None:
    """``POST /run`` over :data:`CONNECTIONS` keep-alive connections (per server) with the
    raw HTTP/1.1 client of ``server_bench``: httpx costs ~7 ms of client CPU per request
    here, more than server, worker and Redis together, so on a small machine it measured
    httpx (the saq and arq clients talk to Redis directly and cost a fraction of that)."""
    from bench.server_bench import RawConnection

    async def main() -> None:
        todo = list(numbers)
        ports = [int(url.rsplit(":", 1)[1]) for url in urls]
        path = f"/v2/{ENDPOINT}/run"

        async def one() -> None:
            conns = [await RawConnection.open(port) for port in ports]
            try:
                while todo:
                    n = todo.pop()
                    status, body = await conns[n % len(conns)].post(
                        path, b'{"input": {"n": %d}}' % n
                    )
                    assert status == 200, body
            finally:
                for conn in conns:
                    conn.close()

        await asyncio.gather(*(one() for _ in range(CONNECTIONS)))

    asyncio.run(main())
    out.put(time.process_time())


def _saq_client(queue_name: str, numbers: list[int], out: Any) -> None:
    from saq import Queue

    async def main() -> None:
        queue = Queue.from_url(REDIS, name=queue_name)
        todo = list(numbers)

        async def one() -> None:
            while todo:
                await queue.enqueue("noop", n=todo.pop())

        await asyncio.gather(*(one() for _ in range(CONNECTIONS)))
        await queue.disconnect()

    asyncio.run(main())
    out.put(time.process_time())


def _arq_client(queue_name: str, numbers: list[int], out: Any) -> None:
    from arq import create_pool
    from arq.connections import RedisSettings

    async def main() -> None:
        pool = await create_pool(RedisSettings.from_dsn(REDIS), default_queue_name=queue_name)
        todo = list(numbers)

        async def one() -> None:
            while todo:
                await pool.enqueue_job("noop", todo.pop())

        await asyncio.gather(*(one() for _ in range(CONNECTIONS)))
        await pool.aclose()

    asyncio.run(main())
    out.put(time.process_time())


# -- peer workers (``python bench/redis_bench.py worker saq|arq QUEUE``) ----------------------


async def _noop(ctx: Any, **kwargs: Any) -> Any:
    return kwargs or None


async def _arq_noop(ctx: Any, n: int) -> int:
    return n


def _peer_worker(kind: str, queue_name: str) -> None:
    if kind == "saq":
        from saq import Queue, Worker

        async def main() -> None:
            queue = Queue.from_url(REDIS, name=queue_name)
            await Worker(queue, functions=[("noop", _noop)], concurrency=CONCURRENCY).start()

        asyncio.run(main())
        return
    from arq.connections import RedisSettings
    from arq.worker import Worker as ArqWorker

    async def arq_main() -> None:  # arq binds the loop current at construction: build it here
        worker = ArqWorker(
            functions=[_named(_arq_noop, "noop")],
            redis_settings=RedisSettings.from_dsn(REDIS),
            queue_name=queue_name,
            max_jobs=CONCURRENCY,
            poll_delay=0.05,
            handle_signals=False,
        )
        await worker.main()

    asyncio.run(arq_main())


def _named(fn: Any, name: str) -> Any:
    from arq.worker import func

    return func(fn, name=name)


# -- measurements -----------------------------------------------------------------------------


async def measure(system: str, jobs: int, workdir: Path) -> float:
    """Jobs per second for one system: first submission to last completion, after a warm-up
    of :data:`WARMUP` jobs (so process start-up is not measured)."""
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(REDIS, decode_responses=True)
    space = f"bench-{system}-{uuid.uuid4().hex[:8]}"
    procs: list[subprocess.Popen[bytes]] = []
    try:
        finished, target, first = await _start(system, space, workdir, procs, client)
        await _submit_all(target, first, range(jobs, jobs + WARMUP), lambda: finished(WARMUP))
        cpu_before = _cpu(procs)
        started = time.time()
        client_cpu = await _submit_all(target, first, range(jobs), lambda: finished(WARMUP + jobs))
        rate = jobs / (time.time() - started)
        if VERBOSE_CPU:
            spent = [
                round((b - a) * 1000 / jobs, 2)
                for a, b in zip(cpu_before, _cpu(procs), strict=True)
            ]
            print(
                f"    {system}: CPU ms per job, servers then worker: {spent};"
                f" clients: {client_cpu * 1000 / jobs:.2f}",
                flush=True,
            )
        return rate
    finally:
        _stop(procs)
        keys = [key async for key in client.scan_iter(match=f"*{space}*", count=1000)]
        for i in range(0, len(keys), 1000):
            await client.delete(*keys[i : i + 1000])
        await client.aclose()


def _cpu(procs: list[subprocess.Popen[bytes]]) -> list[float]:
    """CPU seconds (user + system) used so far by each process."""
    import psutil

    times = [psutil.Process(proc.pid).cpu_times() for proc in procs]
    return [t.user + t.system for t in times]


async def _submit_all(
    target: Callable[..., None], first: Any, numbers: range, finished: Callable[[], Any]
) -> float:
    """Run the client processes over ``numbers``; return once they exited and ``finished``,
    with the CPU seconds the client processes used."""
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    clients = [
        ctx.Process(target=target, args=(first, list(numbers[i::CLIENTS]), out))
        for i in range(CLIENTS)
    ]
    for proc in clients:
        proc.start()
    deadline = time.monotonic() + max(120.0, len(numbers) / 10)
    while any(proc.is_alive() for proc in clients) or not await finished():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(numbers)} jobs not complete in time")
        await asyncio.sleep(0.02)
    for proc in clients:
        proc.join()
        if proc.exitcode != 0:
            raise RuntimeError(f"a client process failed (exit code {proc.exitcode})")
    return float(sum(out.get(timeout=5) for _ in clients))


async def _start(
    system: str,
    space: str,
    workdir: Path,
    procs: list[subprocess.Popen[bytes]],
    client: Any,
) -> tuple[Callable[[int], Any], Callable[..., None], Any]:
    """Start the system's server(s) and worker. Returns its "N jobs complete" check (asked
    once every client process has exited) and the client function with its first argument."""
    if system.startswith("pitstop"):
        urls = _start_pitstop(int(system.split("-")[1]), space, workdir, procs)
        counts = f"{space}:counts:{ENDPOINT}"

        async def pitstop_done(jobs: int) -> bool:
            return int(await client.hget(counts, "COMPLETED") or 0) >= jobs

        return pitstop_done, _pitstop_client, urls
    args = [sys.executable, __file__, "worker", system, space]
    procs.append(_spawn(args, _env({}), workdir / f"{space}-worker.log"))
    if system == "saq":
        incomplete = f"saq:{space}:incomplete"

        async def saq_done(_jobs: int) -> bool:
            return int(await client.zcard(incomplete)) == 0

        return saq_done, _saq_client, space

    async def arq_done(_jobs: int) -> bool:  # arq removes a job from its queue set when it finishes
        return int(await client.zcard(space)) == 0

    return arq_done, _arq_client, space


def _start_pitstop(
    count: int, space: str, workdir: Path, procs: list[subprocess.Popen[bytes]]
) -> list[str]:
    from pitstop.server.urls import worker_env

    env = _env(
        {
            "PITSTOP_STORE": f"{REDIS}?prefix={space}",
            "PITSTOP_LOG_LEVEL": "info",
            "PITSTOP_TAKE_WAIT": "20",
        }
    )
    args = [sys.executable, "-m", "pitstop.server", "--host", "127.0.0.1", "--port", "0"]
    logs = [workdir / f"{space}-server{i}.log" for i in range(count)]
    for log in logs:
        procs.append(_spawn(args, env, log))
    urls = [_server_url(log, proc) for log, proc in zip(logs, procs, strict=True)]
    worker = _env(
        {
            **worker_env(urls[0], ENDPOINT, f"{space}-w0", ""),
            "RUNPOD_LOG_LEVEL": "ERROR",
            "NOOP_CONCURRENCY": str(CONCURRENCY),
        }
    )
    procs.append(_spawn([sys.executable, str(HANDLER)], worker, workdir / f"{space}-w0.log"))
    return urls


def bench_redis(opts: Options) -> list[Row]:
    """Registered as ``redis`` in ``bench/__main__.py``."""
    jobs = 500 if opts.quick else 2000
    samples = asyncio.run(_samples(jobs, opts.runs, opts.verbose))
    rows = []
    for peer in ("saq", "arq"):
        for system in ("pitstop-1", "pitstop-2"):
            servers = system.split("-")[1]
            rows.append(
                row(
                    "redis_e2e",
                    f"no-op jobs/s, {servers} server(s) vs {peer}",
                    "jobs/s",
                    {"pitstop": samples[system], "official": samples[peer]},
                    higher_is_better=True,
                    target=statistics.median(samples["saq"]) if peer == "saq" else None,
                )
            )
    return rows


async def _samples(jobs: int, runs: int, verbose: bool) -> dict[str, list[float]]:
    import tempfile

    samples: dict[str, list[float]] = {system: [] for system in SYSTEMS}
    with tempfile.TemporaryDirectory(prefix="pitstop-redis-bench-") as tmp:
        for _ in range(runs):
            for system in SYSTEMS:
                rate = await measure(system, jobs, Path(tmp))
                samples[system].append(rate)
                if verbose:
                    print(f"  {system}: {rate:,.0f} jobs/s ({jobs} jobs)", flush=True)
    return samples


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        _peer_worker(sys.argv[2], sys.argv[3])
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    samples = asyncio.run(_samples(args.jobs, args.runs, verbose=True))
    load = os.getloadavg()
    result = {
        "jobs": args.jobs,
        "runs": args.runs,
        "cpus": os.cpu_count(),
        "load_1m": round(load[0], 2),
        **{system: round(statistics.median(vals), 1) for system, vals in samples.items()},
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
