"""A real ``pitstop serve`` per module and one headless Chromium (Debian's ``chromium``
driven by Playwright) per module; every page a test opens must log no console error.

Screenshots go to ``tests/artifacts/dashboard`` (or ``$PITSTOP_TEST_ARTIFACTS``). Without a
``chromium`` binary the browser tests skip locally and fail when ``CI`` is set
(``scripts/ensure-browser`` installs it).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

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
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RUNPOD_", "PITSTOP_"))}
    env.update(
        PITSTOP_TAKE_WAIT="0.5",
        PITSTOP_STOP_WAIT="0.5",
        PITSTOP_SWEEP_INTERVAL="0.05",
        PITSTOP_WORKER_STOP_POLL_FLOOR="0.05",
        PITSTOP_LEASE="3",
        RUNPOD_LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    return env


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


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium for the module."""
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (CI is set: run scripts/ensure-browser)")
        pytest.skip("chromium is not installed (run scripts/ensure-browser)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield chromium
        chromium.close()


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


@pytest.fixture
def tab(browser: Any) -> Iterator[Tab]:
    """A fresh context and page; the test fails if any page logged a console error."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
    yield Tab(page, errors)
    context.close()
    assert errors == [], f"console errors: {errors}"
