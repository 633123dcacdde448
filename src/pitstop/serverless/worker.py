"""``start(config)``: RunPod's worker entry point, and the production worker run.

Mode dispatch (spec §1.2): ``--rp_serve_api`` starts the local API server
(``pitstop.server.local.serve_api``); otherwise ``--test_input`` or a missing
``RUNPOD_WEBHOOK_GET_JOB`` runs one local test job; otherwise the production worker runs
until a signal or a refresh, and the process exits with :func:`run_worker`'s code.

Differences from RunPod's SDK, on purpose:

* A ``refresh_worker`` key in a handler's returned (or yielded) dict stops this worker after
  the job is delivered, exactly like the ``refresh_worker`` config key, and the process exits
  0. RunPod's SDK only adds ``stopPod`` and keeps running, leaving the restart to the
  platform; pitstop's supervisor restarts exited workers.
* SIGTERM/SIGINT stop job-taking at once (open long-polls are cancelled, so an idle worker
  exits in milliseconds); in-flight jobs get ``shutdown_grace`` seconds to finish and be
  delivered, then exit 0. A second signal exits at once with code ``128 + signal number``
  (130 for SIGINT, 143 for SIGTERM), without delivering anything.
* A stopped or abandoned sync handler cannot be interrupted: its job is not reported and its
  thread is left to finish. The process ends with ``os._exit`` after running the atexit
  hooks (the interpreter teardown costs ~0.1-0.3 s of every refresh cycle); the hooks are
  skipped too while abandoned handler threads run, since one of them joins those threads.
* Progress updates are delivered in order and always before the job's final result.
* The realtime mode (``RUNPOD_REALTIME_PORT``) serves the same local API as
  ``--rp_serve_api``, bound to ``0.0.0.0:<port>``, plus RunPod's
  ``POST /{RUNPOD_ENDPOINT_ID}/realtime`` route (run through the queue, raw result back).
* Invalid ``--test_input`` JSON exits with argparse's message and code 2 (RunPod: a
  traceback and code 1).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

from pitstop.config import WorkerConfig
from pitstop.errors import ConfigError, MissingExtraError
from pitstop.serverless import capture
from pitstop.serverless.args import parse_args
from pitstop.serverless.handler import busy_threads
from pitstop.serverless.heartbeat import heartbeat, should_ping
from pitstop.serverless.job_loop import Scaler
from pitstop.serverless.logger import get_logger
from pitstop.serverless.stops import stop_channel_enabled, stop_loop
from pitstop.serverless.transport import Transport, Urls
from pitstop.serverless.version import banner


def start(config: dict[str, Any]) -> None:
    """Run a worker for ``config["handler"]``; blocks, then exits the process (§1.2)."""
    print(banner(), flush=True)
    config["reference_counter_start"] = time.perf_counter()
    config["rp_args"] = parse_args()
    rp_args = config["rp_args"]
    if rp_args.get("rp_log_level"):
        get_logger().set_level(rp_args["rp_log_level"])
    if rp_args.get("rp_serve_api"):
        _serve_api(config, rp_args["rp_api_host"], rp_args["rp_api_port"])
        return
    realtime_port = _realtime_port()
    if realtime_port:
        _serve_api(config, "0.0.0.0", realtime_port, realtime=True)
        return
    if rp_args.get("test_input") or "RUNPOD_WEBHOOK_GET_JOB" not in os.environ:
        _exit(_run_local(config))
    cfg = WorkerConfig.from_env()
    _exit(asyncio.run(run_worker(config, cfg)))


def _run_local(config: dict[str, Any]) -> int:
    from pitstop.serverless.local import run_local

    try:
        return run_local(config)
    except KeyboardInterrupt:
        get_logger().info("SIGINT received. Shutting down.")
        return 0


def _realtime_port() -> int:
    raw = os.environ.get("RUNPOD_REALTIME_PORT") or "0"
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"RUNPOD_REALTIME_PORT={raw!r} is not a port number") from None


def _serve_api(config: dict[str, Any], host: str, port: int, *, realtime: bool = False) -> None:
    try:
        from pitstop.server.local import serve_api
    except ImportError as exc:
        raise MissingExtraError("server", "fastapi") from exc
    get_logger().info("Starting API server.")
    serve_api(config, host, port, realtime=realtime)


def _exit(code: int) -> None:
    """Leave the process at once: atexit hooks run, the slow interpreter teardown is skipped.

    Abandoned handler threads (stopped sync jobs) must not hold the process open either, so
    the thread-pool join that atexit would do is skipped when such threads still run.
    """
    if not busy_threads():
        atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


async def _fitness(cfg: WorkerConfig) -> None:
    from pitstop.serverless.fitness import run_fitness_checks

    await run_fitness_checks(cfg)


def _install_signals(scaler: Scaler) -> list[signal.Signals]:
    """Signal handlers only record the request; the main loop reacts (second one: exit now)."""
    loop = asyncio.get_running_loop()

    def on_signal(signum: signal.Signals) -> None:
        if scaler.stopping.is_set() and scaler.reason == "signal":
            sys.stdout.flush()
            os._exit(128 + int(signum))
        get_logger().info(f"{signum.name} received. Shutting down.")
        scaler.request_stop("signal")

    installed = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, on_signal, signum)
            installed.append(signum)
    return installed


async def run_worker(
    handler_config: dict[str, Any],
    cfg: WorkerConfig,
    *,
    install_signal_handlers: bool = True,
    exit_on_refresh: bool = True,
    run_fitness: bool = True,
    on_start: Callable[[Scaler], None] | None = None,
) -> int:
    """Run the production worker until a signal or refresh; returns the exit code to use.

    ``on_start`` receives the job loop before the first take (``rp_scale.JobScaler`` keeps
    it to stop the loop from outside)."""
    transport = Transport(cfg, Urls.from_config(cfg))
    try:
        scaler = Scaler(
            handler_config, transport, exit_on_refresh=exit_on_refresh, concurrency=cfg.concurrency
        )
        if run_fitness:  # fitness checks belong to production workers only (spec §1.5)
            await _fitness(cfg)
    except BaseException:
        await transport.aclose()
        raise
    if on_start is not None:
        on_start(scaler)
    signals = _install_signals(scaler) if install_signal_handlers else []
    undo_capture = capture.install(lambda: transport.pitstop)
    background: list[asyncio.Task[None]] = []
    try:
        if should_ping(cfg):
            background.append(asyncio.create_task(heartbeat(transport, scaler.job_ids)))
        if stop_channel_enabled(transport):
            background.append(asyncio.create_task(stop_loop(transport, scaler.stop_job)))
        await scaler.take_loop()
        await scaler.drain(None if scaler.reason == "refresh" else cfg.shutdown_grace)
    finally:
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        if scaler.jobs:  # cancelled from outside (in-process use): jobs are not reported
            await scaler.abandon_all("Worker cancelled")
        undo_capture()
        await transport.aclose()
        for signum in signals:
            asyncio.get_running_loop().remove_signal_handler(signum)
    get_logger().info("Worker stopped.")
    return 0
