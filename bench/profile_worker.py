"""Profiling helpers for the worker runtime (H9): not a registered benchmark.

``python -m bench.profile_worker platform [N] [CONC]``
    Measures the fake platform alone: CONC raw-socket keep-alive clients, each looping
    job-take then job-done, for N jobs in total. Prints jobs/s (the platform's ceiling).
``python -m bench.profile_worker worker MODE [N] [--serial] [--spy OUT]``
    Runs one pitstop worker (``bench/worker_app.py MODE``) over N jobs; prints jobs/s and,
    with ``--spy``, records a py-spy profile (raw collapsed stacks) of the worker to OUT. Also
    prints the worker's CPU time and the job latency (hand-out to result) percentiles.
    ``bigin`` jobs carry 5 MB; ``--serial`` queues each job once the previous result arrived.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time

import psutil

from bench import Options
from bench.fake_platform import ENDPOINT
from bench.worker_bench import FIVE_MB, Worker, _feed_serially, make_jobs, platform


def _request(sock: socket.socket, method: str, path: str) -> bytes:
    body = b'{"output": {"ok": true}}' if method == "POST" else b""
    head = f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n"
    sock.sendall(head.encode() + body)
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += sock.recv(65536)
    head_raw, _sep, rest = buf.partition(b"\r\n\r\n")
    length = 0
    for line in head_raw.split(b"\r\n")[1:]:
        name, _s, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(rest) < length:
        rest += sock.recv(65536)
    return rest


def _raw_client(port: int, count: int, worker: str) -> None:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    base = f"/v2/{ENDPOINT}"
    for _ in range(count):
        raw = _request(sock, "GET", f"{base}/job-take/{worker}?gpu=none&job_in_progress=0")
        if not raw:
            break
        job_id = json.loads(raw)["id"]
        _request(sock, "POST", f"{base}/job-done/{worker}/{job_id}?gpu=none&isStream=false")
    sock.close()


def measure_platform(n: int, conc: int) -> None:
    p = platform()
    p.reset()
    p.load(make_jobs(n))
    started = time.perf_counter()
    threads = [
        threading.Thread(target=_raw_client, args=(p.port, n // conc, f"w{i}")) for i in range(conc)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    span = time.perf_counter() - started
    print(
        f"platform: {len(p.stats.done)} take+done pairs in {span:.3f}s = {len(p.stats.done) / span:.0f} jobs/s (conc {conc})"
    )


def measure_worker(mode: str, n: int, spy: str | None, serial: bool = False) -> None:
    p = platform()
    p.reset()
    jobs = make_jobs(n, "i" * FIVE_MB if mode == "bigin" else None)
    p.load(jobs[:1] if serial else jobs)
    worker = Worker(Options(), "pitstop", mode)
    recorder = None
    try:
        if spy:
            recorder = subprocess.Popen(
                [
                    sys.prefix + "/bin/py-spy",
                    "record",
                    "-r",
                    "200",
                    "-f",
                    "raw",
                    "-o",
                    spy,
                    "--pid",
                    str(worker.proc.pid),
                    "--nonblocking",
                ],
                stdout=subprocess.DEVNULL,
            )
        p.wait_first_take(30)
        if serial:
            _feed_serially(p, jobs, 120)
        p.wait_done(n, 60)
        done = dict(p.stats.done)
        taken = dict(p.stats.taken)
        lat = sorted((done[j] - taken[j]) * 1000 for j in done if j in taken)
        takes = len(set(taken.values()))
        print(
            f"job latency ms p10 {lat[len(lat) // 10]:.1f} p50 {lat[len(lat) // 2]:.1f} "
            f"p90 {lat[9 * len(lat) // 10]:.1f}; {takes} takes handed out jobs"
        )
        first = p.stats.first_take or 0.0
        span = max(done.values()) - first
        ct = psutil.Process(worker.proc.pid).cpu_times()
        print(f"worker cpu user {ct.user:.2f}s sys {ct.system:.2f}s")
        print(
            f"{mode}: {len(done)} jobs in {span:.3f}s = {len(done) / span:.0f} jobs/s; "
            f"requests {dict(p.stats.requests)}"
        )
    finally:
        if recorder is not None:
            recorder.send_signal(2)
            recorder.wait(20)
        worker.kill()


def main(argv: list[str]) -> None:
    what = argv[0]
    serial = "--serial" in argv
    argv = [a for a in argv if a != "--serial"]
    spy = None
    if "--spy" in argv:
        spy = argv[argv.index("--spy") + 1]
        argv = argv[: argv.index("--spy")]
    if what == "platform":
        measure_platform(
            int(argv[1]) if len(argv) > 1 else 2000, int(argv[2]) if len(argv) > 2 else 1
        )
    else:
        measure_worker(argv[1], int(argv[2]) if len(argv) > 2 else 1000, spy, serial)


if __name__ == "__main__":
    main(sys.argv[1:])
