"""Run one scenario under the official SDK and under pitstop, and normalise what each sent.

``run_both(scenario, workdir)`` starts the same handler file under both runtimes at once,
each against its own ``FakePlatform`` scripted identically, ends each run the same way
(the worker exits by itself, or SIGTERM once the awaited results arrived and the worker
polls again) and returns one
``Run`` per runtime: the recorded requests, the exit code and the output.

``normal(rec)`` reduces a request to what must match between the two SDKs: method, route,
path, query (``runpod_version`` masked), the protocol headers (``Authorization``,
``Content-Type``, ``charset``, ``X-Request-ID`` on job POSTs, the ``RunPod-Python-SDK/``
User-Agent prefix) and the body (raw bytes and parsed JSON, with tracebacks, versions and
hostnames masked inside RunPod's error strings). Ordering jitter between concurrent polls,
timings, retry counts and pitstop-only ``X-Pitstop-*`` headers are not compared.
"""

from __future__ import annotations

import functools
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.platform import FakePlatform, Recorded, Reply
from tests.support.procs import OFFICIAL, PITSTOP, WorkerProcess, start_worker

RUNTIMES = (OFFICIAL, PITSTOP)
PITSTOP_ENV = {
    "PITSTOP_WORKER_STOP_POLL_FLOOR": "0.2",
    "PITSTOP_WORKER_BACKOFF_BASE": "0.05",
    "PITSTOP_WORKER_BACKOFF_MAX": "0.2",
    "PITSTOP_WORKER_RESULT_BACKOFF": "0.05",
}
"""Ignored by the official SDK; keeps pitstop's side of each scenario short."""


@dataclass
class Scenario:
    """One differential run: a handler file, its jobs, scripted replies and how it ends."""

    handler: str
    jobs: list[Any] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    args: list[str] = field(default_factory=list)
    script: dict[str, list[Reply]] = field(default_factory=dict)
    job_script: dict[tuple[str, str], list[Reply]] = field(default_factory=dict)
    """Replies for one job's requests, keyed by (route, job id)."""
    await_results: list[str] = field(default_factory=list)
    """SIGTERM once these jobs have a final result; empty: the worker must exit by itself."""
    stop_after_start: list[str] = field(default_factory=list)
    """Send these ids on the stop channel once the handler printed ``MARK START`` for each."""
    as_list: bool = False
    """Serve all jobs as one list on the first take (RunPod's SDK then runs them without
    its 1 s "queue is full" pause between jobs)."""
    local: bool = False
    """Local mode: no platform env at all."""
    timeout: float = 30.0


@dataclass
class Run:
    """What one runtime did in a scenario."""

    runtime: str
    requests: list[Recorded]
    exit_code: int
    stdout: str
    stderr: str

    def route(self, name: str) -> list[Recorded]:
        return [r for r in self.requests if r.route == name]

    def results(self, job_id: str) -> list[Recorded]:
        return [r for r in self.route("done") if r.job_id == job_id and not r.is_progress]

    def progress(self, job_id: str) -> list[Recorded]:
        return [r for r in self.route("done") if r.job_id == job_id and r.is_progress]

    def streams(self, job_id: str) -> list[Recorded]:
        return [r for r in self.route("stream") if r.job_id == job_id]


def run_both(scenario: Scenario, workdir: Path) -> dict[str, Run]:
    """Run ``scenario`` under both runtimes concurrently; AssertionError if either hangs."""
    runs: dict[str, Run] = {}
    errors: list[BaseException] = []

    def one(runtime: str) -> None:
        try:
            runs[runtime] = run_one(scenario, runtime, workdir / runtime)
        except BaseException as exc:  # reported by the caller's thread
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(rt,)) for rt in RUNTIMES]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return runs


def run_one(scenario: Scenario, runtime: str, workdir: Path) -> Run:
    with FakePlatform(take_hold=0.2, stop_hold=0.2) as platform:
        for route, replies in scenario.script.items():
            platform.script(route, *replies)
        for (route, job_id), replies in scenario.job_script.items():
            platform.script(route, *replies, job_id=job_id)
        if scenario.as_list:
            platform.script("take", Reply(200, scenario.jobs))
        else:
            platform.add_jobs(*scenario.jobs)
        env = {} if scenario.local else platform.env(ping_interval_ms=1000)
        env = {**env, **PITSTOP_ENV, **scenario.env}
        with start_worker(
            scenario.handler, env, workdir=workdir, runtime=runtime, args=scenario.args
        ) as worker:
            code = drive(scenario, platform, worker)
            return Run(runtime, platform.requests, code, worker.stdout, worker.stderr)


def drive(scenario: Scenario, platform: FakePlatform, worker: WorkerProcess) -> int:
    """Deliver the scripted stop signals, then end the run the scenario's way."""
    timeout = scenario.timeout
    for job_id in scenario.stop_after_start:
        worker.wait_mark(job_id, timeout)
    if scenario.stop_after_start:
        platform.stop_jobs(*scenario.stop_after_start)
    if not scenario.await_results:
        return worker.wait(timeout)
    for job_id in scenario.await_results:
        platform.wait_for(functools.partial(final_results, platform, job_id), timeout)
    # Let the worker go back to polling after the last result (unless it exited), then stop it.
    last = max(r.at for job_id in scenario.await_results for r in platform.results(job_id))
    platform.wait_for(
        lambda: worker.returncode is not None or [t for t in platform.takes() if t.at > last],
        timeout,
    )
    return worker.shutdown(timeout=timeout)


def final_results(platform: FakePlatform, job_id: str) -> list[Recorded]:
    return [r for r in platform.results(job_id) if r.status is not None]


# ---------------------------------------------------------------- normalisation

_POST_HEADERS = ("authorization", "content-type", "charset", "x-request-id")
_GET_HEADERS = ("authorization", "content-type")


def normal(rec: Recorded) -> dict[str, Any]:
    """The comparable form of one request (see the module docstring)."""
    names: tuple[str, ...] = _POST_HEADERS if rec.method == "POST" else _GET_HEADERS
    if rec.route == "ping":  # RunPod pings through ``requests``: its own default headers
        names = ("authorization",)
    headers = {n: rec.header(n) for n in names}
    if rec.route != "ping":
        ua = rec.header("user-agent") or ""
        headers["user-agent"] = ua.split("/")[0] + "/" if "/" in ua else ua
    return {
        "method": rec.method,
        "route": rec.route,
        "path": rec.path,
        "query": [(k, "<ver>" if k == "runpod_version" else v) for k, v in rec.query],
        "headers": headers,
        "body": normal_body(rec.body),
    }


def normal_body(raw: bytes) -> Any:
    """Parsed JSON with RunPod's error strings normalised; raw bytes when not JSON."""
    if not raw:
        return None
    try:
        body = json.loads(raw)
    except ValueError:
        return raw
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        body = {**body, "error": normal_error(body["error"])}
    return body


def normal_error(text: str) -> Any:
    """Mask tracebacks, versions and hosts inside an ``error`` string."""
    if text.startswith("handler: ") and "\ntraceback: " in text:
        return text.split("\ntraceback: ", 1)[0] + "\ntraceback: <tb>"
    try:
        info = json.loads(text)
    except ValueError:
        return text
    if not isinstance(info, dict):
        return text
    masked = {"error_traceback": "<tb>", "runpod_version": "<ver>"}
    return {k: masked.get(k, v) for k, v in info.items()} | {"<keys>": list(info)}


def raw_equal(a: list[Recorded], b: list[Recorded]) -> bool:
    return [r.body for r in a] == [r.body for r in b]
