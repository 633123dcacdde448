"""``runpod.http_client``: the official SDK's session helpers.

``AsyncClientSession`` is the session RunPod's asyncio client examples create
(``async with AsyncClientSession() as session``) and pass to ``runpod.AsyncioEndpoint``;
here it holds one ``httpx.AsyncClient`` that every endpoint and job created with it shares
(the official one is an aiohttp session; pitstop does not depend on aiohttp). The
``rp_http`` / ``rp_job`` helpers also accept it. ``SyncClientSession`` is
``requests.Session`` when requests is installed (``pip install 'pitstop[runpod]'``);
otherwise constructing it raises :class:`pitstop.errors.MissingExtraError`.
``TooManyRequests`` is :class:`pitstop.errors.TooManyRequests`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pitstop.client._core import AsyncClosing
from pitstop.credentials import get_credentials
from pitstop.errors import TooManyRequests
from pitstop.serverless.sdk.wire import get_auth_header, sync_session_class
from runpod.user_agent import USER_AGENT

if TYPE_CHECKING:
    import httpx

__all__ = [
    "USER_AGENT",
    "AsyncClientSession",
    "TooManyRequests",
    "get_auth_header",
    "get_credentials",
]


class AsyncClientSession(AsyncClosing):
    """A shared connection pool for ``runpod.AsyncioEndpoint`` (extra arguments go to httpx)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        import httpx

        self.http: httpx.AsyncClient = httpx.AsyncClient(*args, **kwargs)

    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran (aiohttp's attribute name)."""
        return self.http.is_closed

    async def close(self) -> None:
        """Close the pool; endpoints using it can no longer send requests."""
        await self.http.aclose()


def __getattr__(name: str) -> Any:
    if name == "SyncClientSession":
        cls = sync_session_class()
        globals()[name] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | {"SyncClientSession"})
