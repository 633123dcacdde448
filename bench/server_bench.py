"""Job server benchmarks: take wake-up, runsync overhead, end-to-end throughput, SSE latency.

Usage: ``.venv/bin/python bench/server_bench.py [--jobs 5000] [--workers 4]
[--concurrency 50] [--clients 4]``. Starts ``python -m pitstop.server`` (uvloop, SQLite in a
temporary directory) and pitstop worker processes running ``server_noop_handler.py``;
clients are ``--clients`` processes each with many concurrent httpx connections. Prints
one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(REPO / "src"))

from pitstop.server.urls import worker_env  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("RUNPOD_", "PITSTOP_"))}


def start_server(data: Path, port: int, store: str = "") -> subprocess.Popen[bytes]:
    env = clean_env()
    env.update(PITSTOP_LOG_LEVEL="warning", PITSTOP_TAKE_WAIT="20", PITSTOP_SWEEP_INTERVAL="1")
    store = store or f"sqlite:///{data}/db"
    cmd = [PYTHON, "-m", "pitstop.server", "--port", str(port), "--store", store]
    return subprocess.Popen(
        cmd, env=env, stdout=open(data / "server.log", "wb"), stderr=subprocess.STDOUT
    )


def start_profile(pid: int, path: str) -> subprocess.Popen[bytes]:
    """py-spy attached to the server while the throughput run lasts: collapsed stacks with
    thread names (idle threads left out), written when :func:`stop_profile` stops it."""
    spy = str(Path(PYTHON).with_name("py-spy"))
    cmd = [spy, "record", "--pid", str(pid), "--format", "raw", "--threads", "-r", "250"]
    return subprocess.Popen([*cmd, "-o", path], stdout=subprocess.DEVNULL)


def stop_profile(spy: subprocess.Popen[bytes]) -> None:
    spy.send_signal(signal.SIGINT)
    spy.wait(30)


def start_worker(
    data: Path, url: str, endpoint: str, n: int, concurrency: int
) -> subprocess.Popen[bytes]:
    env = clean_env()
    env.update(worker_env(url, endpoint, f"{endpoint}-w{n}", ""))
    env.update(RUNPOD_LOG_LEVEL="ERROR", BENCH_CONCURRENCY=str(concurrency), HOME=str(data))
    log = open(data / f"worker-{endpoint}-{n}.log", "wb")  # noqa: SIM115
    return subprocess.Popen(
        [PYTHON, str(HERE / "server_noop_handler.py")],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


async def wait_ready(url: str) -> None:
    async with httpx.AsyncClient(base_url=url) as c:
        for _ in range(600):
            try:
                if (await c.get("/v2/x/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError("server did not start")


def _stat_seconds(stat: Path) -> float:
    """User + system CPU time from a ``/proc`` ``stat`` file (a process's or a thread's)."""
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux ``/proc``), for CPU cost per job."""
    return _stat_seconds(Path(f"/proc/{pid}/stat"))


def thread_cpu_seconds(pid: int) -> dict[str, float]:
    """CPU seconds of the process's main thread and of all its other threads together."""
    split = {"main": 0.0, "other threads": 0.0}
    for task in Path(f"/proc/{pid}/task").iterdir():
        split["main" if task.name == str(pid) else "other threads"] += _stat_seconds(task / "stat")
    return split


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)


async def bench_wakeup(url: str, rounds: int = 100) -> dict[str, float]:
    """A take long-poll is waiting; time from POST /run to the take's answer."""
    from_submit: list[float] = []
    from_ack: list[float] = []
    async with httpx.AsyncClient(base_url=url, timeout=30) as c:
        for i in range(rounds):
            take = asyncio.create_task(c.get("/v2/wake/job-take/bench?gpu=none&job_in_progress=0"))
            await asyncio.sleep(0.01)
            t0 = time.perf_counter()
            run = await c.post("/v2/wake/run", json={"input": i})
            t_ack = time.perf_counter()
            response = await take
            t_take = time.perf_counter()
            assert response.status_code == 200 and response.json()["id"] == run.json()["id"]
            from_submit.append(t_take - t0)
            from_ack.append(t_take - t_ack)
    return {
        "take_after_run_p50_ms": pct(from_submit, 0.5),
        "take_after_run_p95_ms": pct(from_submit, 0.95),
        "take_after_run_ack_p50_ms": pct(from_ack, 0.5),
    }


async def bench_runsync(url: str, rounds: int = 300) -> dict[str, float]:
    """Sequential runsync of a no-op handler on one warm worker.

    Measured with the raw keep-alive client below: httpx alone costs ~2 ms of CPU per request
    on this machine, which would be counted as server overhead. The httpx figure is kept too,
    since it is what a typical Python client sees.
    """
    raw: list[float] = []
    conn = await RawConnection.open(int(url.rsplit(":", 1)[1]))
    try:
        for i in range(rounds + 20):
            t0 = time.perf_counter()
            status, body = await conn.post("/v2/sync/runsync", b'{"input": %d}' % i)
            if i >= 20:
                raw.append(time.perf_counter() - t0)
            assert status == 200 and b'"COMPLETED"' in body, body
    finally:
        conn.close()
    via_httpx: list[float] = []
    async with httpx.AsyncClient(base_url=url, timeout=30) as c:
        for i in range(rounds // 3 + 20):
            t0 = time.perf_counter()
            reply = (await c.post("/v2/sync/runsync", json={"input": i})).json()
            if i >= 20:
                via_httpx.append(time.perf_counter() - t0)
            assert reply["status"] == "COMPLETED", reply
    return {
        "runsync_p50_ms": pct(raw, 0.5),
        "runsync_p99_ms": pct(raw, 0.99),
        "runsync_httpx_client_p50_ms": pct(via_httpx, 0.5),
    }


class RawConnection:
    """A minimal HTTP/1.1 keep-alive client: httpx costs more CPU per request than the
    server does, which would make the clients the bottleneck on a small machine."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> RawConnection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        return await self.request("POST", path, body)

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        head = (
            f"{method} {path} HTTP/1.1\r\nhost: bench\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\n\r\n"
        ).encode()
        self.writer.write(head + body)
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.split(b"\r\n")
        status = int(lines[0].split()[1])
        length = 0
        for line in lines[1:]:
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


def _client_process(port: int, first: int, n: int, conns: int, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    async def main() -> None:
        todo = list(range(first, first + n))

        async def one() -> None:
            conn = await RawConnection.open(port)
            while todo:
                i = todo.pop()
                status, body = await conn.post("/v2/tp/run", b'{"input": %d}' % i)
                assert status == 200, body
            conn.close()

        await asyncio.gather(*(one() for _ in range(conns)))

    asyncio.run(main())
    out.put(time.time())


def _raw_worker_process(port: int, name: str, batch: int, conns: int, ep: str = "tp") -> None:
    """Speaks the worker protocol with :class:`RawConnection`: batch take, then one job-done
    per job over ``conns`` connections (measures the server, not a worker runtime)."""

    async def main() -> None:
        take = await RawConnection.open(port)
        pool: asyncio.Queue[RawConnection] = asyncio.Queue()
        for _ in range(conns):
            pool.put_nowait(await RawConnection.open(port))

        async def done(job: dict[str, object]) -> None:
            conn = await pool.get()
            try:
                path = f"/v2/{ep}/job-done/{name}/{job['id']}?gpu=none&isStream=false"
                status, body = await conn.post(path, json.dumps({"output": job["input"]}).encode())
                assert status == 200, body
            finally:
                pool.put_nowait(conn)

        while True:
            path = f"/v2/{ep}/job-take-batch/{name}?gpu=none&batch_size={batch}&job_in_progress=0"
            status, body = await take.request("GET", path)
            if status == 200:
                await asyncio.gather(*(done(job) for job in json.loads(body)))

    asyncio.run(main())


async def bench_throughput(url: str, port: int, jobs: int, clients: int) -> dict[str, float]:
    """``clients`` processes submit ``jobs`` no-op jobs; wait until all are COMPLETED."""
    out: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    per = jobs // clients
    started = time.time()
    procs = [
        multiprocessing.Process(target=_client_process, args=(port, k * per, per, 32, out))
        for k in range(clients)
    ]
    for p in procs:
        p.start()
    async with httpx.AsyncClient(base_url=url, timeout=30) as c:
        while True:
            health = (await c.get("/v2/tp/health")).json()["jobs"]
            if health["completed"] >= per * clients or time.time() - started > 300:
                break
            await asyncio.sleep(0.5)
    finished = time.time()
    submitted = max(out.get() for _ in procs)
    for p in procs:
        p.join()
    elapsed = finished - started
    return {
        "jobs": per * clients,
        "submit_rate_per_s": round(per * clients / (submitted - started), 1),
        "end_to_end_jobs_per_s": round(per * clients / elapsed, 1),
        "elapsed_s": round(elapsed, 2),
        "failed": health["failed"],
    }


async def _sse_reader(
    client: httpx.AsyncClient, job_id: str, arrived: asyncio.Queue[tuple[int, float]]
) -> None:
    """Follow the job's Server-Sent Events; queue (chunk id, arrival time) per event."""
    headers = {"Accept": "text/event-stream"}
    async with client.stream("GET", f"/v2/sse/stream/{job_id}", headers=headers) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        async for line in response.aiter_lines():
            if line.startswith("id: "):
                await arrived.put((int(line[4:]), time.perf_counter()))


async def bench_sse(url: str, chunks: int = 200) -> dict[str, float]:
    """A worker posts ``job-stream`` chunks one at a time while an SSE reader follows the
    job; time from each POST's answer (and from its start) to the reader getting the event.

    The reader is a separate connection in the same process; the next chunk is posted only
    after the reader has the previous one, so every figure is one chunk's own latency.
    """
    after_answer: list[float] = []
    from_start: list[float] = []
    q = "gpu=none"
    async with (
        httpx.AsyncClient(base_url=url, timeout=30) as worker,
        httpx.AsyncClient(base_url=url, timeout=30) as reader_http,
    ):
        job_id = (await worker.post("/v2/sse/run", json={"input": 1})).json()["id"]
        taken = await worker.get(f"/v2/sse/job-take/bench?{q}&job_in_progress=0")
        assert taken.json()["id"] == job_id
        arrived: asyncio.Queue[tuple[int, float]] = asyncio.Queue()
        reader = asyncio.create_task(_sse_reader(reader_http, job_id, arrived))
        stream_url = f"/v2/sse/job-stream/bench/{job_id}?{q}"
        await worker.post(stream_url, json={"output": "warm"})
        await arrived.get()
        for i in range(1, chunks + 1):
            t0 = time.perf_counter()
            posted = await worker.post(stream_url, json={"output": i})
            t_answer = time.perf_counter()
            assert posted.status_code == 200
            seq, t_event = await arrived.get()
            assert seq == i
            after_answer.append(t_event - t_answer)
            from_start.append(t_event - t0)
        await worker.post(f"/v2/sse/job-done/bench/{job_id}?{q}", json={"output": None})
        await asyncio.wait_for(reader, 10)
    return {
        "sse_chunks": chunks,
        "sse_after_post_answer_p50_ms": pct(after_answer, 0.5),
        "sse_after_post_answer_p95_ms": pct(after_answer, 0.95),
        "sse_from_post_start_p50_ms": pct(from_start, 0.5),
        "sse_from_post_start_p95_ms": pct(from_start, 0.95),
    }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--only", choices=["wakeup", "runsync", "throughput", "sse"])
    parser.add_argument("--store", default="", help="store URL (default: SQLite in a temp dir)")
    parser.add_argument(
        "--profile",
        default="",
        help="write py-spy collapsed stacks of the server's throughput run here",
    )
    parser.add_argument(
        "--raw-workers", action="store_true", help="protocol-level workers instead of pitstop's"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pitstop-bench-") as tmp:
        data = Path(tmp)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = start_server(data, port, args.store)
        workers: list[subprocess.Popen[bytes]] = []
        results: dict[str, object] = {"cpus": os.cpu_count(), "load": os.getloadavg()[0]}
        try:
            await wait_ready(url)
            server_pid = server.pid
            if args.only in (None, "wakeup"):
                results.update(await bench_wakeup(url))
            if args.only in (None, "sse"):
                results.update(await bench_sse(url))
            if args.only in (None, "runsync"):
                if args.raw_workers:
                    raw_sync = multiprocessing.Process(
                        target=_raw_worker_process, args=(port, "rawsync", 1, 1, "sync")
                    )
                    raw_sync.start()
                    results.update(await bench_runsync(url))
                    raw_sync.kill()
                else:
                    workers.append(start_worker(data, url, "sync", 0, 1))
                    results.update(await bench_runsync(url))
            if args.only in (None, "throughput"):
                raw: list[multiprocessing.Process] = []
                if args.raw_workers:
                    raw = [
                        multiprocessing.Process(
                            target=_raw_worker_process, args=(port, f"raw{i}", args.concurrency, 16)
                        )
                        for i in range(args.workers)
                    ]
                    for proc in raw:
                        proc.start()
                else:
                    workers += [
                        start_worker(data, url, "tp", i, args.concurrency)
                        for i in range(args.workers)
                    ]
                results["worker_kind"] = "raw-protocol" if args.raw_workers else "pitstop"
                spy = start_profile(server_pid, args.profile) if args.profile else None
                cpu_before = cpu_seconds(server_pid)
                threads_before = thread_cpu_seconds(server_pid)
                results.update(await bench_throughput(url, port, args.jobs, args.clients))
                if spy is not None:
                    stop_profile(spy)
                cpu_ms = (cpu_seconds(server_pid) - cpu_before) * 1000
                results["server_cpu_ms_per_job"] = round(cpu_ms / args.jobs, 3)
                threads_after = thread_cpu_seconds(server_pid)
                results["server_cpu_ms_per_job_by_thread"] = {
                    name: round((threads_after[name] - threads_before[name]) * 1000 / args.jobs, 3)
                    for name in threads_after
                }
                for proc in raw:
                    proc.kill()
        finally:
            for proc in workers:
                proc.terminate()
            server.terminate()
            for proc in [*workers, server]:
                proc.wait(20)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
