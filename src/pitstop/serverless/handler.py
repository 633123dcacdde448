"""Handler kinds and how each is called without blocking the worker's event loop.

A handler is classified once at start (:func:`classify`): plain function, async function,
generator or async generator. ``functools.partial`` objects and callable instances are
unwrapped to the function that actually runs. Plain functions and plain generators run in
worker threads with the caller's contextvars copied (so per-job log attribution and
``progress_update`` keep working), which keeps heartbeats, stop signals, streaming and the
other concurrent jobs alive while user code runs.

A sync handler cannot be interrupted: when its job is stopped (or the worker shuts down),
the job is abandoned and not reported, and its thread is left to finish on its own.
"""

from __future__ import annotations

import asyncio
import contextvars
import enum
import functools
import inspect
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

_pool: ThreadPoolExecutor | None = None
_busy = 0
_busy_lock = threading.Lock()


class Kind(str, enum.Enum):
    """How a handler is run."""

    FUNCTION = "function"
    ASYNC = "async function"
    GENERATOR = "generator"
    ASYNC_GENERATOR = "async generator"

    @property
    def streams(self) -> bool:
        """True for the kinds whose yields are streamed."""
        return self in (Kind.GENERATOR, Kind.ASYNC_GENERATOR)


def _unwrap(handler: Any) -> Any:
    """The function object that decides the kind (through partials and ``__call__``)."""
    seen = 0
    while seen < 10:
        seen += 1
        if isinstance(handler, functools.partial):
            handler = handler.func
        elif inspect.isfunction(handler) or inspect.ismethod(handler):
            return handler
        elif callable(handler) and hasattr(type(handler), "__call__"):  # noqa: B004
            handler = type(handler).__call__
        else:
            return handler
    return handler


def classify(handler: Any) -> Kind:
    """The kind of ``handler``; TypeError when it is not callable."""
    if not callable(handler):
        raise TypeError(f"handler must be callable, got {type(handler).__name__}")
    fn = _unwrap(handler)
    if inspect.isasyncgenfunction(fn):
        return Kind.ASYNC_GENERATOR
    if inspect.isgeneratorfunction(fn):
        return Kind.GENERATOR
    if inspect.iscoroutinefunction(fn):
        return Kind.ASYNC
    return Kind.FUNCTION


def _executor() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=256, thread_name_prefix="pitstop-handler")
    return _pool


def busy_threads() -> int:
    """How many handler threads are still running (abandoned ones included)."""
    return _busy


def _counted(fn: Callable[..., Any], *args: Any) -> Any:
    global _busy
    with _busy_lock:
        _busy += 1
    try:
        return fn(*args)
    finally:
        with _busy_lock:
            _busy -= 1


async def in_thread(fn: Callable[..., Any], *args: Any) -> Any:
    """Run ``fn(*args)`` in a handler thread with the current contextvars."""
    ctx = contextvars.copy_context()
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_executor(), ctx.run, _counted, fn, *args)


async def call(handler: Callable[..., Any], kind: Kind, job: dict[str, Any]) -> Any:
    """Call a non-generator handler; an awaitable result is awaited (as RunPod's)."""
    if kind is Kind.ASYNC:
        result = handler(job)
    else:
        result = await in_thread(handler, job)
    if inspect.isawaitable(result):
        result = await result
    return result


_END = object()


class _ThreadedGenerator:
    """Drives a sync generator in a handler thread and hands its items to the event loop.

    The thread runs ahead by at most ``window`` items (back-pressure). It waits for the loop
    to take the first item before producing more, so the first chunk is not stuck behind a
    burst that holds the GIL. ``close()`` asks the thread to stop at its next yield; an item
    in progress cannot be interrupted.
    """

    def __init__(self, gen: Iterator[Any], window: int = 256) -> None:
        self._gen = gen
        self._queue: asyncio.Queue[tuple[Any, BaseException | None]] = asyncio.Queue()
        self._room = threading.Semaphore(0)
        self._window = window
        self._opened = False
        self._closed = threading.Event()
        self._loop = asyncio.get_running_loop()

    def start(self) -> None:
        ctx = contextvars.copy_context()
        self._loop.run_in_executor(_executor(), ctx.run, _counted, self._produce)

    def _put(self, item: Any, exc: BaseException | None) -> None:
        try:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, (item, exc))
        except RuntimeError:  # the loop is closed: nobody is listening any more
            self._closed.set()

    def _produce(self) -> None:
        try:
            for item in self._gen:
                self._put(item, None)
                self._room.acquire()
                if self._closed.is_set():
                    return
        except BaseException as exc:
            self._put(None, exc)
            if not isinstance(exc, Exception):
                raise
        else:
            self._put(_END, None)
        finally:
            if self._closed.is_set():
                _close_quietly(self._gen)

    async def __anext__(self) -> Any:
        item, exc = await self._queue.get()
        if self._opened:
            self._room.release()
        else:
            self._opened = True
            self._room.release(self._window)
        if exc is not None:
            raise exc
        if item is _END:
            raise StopAsyncIteration
        return item

    def __aiter__(self) -> _ThreadedGenerator:
        return self

    def close(self) -> None:
        self._closed.set()
        self._room.release()


def _close_quietly(gen: Iterator[Any]) -> None:
    close = getattr(gen, "close", None)
    if close is None:
        return
    try:
        close()
    except Exception:  # the user's cleanup failing must not crash the thread pool
        return


class Stream:
    """Async iteration over any generator handler's yields, with an explicit ``close``."""

    def __init__(self, handler: Callable[..., Any], kind: Kind, job: dict[str, Any]) -> None:
        self._handler = handler
        self._kind = kind
        self._job = job
        self._threaded: _ThreadedGenerator | None = None
        self._agen: AsyncIterator[Any] | None = None

    async def open(self) -> None:
        """Create the generator (no user code runs until the first item is pulled)."""
        if self._kind is Kind.ASYNC_GENERATOR:
            self._agen = self._handler(self._job)
            return
        self._threaded = _ThreadedGenerator(self._handler(self._job))
        self._threaded.start()

    def __aiter__(self) -> AsyncIterator[Any]:
        source = self._agen if self._agen is not None else self._threaded
        assert source is not None, "Stream.open() was not awaited"
        return source.__aiter__()

    async def close(self) -> None:
        """Stop the generator early (error chunk, stop signal, shutdown)."""
        if self._threaded is not None:
            self._threaded.close()
        if self._agen is not None:
            aclose = getattr(self._agen, "aclose", None)
            if aclose is not None:
                await _aclose_quietly(aclose)


async def _aclose_quietly(aclose: Callable[[], Any]) -> None:
    try:
        await aclose()
    except Exception:  # the user's cleanup failing must not fail the job's result
        return
