"""``python handler.py --rp_serve_api``: this server plus an in-process worker, RunPod's paths."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
from server_support import Receiver, eventually  # type: ignore[import-not-found]

REPO = Path(__file__).resolve().parents[2]
PYTHON = str(REPO / ".venv" / "bin" / "python") if (REPO / ".venv").exists() else sys.executable


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _local_server(tmp_path: Path, port: int) -> subprocess.Popen[bytes]:
    """``python sync_handler.py --rp_serve_api ...`` with a clean environment."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("RUNPOD_", "PITSTOP_", "TEST_"))
    }
    env.update(HOME=str(tmp_path), RUNPOD_LOG_LEVEL="WARN", PITSTOP_WEBHOOK_ALLOW="127.0.0.1")
    handler = str(REPO / "tests" / "handlers" / "sync_handler.py")
    log = open(tmp_path / "local.log", "wb")  # noqa: SIM115
    args = ["--rp_serve_api", "--rp_api_port", str(port), "--rp_api_host", "127.0.0.1"]
    return subprocess.Popen(
        [PYTHON, handler, *args], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path
    )


async def test_local_api_runs_jobs_for_real(tmp_path: Path) -> None:
    port = _free_port()
    proc = _local_server(tmp_path, port)
    try:
        async with (
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as c,
            Receiver() as hook,
        ):

            async def ready() -> bool:
                try:
                    return (await c.get("/v2/local/health")).status_code == 200
                except httpx.TransportError:
                    assert proc.poll() is None, (tmp_path / "local.log").read_text()
                    return False

            await eventually(ready, timeout=20)
            job_id = (
                await c.post("/run", json={"input": {"return": 7}, "webhook": hook.url})
            ).json()["id"]

            async def completed() -> dict[str, object] | None:
                body: dict[str, object] = (await c.post(f"/status/{job_id}")).json()
                return body if body["status"] == "COMPLETED" else None

            assert (await eventually(completed))["output"] == 7
            sync = (await c.post("/runsync", json={"input": {"raise": "boom"}})).json()
            assert sync["status"] == "FAILED" and "boom" in sync["error"]
            via_v2 = (await c.post("/v2/local/runsync", json={"input": {"return": "hi"}})).json()
            assert via_v2["output"] == "hi"
            streamed = (await c.post(f"/stream/{job_id}")).json()
            assert streamed["status"] == "COMPLETED" and streamed["stream"] == []

            async def hooked() -> bool:
                return bool(hook.bodies)

            await eventually(hooked)
            assert hook.bodies[0]["id"] == job_id and hook.bodies[0]["output"] == 7
            assert (await c.get("/openapi.json")).status_code == 200
    finally:
        proc.terminate()
        proc.wait(10)
    assert proc.returncode == 0, (tmp_path / "local.log").read_text()
