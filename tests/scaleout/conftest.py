"""Fixtures for the Redis scale-out tests: a reachable Redis and unique key prefixes.

The tests need Redis on 127.0.0.1:6379 (database 15). Without one they skip locally but FAIL
when ``CI`` is set, so a CI run never passes by not testing the Redis backend.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from pitstop.storage.redis import RedisStore

REDIS_URL = "redis://127.0.0.1:6379/15"

OpenStore = Callable[..., Awaitable[RedisStore]]


def require_redis() -> None:
    """Skip (locally) or fail (``CI`` set) when nothing listens on 127.0.0.1:6379."""
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return
    except OSError:
        message = "no Redis server on 127.0.0.1:6379"
    if os.environ.get("CI"):
        pytest.fail(f"{message} (CI is set: the Redis backend must be tested)")
    pytest.skip(message)


async def drop_keys(prefix: str) -> None:
    """Delete every key under ``prefix``."""
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}:*", count=1000)]
        for start in range(0, len(keys), 1000):
            await client.delete(*keys[start : start + 1000])
    finally:
        await client.aclose()


@pytest.fixture
def prefix() -> str:
    """A key prefix no other test uses."""
    require_redis()
    return f"pitstop-scale-{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def open_store(prefix: str) -> AsyncIterator[OpenStore]:
    """``await open_store(**options)``: an opened RedisStore on the test's prefix; every store
    is closed and the prefix's keys deleted at teardown."""
    stores: list[RedisStore] = []

    async def _open(**options: Any) -> RedisStore:
        store = RedisStore(REDIS_URL, prefix, **options)
        await store.open()
        stores.append(store)
        return store

    yield _open
    for store in stores:
        await store.close()
    await drop_keys(prefix)
