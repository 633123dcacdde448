"""``--rp_serve_api``: this job server plus one in-process worker, for local development.

RunPod's local API runs the handler synchronously inside the request and forgets jobs;
pitstop instead serves the production server (SQLite in a temporary directory) with a real
worker loop pointed at it, so ``/run`` jobs actually run, webhooks go out for every terminal
state and failures are FAILED jobs, not 500s. Every route is under ``/v2/{endpoint}/...``
(endpoint from ``RUNPOD_ENDPOINT_ID``, default ``local``) and RunPod's local paths
``/run``, ``/runsync``, ``/status/{id}``, ``/stream/{id}`` map onto the same endpoint.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import signal
import tempfile
from pathlib import Path
from typing import Any

from pitstop.config import ServerConfig, WorkerConfig
from pitstop.server.realtime import add_realtime_route
from pitstop.server.runner import RunningServer, run_async, start_server
from pitstop.server.urls import worker_env

log = logging.getLogger("pitstop.server.local")

LOCAL_LEASE_S = 7 * 24 * 3600.0
"""The in-process worker lives and dies with the server, so its leases never need expiring."""
RESTART_DELAY = 1.0


def local_configs(
    host: str, port: int, data_dir: str, endpoint: str
) -> tuple[ServerConfig, str, str]:
    """The server config, the worker key and the worker id for a local API server
    (webhooks may reach the hosts in ``PITSTOP_WEBHOOK_ALLOW``, as for ``pitstop server``)."""
    key = secrets.token_urlsafe(16)
    config = ServerConfig(
        webhook_allow=ServerConfig.from_env().webhook_allow,
        host=host,
        port=port,
        store_url=f"sqlite:///{Path(data_dir) / 'pitstop.db'}",
        worker_keys=(key,),
        allow_public_without_keys=True,
        lease_s=LOCAL_LEASE_S,
        take_wait=20.0,
        stop_wait=20.0,
        sweep_interval=0.5,
    )
    return config, key, f"local-{endpoint}-worker"


def worker_config(server: RunningServer, endpoint: str, worker_id: str, key: str) -> WorkerConfig:
    """The in-process worker's config: RunPod's variables pointing at ``server``."""
    env: dict[str, str] = {
        k: v for k, v in os.environ.items() if k.startswith(("RUNPOD_", "PITSTOP_"))
    }
    env.update(worker_env(server.url, endpoint, worker_id, key))
    env["RUNPOD_ENDPOINT_ID"] = endpoint
    return WorkerConfig.from_env(env)


async def _worker_forever(handler_config: dict[str, Any], cfg: WorkerConfig) -> None:
    from pitstop.serverless.worker import run_worker

    while True:
        code = await run_worker(
            handler_config,
            cfg,
            install_signal_handlers=False,
            exit_on_refresh=False,
            run_fitness=False,
        )
        log.warning("local worker exited with code %s; restarting it", code)
        await asyncio.sleep(RESTART_DELAY)


async def serve_local(
    handler_config: dict[str, Any], host: str, port: int, *, realtime: bool = False
) -> None:
    """Serve the server and its worker until SIGINT/SIGTERM.

    ``realtime`` (``RUNPOD_REALTIME_PORT`` mode) also mounts ``POST /{endpoint}/realtime``
    when ``RUNPOD_ENDPOINT_ID`` is set, as RunPod does.
    """
    endpoint = os.environ.get("RUNPOD_ENDPOINT_ID") or "local"
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    with tempfile.TemporaryDirectory(prefix="pitstop-local-") as data_dir:
        config, key, worker_id = local_configs(host, port, data_dir, endpoint)
        server = await start_server(config, local_endpoint=endpoint)
        if realtime and os.environ.get("RUNPOD_ENDPOINT_ID"):
            add_realtime_route(server.app, endpoint)
        print(
            f"pitstop local API server on {server.url} (endpoint {endpoint!r}; "
            f"docs at {server.url}/docs; routes /run, /runsync, /status/ID, /stream/ID and "
            f"/v2/{endpoint}/...)",
            flush=True,
        )
        worker = asyncio.create_task(
            _worker_forever(handler_config, worker_config(server, endpoint, worker_id, key))
        )
        try:
            await stop.wait()
        finally:
            worker.cancel()
            await asyncio.gather(worker, return_exceptions=True)
            await server.stop()


def serve_api(config: dict[str, Any], host: str, port: int, *, realtime: bool = False) -> None:
    """Blocking entry point of ``runpod.serverless.start`` for ``--rp_serve_api`` (and for
    ``RUNPOD_REALTIME_PORT`` with ``realtime=True``)."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)-7s| %(name)s | %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per worker request
    run_async(serve_local(config, host, port, realtime=realtime))
