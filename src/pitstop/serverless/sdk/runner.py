"""The official worker classes and entry points, adapted onto pitstop's worker.

* ``worker.main(config)`` / ``worker.run_worker(config)`` and ``rp_scale.JobScaler(config)
  .start()`` run pitstop's production worker loop (:func:`pitstop.serverless.worker.run_worker`);
  ``JobScaler.kill_worker()`` stops it as the official one does (no new takes, in-flight
  jobs are delivered). The loop's internals (``get_jobs``, ``run_jobs``, ...) are pitstop's
  own and raise :class:`~pitstop.errors.UnsupportedOperation` when called.
* ``rp_local.run_local(config)`` runs pitstop's local test mode and exits like the official.
* ``Heartbeat``: pitstop's worker pings from its own event loop, so ``start_ping`` starts
  nothing (it logs that at DEBUG); the ping loop itself is not callable.
* ``rp_fastapi.WorkerAPI(config).start_uvicorn(...)`` serves pitstop's local API server.
* ``rp_fitness.run_fitness_checks()`` runs pitstop's checks (user checks, then built-ins);
  the official ``auto_register_*`` functions do nothing because pitstop adds its built-in
  checks itself when the checks run.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

from pitstop.config import WorkerConfig
from pitstop.errors import MissingExtraError, UnsupportedOperation
from pitstop.serverless.job_loop import Scaler
from pitstop.serverless.jobs_progress import JobsProgress
from pitstop.serverless.logger import get_logger


def _unsupported(name: str, instead: str) -> NoReturn:
    raise UnsupportedOperation(f"{name} is internal to the official SDK's worker loop; {instead}")


def is_local(config: dict[str, Any]) -> bool:
    """Local test mode: a ``--test_input`` or no ``RUNPOD_WEBHOOK_GET_JOB`` (official rule)."""
    if (config.get("rp_args") or {}).get("test_input"):
        return True
    return os.environ.get("RUNPOD_WEBHOOK_GET_JOB") is None


async def run_local(config: dict[str, Any]) -> NoReturn:
    """``rp_local.run_local``: run the local test job, then exit 0 (success) or 1."""
    from pitstop.serverless.local import run_local as run_local_mode

    code = await asyncio.to_thread(run_local_mode, config)
    sys.exit(code)


async def run_fitness_checks() -> None:
    """``rp_fitness.run_fitness_checks``: pitstop's checks with the environment's settings."""
    from pitstop.serverless.fitness import run_fitness_checks as run_checks

    await run_checks(WorkerConfig.from_env())


def auto_register_checks() -> None:
    """``auto_register_gpu_check`` / ``auto_register_system_checks``: nothing to do."""
    get_logger().debug("pitstop adds its built-in fitness checks when the checks run.")


def get_binary_path(binary_name: str) -> Path | None:
    """``RUNPOD_BINARY_<NAME>_PATH`` if it names a file; pitstop bundles no binaries."""
    configured = os.environ.get(f"RUNPOD_BINARY_{binary_name.upper()}_PATH")
    if configured and Path(configured).is_file():
        return Path(configured)
    return None


def run_worker(config: dict[str, Any]) -> None:
    """``worker.run_worker``: fitness checks, then the worker loop until a signal or refresh."""
    from pitstop.serverless.worker import run_worker as run_loop

    asyncio.run(run_loop(config, WorkerConfig.from_env()))


def main(config: dict[str, Any]) -> None:
    """``worker.main``: the local test job, or the production worker."""
    if is_local(config):
        asyncio.run(run_local(config))
        return
    run_worker(config)


def _same_concurrency(current_concurrency: int) -> int:
    return current_concurrency


class JobScaler:
    """``rp_scale.JobScaler``: runs pitstop's worker loop for ``config``."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.current_concurrency = 1
        self.job_progress = JobsProgress()
        self.jobs_tasks: dict[str, asyncio.Task[Any]] = {}
        self.concurrency_modifier = config.get("concurrency_modifier") or _same_concurrency
        self._scaler: Scaler | None = None
        self._killed = False

    def start(self) -> None:
        """Run the worker loop until a signal, a refresh or :meth:`kill_worker`."""
        asyncio.run(self.run())

    async def run(self) -> None:
        """The worker loop (no fitness checks, as the official ``JobScaler.run``)."""
        from pitstop.serverless.worker import run_worker as run_loop

        if self._killed:
            return
        await run_loop(
            self.config, WorkerConfig.from_env(), run_fitness=False, on_start=self._attach
        )

    def _attach(self, scaler: Scaler) -> None:
        self._scaler = scaler
        self.jobs_tasks = {}
        if self._killed:
            scaler.request_stop("signal")

    def is_alive(self) -> bool:
        """False once the worker was told to stop."""
        stopping = self._scaler is not None and self._scaler.stopping.is_set()
        return not (self._killed or stopping)

    def kill_worker(self) -> None:
        """Stop taking jobs; in-flight jobs are still delivered."""
        get_logger().debug("Kill worker.")
        self._killed = True
        if self._scaler is not None:
            self._scaler.request_stop("signal")

    def handle_shutdown(self, signum: int, frame: Any) -> None:
        """Signal handler of the official class: stops the worker."""
        get_logger().debug(f"Received shutdown signal: {signum}.")
        self.kill_worker()

    def current_occupancy(self) -> int:
        """Jobs in progress."""
        return self.job_progress.get_job_count()

    async def stop_job(self, job_id: str) -> bool:
        """Stop one running job; False when it is not running here."""
        if self._scaler is None or job_id not in self._scaler.jobs:
            return False
        self._scaler.stop_job(job_id)
        return True

    async def set_scale(self) -> None:
        """Not available: pitstop re-reads ``concurrency_modifier`` on every take."""
        _unsupported("JobScaler.set_scale", "pitstop re-reads concurrency_modifier itself.")

    async def get_jobs(self, session: Any) -> None:
        """Not available: pitstop's loop takes jobs itself (use :meth:`start`)."""
        _unsupported("JobScaler.get_jobs", "call start() to run pitstop's worker loop.")

    async def run_jobs(self, session: Any) -> None:
        """Not available: pitstop's loop runs jobs itself (use :meth:`start`)."""
        _unsupported("JobScaler.run_jobs", "call start() to run pitstop's worker loop.")

    async def monitor_stop_signals(self, session: Any) -> None:
        """Not available: pitstop's loop polls the stop channel itself."""
        _unsupported("JobScaler.monitor_stop_signals", "call start() to run pitstop's loop.")

    async def handle_job(self, session: Any, job: dict[str, Any]) -> None:
        """Not available: use ``rp_job.handle_job(session, config, job)``."""
        _unsupported("JobScaler.handle_job", "use rp_job.handle_job(session, config, job).")


class Heartbeat:
    """``rp_ping.Heartbeat``: pitstop's worker sends the heartbeat from its job loop."""

    _process_started = False

    def __init__(self, pool_connections: int = 10, retries: int = 3) -> None:
        worker_id = os.environ.get("RUNPOD_POD_ID", "")
        ping = os.environ.get("RUNPOD_WEBHOOK_PING", "PING_NOT_SET")
        self.PING_URL = ping.replace("$RUNPOD_POD_ID", worker_id)
        self.PING_INTERVAL = int(os.environ.get("RUNPOD_PING_INTERVAL", "10000")) // 1000

    def start_ping(self, mirror: Any = None, test: bool = False) -> None:
        """Start nothing: ``runpod.serverless.start`` already pings (when RunPod's gate allows)."""
        get_logger().debug("pitstop's worker loop sends the heartbeat; start_ping starts nothing.")

    def ping_loop(self, test: bool = False) -> None:
        """Not available: the heartbeat is a task of pitstop's worker loop."""
        _unsupported("Heartbeat.ping_loop", "runpod.serverless.start() sends the heartbeat.")

    @staticmethod
    def process_loop(mirror: Any = None, test: bool = False) -> None:
        """Not available: pitstop starts no ping process."""
        _unsupported("Heartbeat.process_loop", "runpod.serverless.start() sends the heartbeat.")


class WorkerAPI:
    """``rp_fastapi.WorkerAPI``: pitstop's local API server (``--rp_serve_api``) for ``config``."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config

    def start_uvicorn(
        self, api_host: str = "localhost", api_port: int = 8000, api_concurrency: int = 1
    ) -> None:
        """Serve until interrupted (one process: ``api_concurrency`` is not used)."""
        try:
            from pitstop.server.local import serve_api
        except ImportError as exc:
            raise MissingExtraError("server", "fastapi") from exc
        serve_api(self.config, api_host, int(api_port))
