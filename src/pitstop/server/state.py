"""What every route shares: config, store, auth, metrics, the worker registry cache.

One :class:`ServerState` per app, stored on ``app.state.pitstop`` and, for the hot routes
(:func:`state_of`), as the plain attribute ``app.pitstop``. It also owns the
long-poll helper :meth:`ServerState.wait_until`, so every long-poll ends promptly when the
server stops instead of holding shutdown for a whole ``take_wait``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pitstop import __version__
from pitstop.config import ServerConfig
from pitstop.models import WorkerMeta
from pitstop.server.auth import Auth
from pitstop.server.inflight import ByteBudget
from pitstop.server.metrics import Metrics
from pitstop.ssrf import Allowlist
from pitstop.storage.base import Store, Watch

if TYPE_CHECKING:
    from starlette.requests import Request

log = logging.getLogger("pitstop.server")

_CLOSING_CHECK = 0.25
"""Longest single wait inside a long-poll, so a stopping server is noticed quickly."""


def _registry_failed(worker_id: str, exc: Exception) -> None:
    log.warning("could not record worker %s in the registry: %s", worker_id, exc)


def state_of(request: Request) -> ServerState:
    """The app's state. A plain attribute of the app: Starlette's ``app.state`` answers
    through ``__getattr__`` after a failed lookup, measurably slower on every request."""
    state: ServerState = request.scope["app"].pitstop
    return state


@dataclass
class Unhealthy:
    """A worker's ``status=unhealthy`` report (``exit_code`` and ``error`` come from the
    supervisor when a worker process crashed)."""

    endpoint: str
    check: str
    reason: str
    at: float
    exit_code: int | None = None
    error: str = ""


@dataclass
class ServerState:
    """Shared per-app state (see the module docstring)."""

    config: ServerConfig
    store: Store
    auth: Auth
    metrics: Metrics = field(default_factory=Metrics)
    webhook_allow: Allowlist = field(init=False)
    inflight: ByteBudget = field(init=False)
    version: str = __version__
    closing: bool = False
    unhealthy: dict[str, Unhealthy] = field(default_factory=dict)
    _recorded: dict[str, tuple[float, bool]] = field(default_factory=dict)
    _background: set[asyncio.Task[None]] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.webhook_allow = Allowlist(self.config.webhook_allow)
        self.inflight = ByteBudget(self.config.max_inflight_bytes)

    @staticmethod
    def now() -> float:
        """The clock every transition uses (UNIX seconds)."""
        return time.time()

    def retention(self, job_id: str) -> float:
        """How long a finished job's result is kept: shorter for ``/runsync`` jobs."""
        cfg = self.config
        return cfg.retention_sync_s if job_id.startswith("sync-") else cfg.retention_run_s

    async def wait_until(self, watch: Watch, deadline: float) -> bool | None:
        """Wait for a notification until ``deadline`` (monotonic).

        Returns True on a notification, False when the deadline passed, None when the server
        is stopping (the caller answers with what it has).
        """
        while True:
            if self.closing:
                return None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            if await watch.wait(min(remaining, _CLOSING_CHECK)):
                return True

    async def note_worker(
        self,
        endpoint: str,
        worker_id: str,
        job_ids: Sequence[str],
        version: str | None,
        *,
        force: bool = False,
        meta: WorkerMeta | None = None,
    ) -> None:
        """Record a worker in the registry; takes that change nothing write once a second."""
        now = self.now()
        busy = bool(job_ids)
        if not force and not self._note_due(worker_id, busy, now):
            return
        self._recorded[worker_id] = (now, busy)
        if len(self._recorded) > 100_000:
            self._recorded.clear()
        await self.store.record_ping(endpoint, worker_id, job_ids, now, version, meta)

    def note_worker_soon(self, endpoint: str, worker_id: str, job_ids: Sequence[str]) -> None:
        """:meth:`note_worker` in the background, so a take answers without waiting for it."""
        if not self._note_due(worker_id, bool(job_ids), self.now()):
            return  # the common case on a busy server: no task for a write that is skipped
        task = asyncio.create_task(self._note_quietly(endpoint, worker_id, job_ids))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _note_due(self, worker_id: str, busy: bool, now: float) -> bool:
        """Whether a registry write is due: the busy state changed, or a second passed."""
        last, was_busy = self._recorded.get(worker_id, (0.0, False))
        return busy != was_busy or now - last >= 1.0

    async def drain(self) -> None:
        """Wait for background registry writes (before the store closes)."""
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    async def _note_quietly(self, endpoint: str, worker_id: str, job_ids: Sequence[str]) -> None:
        try:
            await self.note_worker(endpoint, worker_id, job_ids, None)
        except Exception as exc:
            _registry_failed(worker_id, exc)

    def unhealthy_ids(self, endpoint: str, seen_since: float) -> set[str]:
        """Workers of ``endpoint`` that reported unhealthy since ``seen_since``."""
        return set(self.unhealthy_reports(endpoint, seen_since))

    def unhealthy_reports(self, endpoint: str, seen_since: float) -> dict[str, Unhealthy]:
        """The reports behind :meth:`unhealthy_ids`, by worker id."""
        return {
            wid: u
            for wid, u in self.unhealthy.items()
            if u.endpoint == endpoint and u.at >= seen_since
        }

    def unhealthy_by_endpoint(self, seen_since: float) -> dict[str, set[str]]:
        """:meth:`unhealthy_ids` for every endpoint (metrics)."""
        out: dict[str, set[str]] = {}
        for wid, u in self.unhealthy.items():
            if u.at >= seen_since:
                out.setdefault(u.endpoint, set()).add(wid)
        return out
