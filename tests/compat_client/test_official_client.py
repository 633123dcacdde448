"""The OFFICIAL ``runpod.Endpoint`` client (runpod 1.12.0, its own virtualenv) against a
pitstop server whose jobs are processed by real pitstop worker processes.

The SDK runs in a subprocess pointed at the server with ``RUNPOD_ENDPOINT_BASE_URL``. When
its interpreter is missing these tests fail on CI (``CI`` set) and skip locally, naming the
``scripts/official-sdk`` command that installs it.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from tests.client.client_support import CLIENT_KEY, HANDLER_EP, STREAM_EP, ThreadServer, unique
from tests.support.procs import MissingRuntimeError, clean_env, official_python

from pitstop.client import Client

pytestmark = [pytest.mark.compat, pytest.mark.usefixtures("workers")]

SCRIPT = Path(__file__).with_name("official_client_script.py")


def _official() -> str:
    try:
        return official_python()
    except MissingRuntimeError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def official_run(live: ThreadServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Run the official client script once for the module; its JSON report."""
    python = _official()
    home = tmp_path_factory.mktemp("official-home")
    idle = unique("idle")
    env = clean_env(
        home,
        {
            "RUNPOD_ENDPOINT_BASE_URL": f"{live.url}/v2",
            "COMPAT_KEY": CLIENT_KEY,
            "COMPAT_EP": HANDLER_EP,
            "COMPAT_STREAM_EP": STREAM_EP,
            "COMPAT_IDLE_EP": idle,
        },
    )
    proc = subprocess.run(
        [python, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=90, cwd=home
    )
    lines = [x for x in proc.stdout.splitlines() if x.startswith("COMPAT-RESULT ")]
    assert proc.returncode == 0 and lines, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    report: dict[str, Any] = json.loads(lines[-1].removeprefix("COMPAT-RESULT "))
    report["idle_endpoint"] = idle
    return report


def test_base_url_comes_from_the_environment(
    official_run: dict[str, Any], live: ThreadServer
) -> None:
    assert official_run["base"] == f"{live.url}/v2"


def test_run_status_and_output(official_run: dict[str, Any], live: ThreadServer) -> None:
    assert official_run["output"] == {"v": 1}
    assert official_run["status"] == "COMPLETED"
    with Client(live.url, CLIENT_KEY) as client:
        assert client.job_record(official_run["run_id"])["input"] == {"return": {"v": 1}}


def test_run_sync(official_run: dict[str, Any]) -> None:
    assert official_run["run_sync"] == "sync-ok"
    # The official client drops a FAILED job's error and returns None (spec §10); our server
    # must answer in the shape that makes it do exactly that rather than crash.
    assert official_run["run_sync_failed"] is None


def test_stream(official_run: dict[str, Any]) -> None:
    assert official_run["stream"] == [1, {"two": 2}, "three"]
    assert official_run["stream_status"] == "COMPLETED"


def test_cancel(official_run: dict[str, Any]) -> None:
    assert official_run["cancel"]["status"] == "CANCELLED"
    assert official_run["cancel_status"] == "CANCELLED"


def test_health_and_purge_queue(official_run: dict[str, Any], live: ThreadServer) -> None:
    assert official_run["health"]["jobs"]["inQueue"] == 2
    assert set(official_run["health"]["workers"]) >= {"idle", "running"}
    assert official_run["purge"]["removed"] == 2
    assert official_run["health_after"]["jobs"]["inQueue"] == 0
    with Client(live.url, CLIENT_KEY) as client:
        jobs = client.jobs(official_run["idle_endpoint"])["jobs"]
    assert len(jobs) == 2


def test_asyncio_endpoint(official_run: dict[str, Any]) -> None:
    assert official_run["async_output"] == "async-ok"
    assert official_run["async_status"] == "COMPLETED"
    assert official_run["async_stream"] == ["a", "b"]
    assert "jobs" in official_run["async_health"]
