"""Shared fixtures for the client, CLI and compat tests: ONE live server (a background thread,
SQLite in tmp) with real pitstop worker processes for the scripted handlers per test
process, plus a client pointed at it.

Each test directory's conftest re-exports these fixtures; pytest would then build one
session fixture per conftest, so the server and workers live in a module-level registry and
are started once, on first use, and stopped once at the end of the session.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.client.client_support import (
    CLIENT_KEY,
    HANDLER_EP,
    STREAM_EP,
    ThreadServer,
    Workers,
    fast_config,
    start_workers,
)

from pitstop.client import Client

_SHARED: dict[str, ThreadServer | Workers] = {}


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadServer]:
    server = _SHARED.get("server")
    if not isinstance(server, ThreadServer):
        server = ThreadServer(fast_config(tmp_path_factory.mktemp("server"))).start()
        _SHARED["server"] = server
    yield server
    if _SHARED.pop("server", None) is not None:
        server.stop()


@pytest.fixture(scope="session")
def workers(live: ThreadServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workers]:
    procs = _SHARED.get("workers")
    if not isinstance(procs, Workers):
        procs = start_workers(
            live.url,
            tmp_path_factory.mktemp("workers"),
            {HANDLER_EP: "async_handler", STREAM_EP: "async_gen"},
        )
        _SHARED["workers"] = procs
    yield procs
    if _SHARED.pop("workers", None) is not None:
        procs.close()


@pytest.fixture
def client(live: ThreadServer) -> Iterator[Client]:
    with Client(live.url, CLIENT_KEY, timeout=10.0, poll_interval=0.02) as c:
        yield c
