"""``runpod.http_client.AsyncClientSession``: the session RunPod's asyncio examples create.

Official code does ``async with AsyncClientSession() as session:`` and passes ``session`` to
``runpod.AsyncioEndpoint``. Here the session is a small holder of one ``httpx.AsyncClient``
that every endpoint and job created with it shares (the official one is an aiohttp session;
pitstop does not depend on aiohttp). Closing the session closes the pool.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

import httpx


class AsyncClientSession:
    """A shared connection pool for ``runpod.AsyncioEndpoint`` (extra arguments go to httpx)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.http = httpx.AsyncClient(*args, **kwargs)

    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran (aiohttp's attribute name)."""
        return self.http.is_closed

    async def close(self) -> None:
        """Close the pool; endpoints using it can no longer send requests."""
        await self.http.aclose()

    async def __aenter__(self) -> AsyncClientSession:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
