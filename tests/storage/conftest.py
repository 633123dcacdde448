"""The ``store`` fixture: every contract test runs once per backend.

The Redis backend needs a server on 127.0.0.1:6379 (database 15, a unique key prefix per
test). Without one the Redis cases skip locally but FAIL when ``CI`` is set, so a CI run can
never pass by silently testing only SQLite.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pitstop.storage import Store, make_store

REDIS_URL = "redis://127.0.0.1:6379/15"


def _redis_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


def _require_redis() -> None:
    if _redis_reachable():
        return
    message = "no Redis server on 127.0.0.1:6379"
    if os.environ.get("CI"):
        pytest.fail(f"{message} (CI is set: the Redis backend must be tested)")
    pytest.skip(message)


async def _drop_redis_keys(prefix: str) -> None:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}:*", count=1000)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


def _build(backend: str, tmp_path: Path, prefix: str) -> Store:
    if backend == "sqlite":
        return make_store(f"sqlite:///{tmp_path}/store.db")
    _require_redis()
    return make_store(REDIS_URL, prefix=prefix)


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """An opened store of each backend, empty, closed after the test."""
    prefix = f"pitstop-test-{uuid.uuid4().hex[:12]}"
    backend = _build(request.param, tmp_path, prefix)
    await backend.open()
    try:
        yield backend
    finally:
        await backend.close()
        if request.param == "redis":
            await _drop_redis_keys(prefix)
