"""Serve several worker files at once, one supervisor each, and run a check per endpoint.

``await serve_and_check(tmp_path, {endpoint: handler_path}, {endpoint: check})`` starts one
loopback server (store in ``tmp_path``) and a supervisor per endpoint (what ``pitstop serve``
runs), runs every ``check(client, lines)`` concurrently (``lines`` is that supervisor's
output) and fails with each failing check's error and output.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path

import httpx
from tests.supervisor.harness import running_server, server_config, supervising
from tests.supervisor.helpers import Lines, fast_config

Check = Callable[[httpx.AsyncClient, Lines], Awaitable[None]]


async def serve_and_check(
    tmp_path: Path, handlers: Mapping[str, str], checks: Mapping[str, Check]
) -> None:
    """Serve every handler under its endpoint name and run the checks at once."""
    outputs = {name: Lines() for name in handlers}
    async with (
        running_server(server_config(tmp_path)) as server,
        httpx.AsyncClient(base_url=server.url, timeout=30) as client,
        contextlib.AsyncExitStack() as stack,
    ):
        for name, path in handlers.items():
            sup = fast_config(path, endpoint_id=name)
            await stack.enter_async_context(supervising(sup, server, outputs[name]))
        results = await asyncio.gather(
            *(checks[name](client, outputs[name]) for name in handlers), return_exceptions=True
        )
    failures = {
        name: f"{result!r}\n{outputs[name].text()}"
        for name, result in zip(handlers, results, strict=True)
        if isinstance(result, BaseException)
    }
    assert not failures, "\n\n".join(f"== {n}: {f}" for n, f in failures.items())
