"""Handler classification and invocation: every kind, off-loop sync code, contextvars."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
import time
from typing import Any

import pytest

from pitstop.serverless.handler import Kind, Stream, call, classify

VAR: contextvars.ContextVar[str] = contextvars.ContextVar("VAR", default="unset")


def plain(job: dict[str, Any]) -> Any:
    return {"thread": threading.current_thread().name, "var": VAR.get()}


async def coro(job: dict[str, Any]) -> Any:
    return {"var": VAR.get()}


def gen(job: dict[str, Any]) -> Any:
    yield threading.current_thread().name
    yield VAR.get()


async def agen(job: dict[str, Any]) -> Any:
    yield 1
    yield 2


class SyncCallable:
    def __call__(self, job: dict[str, Any]) -> Any:
        return "sync"


class AsyncCallable:
    async def __call__(self, job: dict[str, Any]) -> Any:
        return "async"


class GenCallable:
    def __call__(self, job: dict[str, Any]) -> Any:
        yield "g"


class Methods:
    async def handle(self, job: dict[str, Any]) -> Any:
        return "method"


@pytest.mark.parametrize(
    ("handler", "kind"),
    [
        (plain, Kind.FUNCTION),
        (coro, Kind.ASYNC),
        (gen, Kind.GENERATOR),
        (agen, Kind.ASYNC_GENERATOR),
        (lambda job: job, Kind.FUNCTION),
        (functools.partial(coro), Kind.ASYNC),
        (functools.partial(functools.partial(gen)), Kind.GENERATOR),
        (functools.partial(agen), Kind.ASYNC_GENERATOR),
        (SyncCallable(), Kind.FUNCTION),
        (AsyncCallable(), Kind.ASYNC),
        (GenCallable(), Kind.GENERATOR),
        (Methods().handle, Kind.ASYNC),
        (print, Kind.FUNCTION),
    ],
)
def test_classify(handler: Any, kind: Kind) -> None:
    assert classify(handler) is kind


def test_classify_rejects_non_callable() -> None:
    with pytest.raises(TypeError, match="callable"):
        classify(42)


async def test_plain_function_runs_in_a_thread_with_context() -> None:
    VAR.set("job-1")
    result = await call(plain, Kind.FUNCTION, {})
    assert result["thread"].startswith("pitstop-handler") and result["var"] == "job-1"


async def test_sync_function_returning_coroutine_is_awaited() -> None:
    assert await call(lambda job: coro(job), Kind.FUNCTION, {}) == {"var": "unset"}


async def test_sync_handler_does_not_block_the_loop() -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    task = asyncio.create_task(ticker())
    await call(lambda job: time.sleep(0.2), Kind.FUNCTION, {})
    task.cancel()
    assert ticks >= 5


async def _drain(handler: Any, kind: Kind) -> list[Any]:
    stream = Stream(handler, kind, {})
    await stream.open()
    return [item async for item in stream]


async def test_sync_generator_runs_in_thread_and_keeps_context() -> None:
    VAR.set("ctx")
    items = await _drain(gen, Kind.GENERATOR)
    assert items[0].startswith("pitstop-handler") and items[1] == "ctx"


async def test_async_generator_stream() -> None:
    assert await _drain(agen, Kind.ASYNC_GENERATOR) == [1, 2]


async def test_generator_exception_reaches_the_consumer() -> None:
    def broken(job: dict[str, Any]) -> Any:
        yield 1
        raise RuntimeError("genboom")

    stream = Stream(broken, Kind.GENERATOR, {})
    await stream.open()
    seen = []
    with pytest.raises(RuntimeError, match="genboom"):
        async for item in stream:
            seen.append(item)
    assert seen == [1]


async def test_closing_a_sync_generator_stops_its_thread() -> None:
    closed = threading.Event()

    def endless(job: dict[str, Any]) -> Any:
        try:
            n = 0
            while True:
                n += 1
                yield n
        finally:
            closed.set()

    stream = Stream(endless, Kind.GENERATOR, {})
    await stream.open()
    async for item in stream:
        if item == 3:
            break
    await stream.close()
    for _ in range(200):
        if closed.is_set():
            break
        await asyncio.sleep(0.005)
    assert closed.is_set()
