"""Every example end to end: served by the supervisor against a real server, and in local
test mode (``python examples/X.py --test_input ...``), each as its docstring says."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.supervisor.harness import submit, wait_status
from tests.supervisor.helpers import EXAMPLES, Lines
from tests.support.serving import serve_and_check

pytestmark = pytest.mark.usefixtures("fast_workers")

EXAMPLE_NAMES = (
    "hello",
    "async_handler",
    "streaming",
    "refresh_config",
    "refresh_returned",
    "concurrency",
    "progress",
    "validation",
)
LOCAL_INPUTS = {
    "hello": {"name": "pitstop"},
    "async_handler": {"words": ["a", "b"]},
    "streaming": {"count": 3},
    "refresh_config": {},
    "refresh_returned": {"refresh": False},
    "concurrency": {"seconds": 0.01},
    "progress": {"steps": 2},
    "validation": {"text": "abc"},
}


async def run_job(client: httpx.AsyncClient, endpoint: str, payload: Any) -> dict[str, Any]:
    return await wait_status(client, endpoint, await submit(client, endpoint, payload))


async def check_hello(client: httpx.AsyncClient, lines: Lines) -> None:
    job = await run_job(client, "hello", {"name": "pitstop"})
    assert job["status"] == "COMPLETED"
    assert job["output"] == {"greeting": "Hello, pitstop!"}
    assert lines.has(f"w1 | [{job['id']}] greeting pitstop"), "handler print, labelled"


async def check_async_handler(client: httpx.AsyncClient, lines: Lines) -> None:
    job = await run_job(client, "async_handler", {"words": ["a", "b", "c"]})
    assert job["output"] == {"words": ["A", "B", "C"]}


async def check_streaming(client: httpx.AsyncClient, lines: Lines) -> None:
    job = await run_job(client, "streaming", {"count": 3})
    assert job["status"] == "COMPLETED"
    assert job["output"] == [{"n": 1}, {"n": 2}, {"n": 3}], "return_aggregate_stream"
    streamed = (await client.get(f"/v2/streaming/stream/{job['id']}")).json()
    assert [c["output"] for c in streamed["stream"]] == [{"n": 1}, {"n": 2}, {"n": 3}]


async def check_refresh_config(client: httpx.AsyncClient, lines: Lines) -> None:
    first = await run_job(client, "refresh_config", {})
    second = await run_job(client, "refresh_config", {})
    assert first["output"]["pid"] != second["output"]["pid"], "a fresh process per job"


async def check_refresh_returned(client: httpx.AsyncClient, lines: Lines) -> None:
    keep = await run_job(client, "refresh_returned", {"refresh": False})
    ask = await run_job(client, "refresh_returned", {"refresh": True})
    after = await run_job(client, "refresh_returned", {"refresh": False})
    assert keep["output"]["pid"] == ask["output"]["pid"], "no refresh asked: same process"
    assert after["output"]["pid"] != ask["output"]["pid"], "refresh asked: new process"
    assert "refresh_worker" not in ask["output"]


async def check_concurrency(client: httpx.AsyncClient, lines: Lines) -> None:
    await run_job(client, "concurrency", {"seconds": 0.01})  # warm: the worker is up
    started = time.monotonic()
    ids = [await submit(client, "concurrency", {"seconds": 0.6}) for _ in range(4)]
    jobs = [await wait_status(client, "concurrency", job_id) for job_id in ids]
    elapsed = time.monotonic() - started
    assert [j["output"] for j in jobs] == [{"slept": 0.6}] * 4
    assert elapsed < 2.0, f"4 x 0.6 s jobs took {elapsed:.2f}s on one worker: not concurrent"


async def check_progress(client: httpx.AsyncClient, lines: Lines) -> None:
    job = await run_job(client, "progress", {"steps": 3})
    assert job["output"] == {"steps_done": 3}


async def check_validation(client: httpx.AsyncClient, lines: Lines) -> None:
    good = await run_job(client, "validation", {"text": "ab", "times": 3})
    assert good["output"] == {"text": "ababab"}
    bad = await run_job(client, "validation", {"times": "x"})
    assert bad["status"] == "FAILED"
    assert "text" in bad["error"] and "times" in bad["error"], bad["error"]


CHECKS = {
    "hello": check_hello,
    "async_handler": check_async_handler,
    "streaming": check_streaming,
    "refresh_config": check_refresh_config,
    "refresh_returned": check_refresh_returned,
    "concurrency": check_concurrency,
    "progress": check_progress,
    "validation": check_validation,
}


def test_every_example_has_a_check_and_a_docstring() -> None:
    files = sorted(p.stem for p in EXAMPLES.glob("*.py"))
    assert files == sorted(EXAMPLE_NAMES) == sorted(CHECKS) == sorted(LOCAL_INPUTS)
    for name in files:
        text = (EXAMPLES / f"{name}.py").read_text()
        assert text.startswith('"""'), f"{name}: docstring header"
        assert f"pitstop serve examples/{name}.py" in text, f"{name}: how to serve it"
        assert "--test_input" in text, f"{name}: how to test it locally"


async def test_examples_through_serve(tmp_path: Path) -> None:
    """All examples at once: one server, one supervisor per example endpoint."""
    handlers = {name: str(EXAMPLES / f"{name}.py") for name in EXAMPLE_NAMES}
    await serve_and_check(tmp_path, handlers, CHECKS)


def test_examples_in_local_test_mode(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RUNPOD_", "PITSTOP_"))}
    procs = {
        name: subprocess.Popen(
            [
                sys.executable,
                str(EXAMPLES / f"{name}.py"),
                "--test_input",
                json.dumps({"input": LOCAL_INPUTS[name]}),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=tmp_path,
        )
        for name in EXAMPLE_NAMES
    }
    outputs = {name: proc.communicate(timeout=30)[0].decode() for name, proc in procs.items()}
    failed = {n: outputs[n] for n, p in procs.items() if p.returncode != 0}
    assert not failed, failed
    assert "Hello, pitstop!" in outputs["hello"]
    assert "abc" in outputs["validation"]
