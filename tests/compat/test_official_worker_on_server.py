"""The official runpod 1.12.0 worker processes jobs from a real pitstop server.

Each test starts the official SDK (``.venv-runpod``) as a subprocess with RunPod's
``RUNPOD_WEBHOOK_*`` variables pointing at a pitstop server on loopback (the same variables
``pitstop serve`` gives its own workers) and drives the job through the client API: a plain
job and a raising one, a generator streamed through ``/stream``, ``refresh_worker`` (the
worker exits 0 after delivering) and a cancel that reaches the running job over ``job-stop``.
If the official SDK is missing these tests fail (never skip): run ``scripts/official-sdk``.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.client.client_support import ThreadServer
from tests.support.procs import OFFICIAL, WorkerProcess, start_worker

from pitstop.config import ServerConfig
from pitstop.server.urls import worker_env

pytestmark = [pytest.mark.compat, pytest.mark.timeout(120)]

ENDPOINT = "ep"
WORKER_KEY = "official-worker-key"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadServer]:
    # Short long-poll holds: the official SDK waits for its open polls before it exits.
    config = ServerConfig(
        port=0,
        store_url=f"sqlite:///{tmp_path_factory.mktemp('official-on-server')}/pitstop.db",
        worker_keys=(WORKER_KEY,),
        take_wait=0.5,
        stop_wait=0.5,
        sweep_interval=0.05,
    )
    live = ThreadServer(config).start()
    yield live
    live.stop()


@pytest.fixture
def client(server: ThreadServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{server.url}/v2/{ENDPOINT}", timeout=10) as c:
        yield c


@pytest.fixture
def official(server: ThreadServer, tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    started: list[WorkerProcess] = []

    def _start(handler: str, worker_id: str, **extra: str) -> WorkerProcess:
        env = worker_env(server.url, ENDPOINT, worker_id, WORKER_KEY)
        env.update(
            RUNPOD_SKIP_AUTO_SYSTEM_CHECKS="true",
            RUNPOD_SKIP_GPU_CHECK="true",
            RUNPOD_PING_INTERVAL="1000",
            **extra,
        )
        worker = start_worker(handler, env, workdir=tmp_path / worker_id, runtime=OFFICIAL)
        started.append(worker)
        return worker

    yield _start
    for worker in started:
        if worker.proc.poll() is None:
            worker.proc.kill()
            worker.proc.wait(5)


def submit(client: httpx.Client, job_input: Any) -> str:
    response = client.post("/run", json={"input": job_input})
    assert response.status_code == 200, response.text
    job_id: str = response.json()["id"]
    return job_id


def wait_status(
    client: httpx.Client, job_id: str, want: set[str], worker: WorkerProcess, timeout: float = 60
) -> dict[str, Any]:
    """Long-poll ``status-sync`` until the job is in one of ``want``."""
    deadline = time.monotonic() + timeout
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        body = client.get(f"/status-sync/{job_id}", params={"wait": 1000}).json()
        if body["status"] in want:
            return body
    raise AssertionError(f"job {job_id} never reached {want}: {body}\n{worker.output()}")


def test_plain_and_raising_jobs(
    client: httpx.Client, official: Callable[..., WorkerProcess]
) -> None:
    worker = official("sync_handler", "official-plain")
    ok = submit(client, {"return": {"answer": 42, "text": "hé"}})
    boom = submit(client, {"raise": "boom"})
    done = wait_status(client, ok, {"COMPLETED", "FAILED"}, worker)
    assert done["status"] == "COMPLETED", done
    assert done["output"] == {"answer": 42, "text": "hé"}
    assert done["workerId"] == "official-plain"
    failed = wait_status(client, boom, {"COMPLETED", "FAILED"}, worker)
    assert failed["status"] == "FAILED", failed
    error = json.loads(failed["error"])  # RunPod's error: a JSON string
    assert error["error_type"] == "<class 'ValueError'>"
    assert error["error_message"] == "boom"
    assert error["worker_id"] == "official-plain"


def test_generator_streams_through_the_server(
    client: httpx.Client, official: Callable[..., WorkerProcess]
) -> None:
    worker = official("sync_gen", "official-gen", TEST_AGGREGATE="1")
    job_id = submit(client, {"yield": ["a", {"k": 2}, "c"]})
    chunks: list[Any] = []
    deadline = time.monotonic() + 60
    status = ""
    while time.monotonic() < deadline:
        body = client.get(f"/stream/{job_id}", params={"wait": 1000}).json()
        chunks.extend(item["output"] for item in body["stream"])
        status = body["status"]
        if status in ("COMPLETED", "FAILED") and not body["stream"]:
            break
    assert status == "COMPLETED", worker.output()
    assert chunks == ["a", {"k": 2}, "c"]
    final = client.get(f"/status/{job_id}").json()
    assert final["output"] == ["a", {"k": 2}, "c"]  # return_aggregate_stream


def test_refresh_worker_delivers_then_exits(
    client: httpx.Client, official: Callable[..., WorkerProcess]
) -> None:
    worker = official("sync_handler", "official-refresh", TEST_REFRESH_WORKER="1")
    job_id = submit(client, {"return": "fresh"})
    done = wait_status(client, job_id, {"COMPLETED", "FAILED"}, worker)
    assert done["status"] == "COMPLETED" and done["output"] == "fresh", done
    assert worker.wait(timeout=60) == 0, worker.output()


def test_cancel_reaches_the_running_job(
    client: httpx.Client, official: Callable[..., WorkerProcess]
) -> None:
    worker = official("async_handler", "official-cancel")
    job_id = submit(client, {"sleep": 60, "mark": True})
    worker.wait_output(f"MARK START {job_id}", timeout=60)
    assert client.post(f"/cancel/{job_id}").json()["status"] == "CANCELLED"
    worker.wait_output(f"CANCELLED {job_id}", timeout=30)  # delivered over job-stop
    assert client.get(f"/status/{job_id}").json()["status"] == "CANCELLED"
    after = submit(client, {"return": "next"})  # the worker goes on taking jobs
    done = wait_status(client, after, {"COMPLETED", "FAILED"}, worker)
    assert done["status"] == "COMPLETED" and done["output"] == "next", done


def test_worker_env_lines_run_an_official_worker(
    server: ThreadServer, client: httpx.Client, tmp_path: Path
) -> None:
    """The shell lines ``pitstop worker-env`` prints, sourced by bash, start a working worker."""
    script = (
        'eval "$("$0" -m pitstop.cli --url "$1" worker-env ep --key "$2" --worker-id w-env)"'
        " && env -0"
    )
    shown = subprocess.run(
        ["bash", "-c", script, sys.executable, server.url, WORKER_KEY],
        capture_output=True,
        check=True,
    ).stdout.decode()
    env = dict(item.split("=", 1) for item in shown.split("\0") if item.startswith("RUNPOD_"))
    assert env["RUNPOD_WEBHOOK_GET_JOB"].endswith("/v2/ep/job-take/$ID?gpu=none")
    env.update(RUNPOD_SKIP_AUTO_SYSTEM_CHECKS="true", RUNPOD_SKIP_GPU_CHECK="true")
    worker = start_worker("sync_handler", env, workdir=tmp_path / "w-env", runtime=OFFICIAL)
    try:
        done = wait_status(client, submit(client, {"return": "sourced"}), {"COMPLETED"}, worker)
        assert done["output"] == "sourced" and done["workerId"] == "w-env"
    finally:
        worker.proc.kill()
        worker.proc.wait(5)


def test_urls_without_question_mark_still_work(
    server: ThreadServer,
    client: httpx.Client,
    official: Callable[..., WorkerProcess],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """``RUNPOD_WEBHOOK_GET_JOB=.../job-take/$ID`` (no ``?``): the SDK appends ``&k=v`` to the
    path; the server reads them as the query, so results land on the right worker and job."""
    bare = {
        name: value.replace("?gpu=none", "")
        for name, value in worker_env(server.url, ENDPOINT, "official-noq", WORKER_KEY).items()
    }
    caplog.set_level(logging.WARNING, logger="pitstop.server")
    worker = official("sync_gen", "official-noq", TEST_AGGREGATE="1", **bare)
    job_id = submit(client, {"yield": ["x", "y"]})
    done = wait_status(client, job_id, {"COMPLETED", "FAILED"}, worker)
    assert done["status"] == "COMPLETED", done
    assert done["output"] == ["x", "y"]
    assert done["workerId"] == "official-noq"
    warnings = [r for r in caplog.records if "has no '?'" in r.getMessage()]
    assert len(warnings) == 1, warnings  # once per worker, although take, stream, done all had it
