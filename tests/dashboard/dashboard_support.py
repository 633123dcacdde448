"""Helpers of the dashboard tests: a real ``pitstop serve`` of the test handler (endpoint
``console``) and a browser tab that records console errors and takes screenshots.

Screenshots go to ``tests/artifacts/dashboard`` (or ``$PITSTOP_TEST_ARTIFACTS``).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from tests.supervisor.test_cli_serve import serve_env

HERE = Path(__file__).parent
HANDLER = HERE / "console_handler.py"
ARTIFACTS = Path(os.environ.get("PITSTOP_TEST_ARTIFACTS", HERE.parent / "artifacts")) / "dashboard"
TERMINAL = {"COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT"}


@dataclass
class Served:
    """A running ``pitstop serve`` of the test handler (endpoint ``console``)."""

    url: str
    proc: subprocess.Popen[bytes]
    log: Path
    key: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def submit(self, payload: dict[str, Any]) -> str:
        response = httpx.post(
            f"{self.url}/v2/console/run", json={"input": payload}, headers=self.headers
        )
        response.raise_for_status()
        return str(response.json()["id"])

    def status(self, job_id: str) -> dict[str, Any]:
        response = httpx.get(f"{self.url}/v2/console/status/{job_id}", headers=self.headers)
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    def wait(
        self, job_id: str, want: set[str] | None = None, timeout: float = 20
    ) -> dict[str, Any]:
        """Poll the job's status until it is one of ``want`` (default: any terminal one)."""
        wanted = want or TERMINAL
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            body = self.status(job_id)
            if body["status"] in wanted:
                return body
            time.sleep(0.02)
        raise AssertionError(f"job {job_id} never reached {wanted}: {self.status(job_id)}")


def _serve_env() -> dict[str, str]:
    return {**serve_env(), "PITSTOP_LEASE": "3"}


def start_serve(tmp: Path, *args: str) -> Served:
    """Start ``pitstop serve`` on a free port; return once it printed its URL."""
    log = tmp / "serve.log"
    command = [sys.executable, "-m", "pitstop.cli", "serve", str(HANDLER), "--port", "0"]
    command += ["--data-dir", str(tmp / "data"), "--concurrency", "4", "--endpoint", "console"]
    command += args
    with log.open("wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=_serve_env())
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        found = re.search(r"endpoint: (http://\S+)/v2/console\s", log.read_text(errors="replace"))
        if found:
            return Served(found.group(1), proc, log)
        if proc.poll() is not None:
            break
        time.sleep(0.01)
    proc.kill()
    raise AssertionError(f"pitstop serve did not start:\n{log.read_text(errors='replace')}")


def stop_serve(served: Served) -> None:
    served.proc.terminate()
    try:
        served.proc.wait(15)
    except subprocess.TimeoutExpired:
        served.proc.kill()
        served.proc.wait()


@dataclass
class Tab:
    """A browser page that records console errors and failed requests."""

    page: Any
    errors: list[str]

    def weight(self) -> int:
        """Bytes the page loaded so far: the document plus every resource it fetched."""
        total: int = self.page.evaluate(
            "performance.getEntriesByType('navigation')[0].transferSize + "
            "performance.getEntriesByType('resource').reduce((n, r) => n + r.transferSize, 0)"
        )
        return total

    def shot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path
