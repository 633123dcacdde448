"""Worker benchmarks: pitstop's worker runtime and the official SDK, side by side.

Each figure runs the same handler file (``bench/worker_app.py``) under both interpreters
against the same in-process :class:`~bench.fake_platform.FakePlatform`, one worker process
at a time, and reports the median over ``Options.runs`` runs. Throughput is
``jobs done / (last result - first job-take)``; a run stops at its job count or its time
budget, whichever comes first, so the official SDK's 1 job/s cannot stall the suite.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from bench import Options, Row, row
from bench.fake_platform import FakePlatform

WORKER_APP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "worker_app.py")
FIVE_MB = 5 * 1024 * 1024
R = TypeVar("R")
_ids = itertools.count(1)
_platform: FakePlatform | None = None
_logdir = tempfile.mkdtemp(prefix="pitstop-workerbench-")
atexit.register(shutil.rmtree, _logdir, True)


def platform() -> FakePlatform:
    global _platform
    if _platform is None:
        _platform = FakePlatform(hold=2.0).start()
    return _platform


def worker_env(p: FakePlatform, worker_id: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RUNPOD_", "PITSTOP_WORKER"))}
    env.update(p.worker_env(worker_id))
    env["RUNPOD_SKIP_AUTO_SYSTEM_CHECKS"] = "true"
    env["RUNPOD_SKIP_GPU_CHECK"] = "true"
    return env


class Worker:
    """One worker process (its own session, so the whole tree can be killed at once)."""

    def __init__(self, opts: Options, impl: str, mode: str, *, sample_rss: bool = False) -> None:
        self.worker_id = f"bench-{impl}-{next(_ids)}"
        self.log_path = os.path.join(_logdir, f"{self.worker_id}-{mode}.log")
        os.makedirs(_logdir, exist_ok=True)
        self._log = open(self.log_path, "wb")  # noqa: SIM115 (closed in kill)
        self.spawned = time.perf_counter()
        self.proc = subprocess.Popen(
            [opts.python(impl), WORKER_APP, mode],
            env=worker_env(platform(), self.worker_id),
            cwd=_logdir,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.peak_rss = 0
        self.peak_procs = 0
        self.hwm = 0
        """The worker process's own peak RSS (VmHWM, bytes), read just before it is killed."""
        self._sampling = sample_rss
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        if sample_rss:
            self._sampler.start()

    def _sample(self) -> None:
        import psutil

        try:
            root = psutil.Process(self.proc.pid)
        except psutil.Error:
            return
        while self._sampling and self.proc.poll() is None:
            try:
                procs = [root, *root.children(recursive=True)]
                rss = sum(p.memory_info().rss for p in procs)
            except psutil.Error:
                continue
            self.peak_rss = max(self.peak_rss, rss)
            self.peak_procs = max(self.peak_procs, len(procs))
            time.sleep(0.02)

    def wait_exit(self, timeout: float) -> float | None:
        """perf_counter time the process exited, or None if it is still running."""
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        return time.perf_counter()

    def read_hwm(self) -> None:
        """Record the main process's peak RSS as the kernel counted it (Linux's ``VmHWM``:
        exact, where 20 ms sampling can miss a short peak such as a 5 MB result's copies)."""
        try:
            with open(f"/proc/{self.proc.pid}/status", encoding="ascii") as fh:
                for line in fh:
                    if line.startswith("VmHWM:"):
                        self.hwm = int(line.split()[1]) * 1024
        except OSError:
            pass

    def kill(self) -> None:
        self._sampling = False
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, 9)
            self.proc.wait(10)
        self._log.close()

    def tail(self, lines: int = 15) -> str:
        with open(self.log_path, "rb") as fh:
            return b"\n".join(fh.read().splitlines()[-lines:]).decode(errors="replace")


def make_jobs(n: int, data: str | None = None) -> list[dict[str, Any]]:
    run = next(_ids)
    return [
        {"id": f"r{run}-j{i}", "input": {"data": data} if data is not None else {"n": i}}
        for i in range(n)
    ]


@dataclass
class RunResult:
    """What one worker run produced."""

    cold_start: float | None
    jobs_done: int
    jobs_per_s: float | None
    chunks_per_s: float | None
    first_chunk_ms: float | None
    peak_rss_mb: float
    procs: int
    done_bytes: int
    latency_ms: float | None = None
    """Median time from the platform handing a job out to its job-done POST fully received."""
    hwm_mb: float | None = None
    """Peak RSS of the worker's main process (VmHWM)."""


def run_jobs(
    opts: Options,
    impl: str,
    mode: str,
    jobs: list[dict[str, Any]],
    budget: float,
    *,
    sample_rss: bool = False,
    pitstop_header: bool = True,
    serial: bool = False,
) -> RunResult:
    """Spawn a worker, feed it ``jobs``, stop at the last result or after ``budget`` s.

    ``pitstop_header=False``: the platform answers takes as RunPod does, without
    ``X-Pitstop-Server``, so pitstop's worker uses no protocol extension. ``serial``: each
    job is queued only once the previous result arrived, so a job's take -> done time is
    its own (in a throughput run it also holds the previous job's result upload, which the
    worker overlaps with the next take).
    """
    p = platform()
    p.reset()
    p.pitstop_header = pitstop_header
    p.load(jobs[:1] if serial else jobs)
    worker = Worker(opts, impl, mode, sample_rss=sample_rss)
    try:
        if not p.wait_first_take(30):
            raise RuntimeError(f"{impl} {mode}: no job-take in 30 s\n{worker.tail()}")
        if serial:
            _feed_serially(p, jobs, budget)
        else:
            p.wait_done(len(jobs), budget)
        stats = p.stats
        done = dict(stats.done)
        chunks = dict(stats.chunks)
        first_chunk = dict(stats.first_chunk)
        taken = dict(stats.taken)
        last_chunk = stats.last_chunk
        worker.read_hwm()
    finally:
        p.pitstop_header = True
        worker.kill()
    first = stats.first_take or 0.0
    span = (max(done.values()) - first) if done else None
    ttfc = [first_chunk[j] - taken[j] for j in first_chunk if j in taken]
    latency = [done[j] - taken[j] for j in done if j in taken]
    if not done and opts.verbose:
        print(worker.tail(), file=sys.stderr)
    return RunResult(
        cold_start=stats.first_request - worker.spawned if stats.first_request else None,
        jobs_done=len(done),
        jobs_per_s=len(done) / span if span else None,
        chunks_per_s=sum(chunks.values()) / (last_chunk - first) if last_chunk else None,
        first_chunk_ms=statistics.median(ttfc) * 1000 if ttfc else None,
        peak_rss_mb=worker.peak_rss / 2**20,
        procs=worker.peak_procs,
        done_bytes=max(stats.done_bytes.values(), default=0),
        latency_ms=statistics.median(latency) * 1000 if latency else None,
        hwm_mb=worker.hwm / 2**20 if worker.hwm else None,
    )


def _feed_serially(p: FakePlatform, jobs: list[dict[str, Any]], budget: float) -> None:
    """Queue ``jobs[1:]`` one at a time, each after the previous result (jobs[0] is queued)."""
    deadline = time.monotonic() + budget
    for done, job in enumerate(jobs[1:], 1):
        if not p.wait_done(done, deadline - time.monotonic()):
            return
        p.load([job])
    p.wait_done(len(jobs), deadline - time.monotonic())


def _collect(
    opts: Options, run: Callable[[str], R], pick: dict[str, Callable[[R], Any]]
) -> dict[str, dict[str, list[float]]]:
    """Run ``opts.runs`` times per implementation; gather each picked figure's samples."""
    samples: dict[str, dict[str, list[float]]] = {name: {} for name in pick}
    for impl in opts.impls:
        for _ in range(opts.runs):
            result = run(impl)
            if opts.verbose:
                print(f"  {impl}: {result}", file=sys.stderr)
            for name, get in pick.items():
                value = get(result)
                samples[name].setdefault(impl, [])
                if value is not None:
                    samples[name][impl].append(float(value))
    return samples


def _throughput(
    opts: Options, name: str, mode: str, n_full: int, n_quick: int, target: float
) -> list[Row]:
    n = n_quick if opts.quick else n_full
    budget = 3.0 if opts.quick else 6.0
    s = _collect(
        opts,
        lambda impl: run_jobs(opts, impl, mode, make_jobs(n), budget),
        {"rate": lambda r: r.jobs_per_s},
    )
    return [row(name, f"{n} jobs", "jobs/s", s["rate"], higher_is_better=True, target=target)]


def bench_noop(opts: Options) -> list[Row]:
    """No-op handler, concurrency 1."""
    return _throughput(opts, "noop", "noop", 1000, 300, 300)


def bench_async16(opts: Options) -> list[Row]:
    """Async handler sleeping 10 ms, concurrency 16."""
    return _throughput(opts, "async16", "async16", 3000, 1000, 1000)


def bench_plain4(opts: Options) -> list[Row]:
    """Blocking handler sleeping 10 ms, concurrency 4."""
    return _throughput(opts, "plain4", "plain4", 1000, 300, 300)


def bench_generator(opts: Options) -> list[Row]:
    """Generator yielding 1000 small chunks per job: chunks/s and time to first chunk."""
    n = 3 if opts.quick else 10
    budget = 3.0 if opts.quick else 6.0
    s = _collect(
        opts,
        lambda impl: run_jobs(opts, impl, "gen1000", make_jobs(n), budget),
        {"rate": lambda r: r.chunks_per_s, "ttfc": lambda r: r.first_chunk_ms},
    )
    return [
        row(
            "generator",
            "1000 chunks/job",
            "chunks/s",
            s["rate"],
            higher_is_better=True,
            target=5000,
        ),
        row("generator", "first chunk", "ms", s["ttfc"], higher_is_better=False, target=5),
    ]


def _big(opts: Options, name: str, mode: str, data: str | None, target_ms: float) -> list[Row]:
    """Big jobs on a RunPod-style platform (no pitstop extensions): throughput and take -> done
    p50 over a queue of jobs (where a job's time also holds the previous result's upload,
    which pitstop overlaps with the next take), take -> done p50 with the jobs fed one at a
    time, and the worker's peak RSS over both runs."""
    n = 4 if opts.quick else 12
    budget = 3.0 if opts.quick else 6.0

    def run(impl: str) -> tuple[RunResult, RunResult]:
        queued = run_jobs(opts, impl, mode, make_jobs(n, data), budget, pitstop_header=False)
        alone = run_jobs(
            opts, impl, mode, make_jobs(n, data), budget, pitstop_header=False, serial=True
        )
        for result in (queued, alone):
            if mode == "bigout" and result.jobs_done and result.done_bytes < FIVE_MB:
                raise RuntimeError(f"{impl}: result body only {result.done_bytes} bytes")
        return queued, alone

    s = _collect(
        opts,
        run,
        {
            "rate": lambda r: r[0].jobs_per_s,
            "queued": lambda r: r[0].latency_ms,
            "alone": lambda r: r[1].latency_ms,
            "hwm": lambda r: max(r[0].hwm_mb or 0, r[1].hwm_mb or 0) or None,
        },
    )
    metric = "5 MB input" if mode == "bigin" else "5 MB output"
    return [
        row(name, metric, "jobs/s", s["rate"], higher_is_better=True),
        row(
            name,
            "take -> done p50, queued",
            "ms",
            s["queued"],
            higher_is_better=False,
            target=target_ms,
        ),
        row(
            name,
            "take -> done p50, one at a time",
            "ms",
            s["alone"],
            higher_is_better=False,
            target=target_ms,
        ),
        row(name, "worker peak RSS", "MB", s["hwm"], higher_is_better=False),
    ]


def bench_big_input(opts: Options) -> list[Row]:
    """Jobs whose input carries 5 MB."""
    return _big(opts, "big_input", "bigin", "i" * FIVE_MB, 30)


def bench_big_output(opts: Options) -> list[Row]:
    """Jobs returning 5 MB."""
    return _big(opts, "big_output", "bigout", None, 60)


def bench_rss(opts: Options) -> list[Row]:
    """Peak RSS of the worker's process tree (and its process count) over a no-op run."""
    n = 300 if opts.quick else 1000
    s = _collect(
        opts,
        lambda impl: run_jobs(opts, impl, "noop", make_jobs(n), 3.0, sample_rss=True),
        {"rss": lambda r: r.peak_rss_mb, "procs": lambda r: r.procs},
    )
    return [
        row("rss", "peak, process tree", "MB", s["rss"], higher_is_better=False, target=55),
        row("rss", "processes", "count", s["procs"], higher_is_better=False, target=2),
    ]


def bench_cold_start(opts: Options) -> list[Row]:
    """Process start to the first job-take request (idle platform)."""

    def run(impl: str) -> RunResult:
        p = platform()
        p.reset()
        worker = Worker(opts, impl, "noop")
        try:
            if not p.wait_first_take(30):
                raise RuntimeError(f"{impl}: no job-take in 30 s\n{worker.tail()}")
            first = p.stats.first_request or 0.0
        finally:
            worker.kill()
        return RunResult(first - worker.spawned, 0, None, None, None, 0.0, 0, 0)

    runs = max(opts.runs, 3 if opts.quick else 5)
    s = _collect(Options(**{**opts.__dict__, "runs": runs}), run, {"cold": lambda r: r.cold_start})
    return [
        row(
            "cold_start",
            "spawn to first job-take",
            "s",
            s["cold"],
            higher_is_better=False,
            target=0.3,
        )
    ]


IMPORT_SNIPPET = (
    "import time; t = time.perf_counter(); import runpod; runpod.serverless.start; "
    "print(time.perf_counter() - t)"
)


def bench_import(opts: Options) -> list[Row]:
    """``import runpod; runpod.serverless.start`` in a fresh interpreter (startup excluded)."""
    samples: dict[str, list[float]] = {}
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNPOD_")}
    for impl in opts.impls:
        samples[impl] = []
        for _ in range(max(opts.runs, 3 if opts.quick else 7)):
            out = subprocess.run(
                [opts.python(impl), "-c", IMPORT_SNIPPET],
                env=env,
                cwd=_logdir,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            samples[impl].append(float(out.strip().splitlines()[-1]) * 1000)
    return [row("import", "import runpod", "ms", samples, higher_is_better=False, target=150)]


def bench_refresh(opts: Options) -> list[Row]:
    """``refresh_worker``: spawn, take one job, post it, exit; the full cycle per job."""
    cycles = 3 if opts.quick else 8

    def one_cycle(impl: str) -> tuple[float | None, float | None]:
        p = platform()
        p.reset()
        p.load(make_jobs(1))
        worker = Worker(opts, impl, "refresh")
        try:
            p.wait_done(1, 30)
            done = next(iter(p.stats.done.values()), None)
            exited = worker.wait_exit(30)
        finally:
            worker.kill()
        to_result = done - worker.spawned if done else None
        cycle = exited - worker.spawned if exited and worker.proc.returncode == 0 else None
        return to_result, cycle

    results: dict[str, dict[str, list[float]]] = {"cycle": {}, "result": {}}
    for impl in opts.impls:
        pairs = [one_cycle(impl) for _ in range(cycles)]
        results["result"][impl] = [r for r, _c in pairs if r is not None]
        results["cycle"][impl] = [c for _r, c in pairs if c is not None]
    return [
        row("refresh", "spawn to result", "s", results["result"], higher_is_better=False),
        row(
            "refresh",
            "spawn to exit (cycle)",
            "s",
            results["cycle"],
            higher_is_better=False,
            target=0.4,
        ),
    ]
