"""``--reload``: editing the handler file restarts the workers with the new code."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from tests.supervisor.harness import running_server, server_config, submit, supervising, wait_status
from tests.supervisor.helpers import Lines, fast_config, until

pytestmark = pytest.mark.usefixtures("fast_workers")

HANDLER = """
import runpod

VERSION = {version}


def handler(job):
    return {{"version": VERSION}}


runpod.serverless.start({{"handler": handler}})
"""


async def test_editing_the_handler_restarts_workers(tmp_path: Path, lines: Lines) -> None:
    handler = tmp_path / "versioned.py"
    handler.write_text(HANDLER.format(version=1))
    sup = fast_config(str(handler), endpoint_id="versioned", reload=True)
    async with (
        running_server(server_config(tmp_path)) as server,
        supervising(sup, server, lines) as supervisor,
        httpx.AsyncClient(base_url=server.url) as client,
    ):
        first = await wait_status(client, "versioned", await submit(client, "versioned", {}))
        assert first["output"] == {"version": 1}
        assert supervisor.pool.spawned == 1, "job traffic (the SQLite files) caused a reload"
        handler.write_text(HANDLER.format(version=2))
        await until(lambda: lines.has("versioned.py changed"), output=lines.text)
        second = await wait_status(client, "versioned", await submit(client, "versioned", {}))
        assert second["output"] == {"version": 2}
        assert lines.has("w1 stopped (exit 0)")
