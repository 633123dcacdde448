"""Spec §9 behaviours 48-53: the local API server (``--rp_serve_api``) and realtime mode.

pitstop's local API is its production server plus an in-process worker (see
``pitstop.server.local``), so it deliberately differs from RunPod's throwaway FastAPI app:
``/run`` jobs run at once and stay readable, errors are pitstop's JSON error bodies (400, not
422) and ids are the server's. The tests assert that behaviour. One API server per handler
kind serves the whole module (each start costs a process).
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.support.procs import WorkerProcess, start_worker


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_listening(worker: WorkerProcess, url: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert worker.returncode is None, worker.output()
        try:
            httpx.get(f"{url}/openapi.json", timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise AssertionError(f"API server not up at {url}\n{worker.output()}")


class Api:
    """A ``--rp_serve_api`` worker process and an HTTP client for it."""

    def __init__(self, handler: str, workdir: Path) -> None:
        port = free_port()
        args = ["--rp_serve_api", "--rp_api_port", str(port), "--rp_api_host", "127.0.0.1"]
        self.worker = start_worker(handler, {}, workdir=workdir, args=args)
        self.url = f"http://127.0.0.1:{port}"
        wait_listening(self.worker, self.url)
        self.http = httpx.Client(base_url=self.url, timeout=10.0)

    def post(self, path: str, body: object = None) -> httpx.Response:
        return self.http.post(path, json=body) if body is not None else self.http.post(path)

    def saw(self) -> list[dict[str, Any]]:
        """The job dicts the handler printed (``SAW {...}``, maybe after a ``[id] `` prefix)."""
        out = self.worker.stdout
        return [json.loads(ln.split("SAW ", 1)[1]) for ln in out.splitlines() if "SAW {" in ln]

    def close(self) -> None:
        self.http.close()
        self.worker.close()


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    server = Api("sync_handler", tmp_path_factory.mktemp("api"))
    yield server
    server.close()


@pytest.fixture(scope="module")
def gen_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    server = Api("sync_gen", tmp_path_factory.mktemp("genapi"))
    yield server
    server.close()


def status_until_done(api: Api, job_id: str) -> dict[str, object]:
    """POST ``/status/{id}`` until the job is terminal (pitstop runs /run jobs at once)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        body: dict[str, object] = api.post(f"/status/{job_id}").json()
        if body["status"] in ("COMPLETED", "FAILED"):
            return body
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} not done: {body}")


def test_runsync_runs_the_handler(api: Api) -> None:
    resp = api.post("/runsync", {"input": {"a": 1}})
    assert resp.status_code == 200
    body = resp.json()
    assert isinstance(body["id"], str) and body["id"]
    assert body["status"] == "COMPLETED"
    assert body["output"] == {"a": 1}


def test_handler_sees_id_and_input(api: Api) -> None:
    body = api.post("/runsync", {"input": {"show": True, "v": "ü"}}).json()
    (seen,) = [s for s in api.saw() if s["id"] == body["id"]]
    assert seen["input"] == {"show": True, "v": "ü"}


def test_fitness_checks_do_not_run_in_api_mode(tmp_path: Path) -> None:
    """Spec §1.5: fitness checks run only in production worker mode, never for the local API."""
    api = Api("fitness_fail", tmp_path / "fit")
    try:
        body = api.post("/runsync", {"input": {"a": 1}}).json()
        assert body["status"] == "COMPLETED", body
        assert "Fitness check failed" not in api.worker.stdout
    finally:
        api.close()


def test_runsync_with_returned_error_is_failed(api: Api) -> None:
    resp = api.post("/runsync", {"input": {"return": {"error": "bad"}}})
    assert resp.status_code == 200
    body = resp.json()
    assert body["status"] == "FAILED"
    assert body["error"] == "bad"
    assert "output" not in body


def test_run_job_runs_without_waiting_for_status_and_is_retained(api: Api) -> None:
    """Deliberate difference: RunPod's local API runs a /run job only on /status, then forgets it."""
    resp = api.post("/run", {"input": {"n": 7}})
    assert resp.status_code == 200
    body = resp.json()
    assert body["status"] in ("IN_QUEUE", "IN_PROGRESS", "COMPLETED")
    done = status_until_done(api, body["id"])
    assert done["status"] == "COMPLETED"
    assert done["output"] == {"n": 7}
    assert api.post(f"/status/{body['id']}").json()["output"] == {"n": 7}


def test_stream_with_a_generator_handler(gen_api: Api) -> None:
    """Each ``/stream`` call returns the chunks not yet read (RunPod's endpoint semantics)."""
    job_id = gen_api.post("/run", {"input": {"yield": ["a", {"k": 2}]}}).json()["id"]
    chunks: list[Any] = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        body = gen_api.post(f"/stream/{job_id}").json()
        chunks.extend(body.get("stream", []))
        if body["status"] == "COMPLETED":
            break
        time.sleep(0.05)
    assert body["status"] == "COMPLETED"
    assert chunks == [{"output": "a"}, {"output": {"k": 2}}]


def test_runsync_without_input_is_a_client_error(api: Api) -> None:
    """Deliberate difference: 400 with pitstop's error body (RunPod's local API: 422)."""
    resp = api.post("/runsync", {"webhook": None})
    assert resp.status_code == 400
    assert resp.json()["error"]["code"]


def test_realtime_route_returns_the_raw_result(tmp_path: Path) -> None:
    port = free_port()
    env = {"RUNPOD_REALTIME_PORT": str(port), "RUNPOD_ENDPOINT_ID": "ep"}
    with start_worker("sync_handler", env, workdir=tmp_path / "rt") as worker:
        url = f"http://127.0.0.1:{port}"
        wait_listening(worker, url)
        resp = httpx.post(f"{url}/ep/realtime", json={"id": "r1", "input": {"q": 1}}, timeout=10)
        assert resp.status_code == 200
        assert resp.json() == {"output": {"q": 1}}
