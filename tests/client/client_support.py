"""Test support for the client, facade, CLI and compat tests.

:class:`ThreadServer` runs a real pitstop server (uvicorn, SQLite in ``tmp``) on its own
event loop in a background thread, so blocking clients, the CLI runner and subprocesses can
all talk to it. :func:`start_workers` starts real pitstop worker processes for the scripted
test handlers in ``tests/handlers``: ``async_handler`` (input keys ``return``, ``raise``,
``sleep``, ``progress``, ``print``) and ``async_gen`` (input key ``yield``).
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.procs import WorkerProcess, start_worker

from pitstop.config import ServerConfig
from pitstop.server.runner import RunningServer, start_server
from pitstop.server.urls import worker_env

CLIENT_KEY = "client-secret"
WORKER_KEY = "worker-secret"
HANDLER_EP = "scripted"
STREAM_EP = "streamer"


def fast_config(data_dir: Path, **overrides: Any) -> ServerConfig:
    """A loopback server on a free port, keys on, millisecond intervals."""
    values: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": 0,
        "store_url": f"sqlite:///{data_dir}/pitstop.db",
        "client_keys": (CLIENT_KEY,),
        "worker_keys": (WORKER_KEY,),
        "sweep_interval": 0.02,
        "take_wait": 1.0,
        "stop_wait": 1.0,
        "runsync_wait": 5.0,
        "log_level": "warning",
    }
    values.update(overrides)
    return ServerConfig(**values)


class ThreadServer:
    """A pitstop server serving from a background thread's event loop."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._server: RunningServer | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="pitstop-test-server", daemon=True)

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self._server = self.loop.run_until_complete(start_server(self.config))
        except BaseException as exc:  # reported to the starting thread
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        self.loop.run_forever()

    def start(self) -> ThreadServer:
        self._thread.start()
        self._ready.wait(15)
        if self._error is not None:
            raise self._error
        assert self._server is not None, "server did not start within 15s"
        return self

    @property
    def url(self) -> str:
        assert self._server is not None
        return self._server.url

    def run(self, coro: Any, timeout: float = 10.0) -> Any:
        """Run a coroutine on the server's loop (e.g. to inspect its store)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        if self._server is not None:
            self.run(self._server.stop(), timeout=15)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(15)
        self.loop.close()


@dataclass
class Workers:
    """Worker processes started for a test module; closed together."""

    procs: list[WorkerProcess] = field(default_factory=list)

    def close(self) -> None:
        for proc in self.procs:
            proc.close()

    def output(self) -> str:
        return "\n".join(p.output() for p in self.procs)


def start_workers(
    base_url: str, workdir: Path, handlers: dict[str, str], concurrency: int = 4
) -> Workers:
    """One pitstop worker process per ``{endpoint: handler}`` pair."""
    workers = Workers()
    for endpoint, handler in handlers.items():
        env = worker_env(base_url, endpoint, f"{endpoint}-{uuid.uuid4().hex[:8]}", WORKER_KEY)
        env.update(
            {
                "TEST_CONCURRENCY": str(concurrency),
                "RUNPOD_PING_INTERVAL": "200",
                "RUNPOD_LOG_LEVEL": "WARN",
            }
        )
        workers.procs.append(start_worker(handler, env, workdir=workdir / endpoint))
    return workers


def eventually(check: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02) -> Any:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value {value!r})")
        time.sleep(interval)


def unique(prefix: str) -> str:
    """A fresh endpoint id, so tests sharing a server never see each other's jobs."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"
