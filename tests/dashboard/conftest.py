"""One headless Chromium (Debian's ``chromium`` driven by Playwright) per module, and a fresh
tab per test; every page a test opens must log no console error. Without a ``chromium``
binary the browser tests skip locally and fail when ``CI`` is set (``scripts/ensure-browser``
installs it).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from tests.dashboard.dashboard_support import Tab


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
