"""``pitstop serve`` and ``pitstop worker``: wire a server (in-process or remote) to a pool.

:class:`Supervisor` is the reusable piece: a :class:`~pitstop.supervisor.pool.Pool` of worker
processes for one endpoint, plus the helpers that feed it events (the scaler, the ``--reload``
watcher, SIGINT/SIGTERM) and the crash-loop reporter. :func:`serve` starts the server in this
process first; :func:`run_workers` points the workers at a remote one.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Coroutine, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from pitstop.config import ServerConfig, SupervisorConfig
from pitstop.errors import ConfigError, PitstopError
from pitstop.storage.base import Store
from pitstop.supervisor.banner import banner_lines, endpoint_note, worker_count
from pitstop.supervisor.devices import DeviceLease
from pitstop.supervisor.endpoints import (
    check_endpoints,
    device_leases,
    gpu_probe,
    handler_env,
    run_together,
    stop_signals,
)
from pitstop.supervisor.events import CrashReport, Reload, Scale, Stop
from pitstop.supervisor.gpus import GpuProbe
from pitstop.supervisor.pool import Pool
from pitstop.supervisor.preflight import check_data_dir, default_endpoint_id
from pitstop.supervisor.process import default_sink, worker_environment
from pitstop.supervisor.reload import watch_changes
from pitstop.supervisor.scaler import Demand, HttpDemand, Scaler, StoreDemand
from pitstop.supervisor.telemetry import GpuTelemetry
from pitstop.supervisor.transcript import Sink

if TYPE_CHECKING:
    from pitstop.server.runner import RunningServer

EXIT_USAGE = 2
EXIT_FAILED = 1
FALLBACK_WORKER_KEY = "pitstop-local"
"""Sent when no worker key is configured: RunPod's heartbeat only runs with a non-empty key."""
_REPORT_TIMEOUT = 2.0


class Supervisor:
    """Worker processes for one handler file and endpoint, against the server at ``server_url``."""

    def __init__(
        self,
        sup: SupervisorConfig,
        *,
        server_url: str,
        worker_key: str = "",
        store: Store | None = None,
        ping_interval_ms: int | None = None,
        sink: Sink = default_sink,
        devices: DeviceLease | None = None,
        name: str = "",
        probe: GpuProbe | None = None,
    ) -> None:
        if not sup.endpoint_id:
            sup = replace(sup, endpoint_id=default_endpoint_id(sup.handler_path))
        self.sup = sup
        self.server_url = server_url.rstrip("/")
        self.worker_key = worker_key or FALLBACK_WORKER_KEY
        self.store = store
        self.ping_interval_ms = ping_interval_ms
        self.pool = Pool(
            sup,
            self._env_for,
            sink=sink,
            report_unhealthy=self._report_crash,
            release_jobs=self._release_jobs,
            devices=devices,
            name=name,
        )
        self.probe = probe
        """Where the workers' GPUs are read for telemetry (None: no telemetry)."""
        self._client: httpx.AsyncClient | None = None
        self._reload_stop = asyncio.Event()

    def stop(self, reason: str = "stop requested") -> None:
        """Drain and stop (a second call stops at once). Safe from signal handlers."""
        self.pool.post(Stop(reason))

    async def run(self, *, install_signals: bool = True) -> int:
        """Supervise until drained; return the exit code (0 after a drain)."""
        headers = {"Authorization": self.worker_key}
        async with httpx.AsyncClient(headers=headers, timeout=_REPORT_TIMEOUT) as client:
            self._client = client
            helpers = list(self._helpers(client))
            try:
                with stop_signals([self], install_signals):
                    return await self.pool.run()
            finally:
                self._reload_stop.set()
                for task in helpers:
                    task.cancel()
                await asyncio.gather(*helpers, return_exceptions=True)
                self._client = None

    def _helpers(self, client: httpx.AsyncClient) -> Iterator[asyncio.Future[None]]:
        sup = self.sup
        if sup.max_workers > sup.min_workers:
            scaler = Scaler(sup, self._demand(client), lambda n: self.pool.post(Scale(n)))
            yield asyncio.ensure_future(scaler.run())
        if self.probe is not None and self.pool.devices is not None:
            url = f"{self.server_url}/pitstop/v1/endpoints/{sup.endpoint_id}/gpus"
            telemetry = GpuTelemetry(
                self.probe, self.pool, client, url, sup.gpu_telemetry_interval, self.pool.log
            )
            yield asyncio.ensure_future(telemetry.run())
        if sup.reload:
            ignore = [sup.data_dir] if self.store is not None else []
            yield asyncio.ensure_future(
                watch_changes(
                    sup.handler_path,
                    lambda paths: self.pool.post(Reload(paths)),
                    ignore=ignore,
                    stop=self._reload_stop,
                )
            )

    def _demand(self, client: httpx.AsyncClient) -> Demand:
        if self.store is not None:
            return StoreDemand(self.store, self.sup.endpoint_id, self.pool.log)
        return HttpDemand(client, self.server_url, self.sup.endpoint_id, self.pool.log)

    def _env_for(self, worker_id: str) -> dict[str, str]:
        from pitstop.server.urls import worker_env

        protocol = worker_env(self.server_url, self.sup.endpoint_id, worker_id, self.worker_key)
        return worker_environment(
            {**os.environ, **handler_env(self.sup)},
            protocol,
            concurrency=self.sup.concurrency,
            ping_interval_ms=self.ping_interval_ms,
            shutdown_grace=self.sup.drain_timeout,
        )

    async def _report_crash(self, report: CrashReport) -> None:
        """RunPod's unhealthy ping for the crashed worker's id, so ``/health`` counts it at
        once; ``exit_code`` and ``error`` are pitstop's additions (shown by ``pitstop health``).
        The replacement's first heartbeat clears it. Errors are logged, never raised."""
        if self._client is None:
            return
        url = f"{self.server_url}/v2/{self.sup.endpoint_id}/ping/{report.worker_id}"
        params = {
            "status": "unhealthy",
            "check": report.check,
            "reason": report.reason[:256],
            "exit_code": str(report.exit_code),
            "error": report.error,
        }
        try:
            response = await self._client.get(url, params=params)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            self.pool.log(f"could not report the crash to {url}: {exc}", error=True)

    async def _release_jobs(self, worker_id: str) -> None:
        """``job-release``: the jobs the exited worker still held go back to the queue now
        (attempt counted, fenced), not when their lease expires. Errors are logged; the lease
        expiry still recovers the jobs."""
        if self._client is None:
            return
        url = f"{self.server_url}/v2/{self.sup.endpoint_id}/job-release/{worker_id}"
        try:
            response = await self._client.post(url, json={})
            response.raise_for_status()
        except httpx.HTTPError as exc:
            self.pool.log(f"could not release the jobs of worker {worker_id}: {exc}", error=True)
            return
        released = response.json().get("released") or []
        if released:
            self.pool.log(f"worker {worker_id} exited holding {len(released)} job(s): requeued")


def ping_interval_for(lease_s: float) -> int:
    """Heartbeat period (ms) that renews a lease of ``lease_s`` about three times over."""
    return max(10, min(10_000, int(lease_s * 1000 / 3)))


def reachable_url(host: str, port: int, url: str) -> str:
    """The URL local workers use: loopback when the server listens on every interface."""
    if host in ("0.0.0.0", "::", ""):
        return f"http://127.0.0.1:{port}"
    return url


def default_store_url(sup: SupervisorConfig, srv: ServerConfig) -> str:
    """The server's store URL, or SQLite in ``sup.data_dir`` when the default was left alone."""
    if srv.store_url != ServerConfig().store_url:
        return srv.store_url
    return f"sqlite:///{Path(sup.data_dir) / 'pitstop.db'}"


async def serve_async(
    sup: SupervisorConfig | Sequence[SupervisorConfig],
    srv: ServerConfig,
    *,
    sink: Sink = default_sink,
    install_signals: bool = True,
    probe: GpuProbe | None = None,
) -> int:
    """Start the server in-process, print how to call each endpoint, supervise every
    endpoint's workers until drained (``probe``: where GPUs are read, NVML by default)."""
    sups = check_endpoints([sup] if isinstance(sup, SupervisorConfig) else sup)
    if not sups:
        raise ConfigError("no handler file given")
    first = sups[0]
    if srv.store_url == ServerConfig().store_url:
        check_data_dir(first.data_dir)
    srv = replace(srv, store_url=default_store_url(first, srv))
    srv = replace(srv, endpoint_execution_timeouts=endpoint_timeouts(sups, srv))
    worker_key, srv = _worker_key(first, srv)
    with gpu_probe(sups, probe) as probe:
        leases = device_leases(sups, probe, lambda line: sink(f"pitstop | {line}", False))
        running = await _start_server(srv)
        try:
            client_key = next(iter(srv.client_keys), None)
            banners = [banner_lines(s, running.url, client_key) for s in sups]
            for line in [line for lines in banners for line in lines[:-1]] + banners[0][-1:]:
                sink(line, False)
            supervisors = [
                Supervisor(
                    s,
                    server_url=reachable_url(srv.host, running.port, running.url),
                    worker_key=worker_key,
                    store=running.store,
                    ping_interval_ms=ping_interval_for(srv.lease_s),
                    sink=sink,
                    devices=leases[s.endpoint_id],
                    name=s.endpoint_id if len(sups) > 1 else "",
                    probe=probe,
                )
                for s in sups
            ]
            return await run_together(supervisors, install_signals=install_signals)
        finally:
            await running.stop()


def endpoint_timeouts(sups: Sequence[SupervisorConfig], srv: ServerConfig) -> tuple[str, ...]:
    """The server's ``ENDPOINT=MS`` execution timeouts, then those the endpoints set (which
    win)."""
    own = [f"{s.endpoint_id}={s.execution_timeout_ms}" for s in sups if s.execution_timeout_ms]
    return (*srv.endpoint_execution_timeouts, *own)


def _worker_key(sup: SupervisorConfig, srv: ServerConfig) -> tuple[str, ServerConfig]:
    """The key the supervised workers use: the given one, else a configured worker key,
    else (when the server needs keys) a fresh one the server is told to accept."""
    from pitstop.server.auth import Keys

    keys = Keys.of(srv)
    key = sup.worker_key or next(iter(srv.worker_keys), "") or min(keys.worker, default="")
    if key or not keys.any:
        return key, srv
    key = secrets.token_urlsafe(24)
    return key, replace(srv, worker_keys=(*srv.worker_keys, key))


async def _start_server(srv: ServerConfig) -> RunningServer:
    from pitstop.server.runner import start_server

    try:
        return await start_server(srv)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {srv.host}:{srv.port}: {exc.strerror or exc}") from exc


async def run_workers_async(
    sup: SupervisorConfig,
    *,
    sink: Sink = default_sink,
    install_signals: bool = True,
    probe: GpuProbe | None = None,
) -> int:
    """Supervise workers for a remote server (``sup.server_url``) until drained
    (``probe``: where GPUs are read, NVML by default)."""
    server_url = sup.server_url
    if not server_url:
        raise ConfigError("pitstop worker needs the server URL (--url)")
    sup = check_endpoints([sup])[0]
    sink(
        f"pitstop | {sup.handler_path}: {worker_count(sup)} worker(s) for "
        f"endpoint '{sup.endpoint_id}'{endpoint_note(sup)} at {sup.server_url}",
        False,
    )
    with gpu_probe([sup], probe) as probe:
        lease = device_leases([sup], probe, lambda line: sink(f"pitstop | {line}", False))
        supervisor = Supervisor(
            sup,
            server_url=server_url,
            worker_key=sup.worker_key,
            sink=sink,
            devices=lease[sup.endpoint_id],
            probe=probe,
        )
        return await supervisor.run(install_signals=install_signals)


def serve(sup: SupervisorConfig | Sequence[SupervisorConfig], srv: ServerConfig) -> int:
    """``pitstop serve``: server plus supervised workers in one command; returns the exit code."""
    return _run_main(serve_async(sup, srv))


def run_workers(sup: SupervisorConfig) -> int:
    """``pitstop worker``: supervised workers against a remote server; returns the exit code."""
    return _run_main(run_workers_async(sup))


def _run_main(main: Coroutine[Any, Any, int]) -> int:
    """Run on uvloop when installed (the in-process server is faster on it), else asyncio."""
    try:
        try:
            import uvloop
        except ImportError:
            return asyncio.run(main)
        return uvloop.run(main)
    except PitstopError as exc:
        return _report_error(exc)
    except KeyboardInterrupt:
        return 130


def _report_error(exc: PitstopError) -> int:
    default_sink(f"pitstop | error: {exc}", True)
    return EXIT_USAGE if isinstance(exc, ConfigError) else EXIT_FAILED
