"""The ASGI app: RunPod's client and worker APIs for any number of endpoints, plus pitstop's.

:func:`create_app` builds it. Its lifespan opens the store and runs the sweeper and the
webhook sender as background tasks, so the app works under any ASGI server; the runner
(:mod:`pitstop.server.runner`) is the usual way to serve it. OpenAPI at ``/docs`` and
``/openapi.json``; Prometheus metrics at ``/metrics``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI

from pitstop import __version__
from pitstop.config import ServerConfig, endpoint_timeouts
from pitstop.errors import ConfigError
from pitstop.server.auth import Auth
from pitstop.server.bodies import JsonResponse
from pitstop.server.client_api import add_client_routes
from pitstop.server.console_api import add_console_routes
from pitstop.server.errors import install_error_handlers
from pitstop.server.fastpath import FastPathApp
from pitstop.server.gpus import add_gpu_routes
from pitstop.server.limits import ID_RULE, valid_id
from pitstop.server.openapi import describe
from pitstop.server.pitstop_api import add_pitstop_routes
from pitstop.server.state import ServerState
from pitstop.server.sweeper import sweep_forever
from pitstop.server.webhooks import deliver_forever
from pitstop.server.worker_api import add_worker_routes
from pitstop.storage import make_store
from pitstop.storage.base import Store
from pitstop.webhooks import secret_key

log = logging.getLogger("pitstop.server")

DESCRIPTION = """RunPod-compatible serverless job server.

* Client API: `/v2/{endpoint_id}/run`, `runsync`, `status/{id}`, `status-sync/{id}`,
  `stream/{id}`, `cancel/{id}`, `retry/{id}`, `purge-queue`, `health`.
* Worker API: `job-take`, `job-take-batch`, `job-done`, `job-stream`, `job-stop`, `ping`,
  `job-log` (pitstop); supervisors report GPU telemetry to `/pitstop/v1/endpoints/{id}/gpus`.
* Auth: `Authorization: Bearer KEY` or bare `KEY`. Client keys open every route; endpoint
  keys open one endpoint's client routes (and only its jobs under `/pitstop/v1`); worker
  keys open only the worker routes and the GPU report.
* Every error is `{"error": {"code": "...", "message": "..."}}`. Unknown or expired jobs
  answer 404 (results are kept 30 min after /run, 1 min after /runsync by default).
"""


def _lifespan(state: ServerState, own_store: bool):  # type: ignore[no-untyped-def]
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await state.store.open()
        state.closing = False
        tasks = [
            asyncio.create_task(sweep_forever(state), name="pitstop-sweeper"),
            asyncio.create_task(deliver_forever(state), name="pitstop-webhooks"),
        ]
        try:
            yield
        finally:
            state.closing = True
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await state.drain()
            if own_store:
                await state.store.close()

    return lifespan


def store_for(config: ServerConfig) -> Store:
    """The store for ``config.store_url``; SQLite and Redis get the configured retentions."""
    scheme = config.store_url.split(":", 1)[0].lower()
    if scheme in ("sqlite", "redis", "rediss", "unix"):
        return make_store(
            config.store_url,
            retention_run_s=config.retention_run_s,
            retention_sync_s=config.retention_sync_s,
        )
    return make_store(config.store_url)


def create_app(
    config: ServerConfig, store: Store | None = None, *, local_endpoint: str | None = None
) -> FastAPI:
    """Build the app. Without ``store`` one is made from ``config.store_url`` (and closed at
    shutdown); a given store is opened but left open. ``local_endpoint`` also mounts RunPod's
    un-prefixed local routes (``/run``, ``/runsync``, ``/status/{id}``, ``/stream/{id}``)."""
    if config.webhook_secret is not None:
        secret_key(config.webhook_secret)  # a bad secret stops the start (ConfigError)
    endpoint_timeouts(config.endpoint_execution_timeouts)  # so does a bad ENDPOINT=MS
    if local_endpoint is not None and not valid_id(local_endpoint):
        raise ConfigError(f"endpoint id {local_endpoint!r} is not valid: {ID_RULE}")
    own_store = store is None
    if store is None:
        store = store_for(config)
    state = ServerState(config=config, store=store, auth=Auth(config))
    app = FastPathApp(
        title="pitstop",
        version=__version__,
        description=DESCRIPTION,
        default_response_class=JsonResponse,
        lifespan=_lifespan(state, own_store),
    )
    app.state.pitstop = state
    app.pitstop = state
    install_error_handlers(app)
    add_client_routes(app, local_endpoint)
    add_worker_routes(app)
    add_pitstop_routes(app)
    add_gpu_routes(app)
    add_console_routes(app)
    if config.dashboard:
        from pitstop.dashboard import add_dashboard

        add_dashboard(app)
    _document(app)
    return app


def _document(app: FastAPI) -> None:
    """Serve the OpenAPI document completed by :func:`pitstop.server.openapi.describe`."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            describe(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
