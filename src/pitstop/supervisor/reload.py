"""``--reload``: watch the handler's folder and ask the pool to restart its workers on a change.

watchfiles comes with ``uvicorn[standard]`` (the server extra); it is imported only when
``--reload`` is used, so plain ``pitstop worker`` hosts never need it. The data folder (the
SQLite database changes on every job) and the usual caches are ignored, or every job would
restart the workers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path

from pitstop.errors import MissingExtraError

_IGNORED_SUFFIXES = (".db", ".db-wal", ".db-shm", ".db-journal", ".sqlite", ".log")


def watched_folder(handler_path: str) -> Path:
    """The folder whose changes trigger a reload (the handler file's own folder)."""
    return Path(handler_path).resolve().parent


async def watch_changes(
    handler_path: str,
    on_change: Callable[[tuple[str, ...]], None],
    *,
    ignore: Sequence[str] = (),
    stop: asyncio.Event | None = None,
    debounce_ms: int = 200,
) -> None:
    """Call ``on_change(paths)`` for every batch of relevant changes, until ``stop`` is set."""
    try:
        from watchfiles import DefaultFilter, awatch
    except ImportError:
        raise MissingExtraError("server", "watchfiles") from None

    ignored = [str(Path(p).resolve()) for p in ignore]  # noqa: ASYNC240 (once, at startup)

    class _Filter(DefaultFilter):
        def __call__(self, change: object, path: str) -> bool:
            if path.endswith(_IGNORED_SUFFIXES):
                return False
            return super().__call__(change, path)  # type: ignore[arg-type]

    watch_filter = _Filter(ignore_paths=ignored)
    async for changes in awatch(
        watched_folder(handler_path),
        watch_filter=watch_filter,
        stop_event=stop,
        debounce=debounce_ms,
        step=50,
    ):
        paths = tuple(sorted(Path(p).name for _, p in changes))
        if paths:
            on_change(paths)
