"""The OpenAPI document is true: Schemathesis, every check, against a real server.

Schemathesis (its CLI, as a user runs it) reads ``/openapi.json`` of a server on
127.0.0.1:0 and sends generated valid and invalid requests to every operation, in every
phase (examples, coverage, fuzzing, stateful), checking each answer: no 5xx, status codes,
content types, headers and bodies as documented, invalid data refused, valid data accepted,
``Allow`` on 405. The run is bounded (examples per operation, a time budget) and seeded, so
it is repeatable and fits the test's time.
"""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from pitstop.server import client_api
from pitstop.server.runner import RunningServer

StartServer = Callable[..., Awaitable[RunningServer]]

BUDGET_S = 20
"""Schemathesis's own time budget for the fuzzing and stateful phases."""


async def test_schemathesis_finds_no_server_error_and_no_schema_violation(
    start: StartServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Short long-polls: nothing here completes jobs, so every wait would run its full length
    # (a generated ``?wait=`` up to 300 s); only the durations change, not the answers.
    monkeypatch.setattr(client_api, "WAIT_MIN_MS", 0.0)
    monkeypatch.setattr(client_api, "WAIT_MAX_MS", 200.0)
    server = await start(take_wait=0.05, stop_wait=0.05, runsync_wait=0.05)
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        f"{server.url}/openapi.json",
        "--checks",
        "all",
        "--max-examples",
        "8",
        "--max-time",
        str(BUDGET_S),
        "--seed",
        "20240901",
        "--request-timeout",
        "10",
        "--no-color",
    ]
    proc = await asyncio.create_subprocess_exec(
        *command,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(proc.communicate(), timeout=50)
    report = output.decode(errors="replace")
    assert proc.returncode == 0, report[-6000:]
    assert re.search(r"\b(\d+) selected / \1 total", report), report[-3000:]  # none left out
