"""Job storage: one contract (:mod:`pitstop.storage.base`), one backend per module.

:func:`open_store` picks the backend from a URL: ``sqlite:///path/to/db`` (the default,
embedded) or ``redis://host:port/db`` (needs ``pip install 'pitstop[redis]'``).
"""

from __future__ import annotations

from pitstop.errors import ConfigError
from pitstop.storage.base import Store, Watch, job_key, queue_key, stop_key

__all__ = ["Store", "Watch", "job_key", "make_store", "queue_key", "stop_key"]


def make_store(url: str, **options: object) -> Store:
    """Build (but do not open) the store for ``url``; options go to the backend."""
    scheme = url.split(":", 1)[0].lower()
    if scheme == "sqlite":
        from pitstop.storage.sqlite import SqliteStore

        return SqliteStore.from_url(url, **options)
    if scheme in ("redis", "rediss", "unix"):
        from pitstop.storage.redis import RedisStore

        return RedisStore.from_url(url, **options)
    raise ConfigError(f"unsupported store URL {url!r}: use sqlite:///PATH or redis://HOST:PORT/DB")
