"""Serve the app with uvicorn (httptools; uvloop when blocking): in-process or as a command.

Connections are guarded (:mod:`pitstop.server.connections`): a header deadline, a cap below
the file descriptor limit, idle keep-alive connections closed after ``keep_alive_timeout``.

:func:`start_server` binds (``port=0`` picks a free port), opens the store, starts the
background loops and returns a :class:`RunningServer`; :func:`run` is the blocking form used
by ``pitstop server`` and ``python -m pitstop.server``. Both refuse to bind a non-loopback
host without client keys unless ``allow_public_without_keys`` is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import signal
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import uvicorn
from fastapi import FastAPI

from pitstop.config import ServerConfig
from pitstop.errors import ConfigError, StorageError
from pitstop.server.app import create_app, store_for
from pitstop.server.auth import Keys
from pitstop.server.connections import protocol_options
from pitstop.storage.base import Store

log = logging.getLogger("pitstop.server")


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(config: ServerConfig) -> None:
    """Refuse a public bind without client keys (unless explicitly allowed); log the choice."""
    if Keys.of(config).any_client:
        return
    if not is_loopback(config.host):
        if not config.allow_public_without_keys:
            raise ConfigError(
                f"refusing to serve on {config.host} without API keys: set client keys "
                "(PITSTOP_API_KEYS) or allow_public_without_keys (PITSTOP_ALLOW_NO_AUTH=1)"
            )
        log.warning(
            "no API keys configured and bound to %s: anyone can use this server", config.host
        )
        return
    log.info("no API keys configured: serving on loopback (%s) only", config.host)


class _Server(uvicorn.Server):
    """uvicorn's server without its signal handlers (the embedding program owns signals)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _bind(host: str, port: int) -> socket.socket:
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(address)
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


@dataclass
class RunningServer:
    """A server serving in the current event loop; :meth:`stop` shuts it down cleanly."""

    url: str
    port: int
    app: FastAPI
    store: Store
    _server: _Server = field(repr=False)
    _task: asyncio.Task[None] = field(repr=False)

    async def stop(self) -> None:
        """Stop accepting, end long-polls, stop background loops, close the store."""
        self.app.state.pitstop.closing = True
        self._server.should_exit = True
        with contextlib.suppress(BaseException):
            await self._task
        await self.store.close()


async def start_server(config: ServerConfig, *, local_endpoint: str | None = None) -> RunningServer:
    """Bind, open the store, start serving and the sweeper/webhook loops; return at once.

    ``local_endpoint`` also mounts RunPod's un-prefixed local routes (``--rp_serve_api``).
    """
    check_bind(config)
    store = store_for(config)
    app = create_app(config, store, local_endpoint=local_endpoint)
    sock = _bind(config.host, config.port)
    port = sock.getsockname()[1]
    uv_config = uvicorn.Config(
        app,
        ws="none",
        lifespan="on",
        log_config=None,
        access_log=False,
        proxy_headers=False,  # nothing reads the client address; saves a layer per request
        timeout_graceful_shutdown=5,
        timeout_keep_alive=config.keep_alive_timeout,  # type: ignore[arg-type]
        log_level=config.log_level.lower(),
        **protocol_options(config.header_timeout, config.max_connections),
    )
    server = _Server(uv_config)
    task = asyncio.create_task(server.serve(sockets=[sock]), name="pitstop-server")
    while not server.started:
        if task.done():
            sock.close()
            await store.close()
            raise StorageError(f"server failed to start (store {config.store_url!r}): see log")
        await asyncio.sleep(0.002)
    host = config.host if ":" not in config.host else f"[{config.host}]"
    url = f"http://{host}:{port}"
    log.info("pitstop server listening on %s (store %s)", url, config.store_url)
    return RunningServer(url=url, port=port, app=app, store=store, _server=server, _task=task)


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message (+ exception)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(level: str) -> None:
    """Structured (JSON lines) logs on stderr for the server process."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLogFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


async def serve_until_signal(config: ServerConfig) -> None:
    """Serve until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    server = await start_server(config)
    try:
        await stop.wait()
    finally:
        started = time.monotonic()
        await server.stop()
        log.info("pitstop server stopped in %.2fs", time.monotonic() - started)


def run_async(main: object) -> None:
    """Run a coroutine on uvloop when installed, else on asyncio's default loop."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)  # type: ignore[arg-type]
        return
    uvloop.run(main)  # type: ignore[arg-type]


def run(config: ServerConfig) -> None:
    """Blocking: serve ``config`` until SIGINT/SIGTERM (``pitstop server``)."""
    configure_logging(config.log_level)
    run_async(serve_until_signal(config))
