"""Redis outages as :class:`~pitstop.errors.StoreUnavailable` (HTTP 503 with Retry-After).

Redis is unavailable when it cannot be reached, stops answering (a call times out), is
still loading its data set after a restart, or refuses writes for a reason of its own
(read-only replica, ``min-replicas``, failed background save, ``maxmemory``). Every
:class:`~pitstop.storage.base.Store` method of the Redis store goes through
:func:`guard_outages`, so such failures reach the server as ``StoreUnavailable`` and
anything else (a bug, a bad reply) stays what it was.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import OutOfMemoryError, ReadOnlyError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from pitstop.errors import StoreUnavailable
from pitstop.storage.base import Store

RETRY_AFTER_S = 1.0
"""``Retry-After`` of a request refused because Redis is unavailable."""

_REFUSALS = ("LOADING", "READONLY", "MASTERDOWN", "MISCONF", "NOREPLICAS", "OOM", "TRYAGAIN")
"""Error replies by which Redis refuses a command it did not run, for now."""

C = TypeVar("C", bound=type)


def is_outage(exc: BaseException) -> bool:
    """True for a failure that means "Redis is unavailable now" rather than a bug."""
    if isinstance(exc, (RedisConnectionError, RedisTimeoutError, asyncio.TimeoutError, OSError)):
        return True
    if isinstance(exc, (ReadOnlyError, OutOfMemoryError)):
        return True
    return isinstance(exc, ResponseError) and str(exc).startswith(_REFUSALS)


def unavailable(exc: BaseException, details: Any = None) -> StoreUnavailable:
    """The 503 for an outage, naming what failed."""
    return StoreUnavailable(
        f"the Redis store is unavailable: {type(exc).__name__}: {exc}",
        retry_after=RETRY_AFTER_S,
        details=details,
    )


def _guarded(method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(method)
    async def guarded(*args: Any, **kwargs: Any) -> Any:
        try:
            return await method(*args, **kwargs)
        except StoreUnavailable:
            raise
        except Exception as exc:
            if is_outage(exc):
                raise unavailable(exc) from exc
            raise

    return guarded


def guard_outages(cls: C) -> C:
    """Wrap every store operation of ``cls`` (not ``open``/``close``/``watch``) so that an
    outage raises :class:`StoreUnavailable`."""
    for name in sorted(Store.__abstractmethods__ - {"open", "close", "watch"}):
        setattr(cls, name, _guarded(getattr(cls, name)))
    return cls
