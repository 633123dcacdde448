"""The dashboard in a real browser against a real ``pitstop serve`` (no keys)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.dashboard.dashboard_support import Served, Tab, start_serve, stop_serve


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    served = start_serve(tmp_path_factory.mktemp("serve"))
    try:
        yield served
    finally:
        stop_serve(served)


def test_root_redirects_to_the_dashboard(served: Served) -> None:
    response = httpx.get(served.url + "/")
    assert response.status_code == 307
    assert response.headers["location"] == "/dashboard/"


def test_overview_shows_the_endpoint_with_its_counts_and_charts(served: Served, tab: Tab) -> None:
    served.wait(served.submit({"chunks": 1}))
    page = tab.page
    page.goto(served.url + "/")
    assert page.url.endswith("/dashboard/")
    card = page.locator("article.card", has_text="console")
    card.wait_for()
    assert card.locator("h3 a").get_attribute("href") == "/dashboard/endpoints/console"
    page.wait_for_selector("[data-chart=throughput] canvas")
    page.wait_for_selector(".badge.w-idle, .badge.w-running")
    assert tab.weight() <= 300_000, "page weight budget (document, script, styles, charts)"
    tab.shot("overview")


def test_job_page_shows_output_logs_stream_and_timeline(served: Served, tab: Tab) -> None:
    job_id = served.submit({"chunks": 3})
    assert served.wait(job_id)["status"] == "COMPLETED"
    page = tab.page
    page.goto(f"{served.url}/dashboard/jobs/{job_id}")
    assert page.locator(".status-head .badge").inner_text() == "completed"
    events = page.locator("table.timeline tbody tr td:nth-child(3)").all_inner_texts()
    assert events[0] == "Submitted"
    assert re.match(r"Taken by worker \S+ on attempt 1", events[1])
    assert "Progress" in events[2] and "First stream chunk" in events[3]
    assert events[-1].startswith("Finished COMPLETED")
    output = page.locator("section[aria-labelledby=result-h] .json")
    assert '"chunk"' in output.inner_text()
    assert page.locator("ol.chunks li").count() == 3
    logs = page.locator("pre.logs")
    logs.wait_for()
    assert f"job {job_id} starting" in logs.inner_text()
    assert "a line on stderr" in page.locator("pre.logs .log-stderr").inner_text()
    curl = page.locator("#curl-text").text_content() or ""
    assert "curl -X POST" in curl and '"chunks": 3' in curl and "/v2/console/run" in curl
    assert tab.weight() <= 300_000
    tab.shot("job")


def test_a_running_job_updates_live_without_a_reload(served: Served, tab: Tab) -> None:
    job_id = served.submit({"sleep": 3.0})  # long enough to open the page while it runs
    served.wait(job_id, {"IN_PROGRESS"})
    page = tab.page
    page.goto(f"{served.url}/dashboard/jobs/{job_id}")
    page.evaluate("window.__sameDocument = true")
    page.wait_for_selector(".status-head .badge.s-completed")
    page.wait_for_selector("pre.logs:not([hidden])")
    assert page.evaluate("window.__sameDocument") is True
    assert "Finished COMPLETED" in page.locator("table.timeline").inner_text()


def test_polling_stops_while_the_tab_is_hidden(served: Served, tab: Tab) -> None:
    page = tab.page
    page.goto(f"{served.url}/dashboard/endpoints/console")
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.evaluate(
        "Object.defineProperty(document, 'hidden', {configurable: true, get: () => true});"
        "document.dispatchEvent(new Event('visibilitychange'))"
    )
    page.wait_for_selector("[data-live-state].paused")
    requests.clear()
    page.wait_for_timeout(2500)  # longer than every live section's interval
    assert requests == []
    with page.expect_request(re.compile(r"part=|/pitstop/v1/")):  # at once, not next tick
        page.evaluate(
            "Object.defineProperty(document, 'hidden', {configurable: true, get: () => false});"
            "document.dispatchEvent(new Event('visibilitychange'))"
        )
    page.wait_for_selector("[data-live-state]:not(.paused)")


def test_run_and_run_sync_from_the_endpoint_page(served: Served, tab: Tab) -> None:
    page = tab.page
    page.goto(f"{served.url}/dashboard/endpoints/console")
    page.fill("#try-input", '{"chunks": 2}')
    page.click("#try button[value=run]")
    page.wait_for_selector("#try-status:text('COMPLETED')")
    assert page.locator("#try-chunks li").count() == 2
    assert '"chunk": 1' in page.locator("#try-output").inner_text()
    job_id = page.locator("#try-link").inner_text()
    assert served.status(job_id)["status"] == "COMPLETED"
    page.fill("#try-input", '{"chunks": 1}')
    page.click("#try button[value=runsync]")
    page.locator("#try-link", has_text=re.compile(r"^sync-")).wait_for()
    page.wait_for_selector("#try-status:text('COMPLETED')")
    assert '"chunk": 0' in page.locator("#try-output").inner_text()
    tab.shot("endpoint")
    page.fill("#try-input", "{not json")
    page.click("#try button[value=run]")
    page.wait_for_selector("#try-status:text('not valid JSON')")


def test_cancel_and_retry_from_the_job_page(served: Served, tab: Tab, tmp_path: Path) -> None:
    page = tab.page
    slow = served.submit({"sleep": 5.0})
    served.wait(slow, {"IN_PROGRESS"})
    page.goto(f"{served.url}/dashboard/jobs/{slow}")
    page.click("button:text('Cancel')")
    page.wait_for_selector(".status-head .badge.s-cancelled")
    assert served.status(slow)["status"] == "CANCELLED"
    assert "Cancel requested; stop sent to worker" in page.locator("table.timeline").inner_text()
    flaky = served.submit({"fail_unless": str(tmp_path / "marker")})
    assert served.wait(flaky)["status"] == "FAILED"
    page.goto(f"{served.url}/dashboard/jobs/{flaky}")
    assert "ValueError: failing once on purpose" in page.locator(".error-box").inner_text()
    assert "Traceback" in page.locator(".error-box").inner_text()
    tab.shot("job-failed")
    page.click("button:text('Retry')")
    page.wait_for_selector(".status-head .badge.s-completed")
    assert served.status(flaky)["status"] == "COMPLETED"
    assert "Retried" in page.locator("table.timeline").inner_text()


def test_purge_asks_first_then_cancels_the_queue(served: Served, tab: Tab) -> None:
    queued = [
        httpx.post(f"{served.url}/v2/nobody/run", json={"input": {}}).json()["id"] for _ in range(2)
    ]  # an endpoint without workers: its jobs stay queued
    page = tab.page
    page.goto(f"{served.url}/dashboard/endpoints/nobody")
    assert page.locator("dd[data-name=queued]").inner_text() == "2"
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.click("button:text('Purge queue')")
    assert httpx.get(f"{served.url}/v2/nobody/status/{queued[0]}").json()["status"] == "IN_QUEUE"
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.click("button:text('Purge queue')")
    for job_id in queued:
        assert httpx.get(f"{served.url}/v2/nobody/status/{job_id}").json()["status"] == "CANCELLED"
    assert page.locator("dd[data-name=queued]").inner_text() == "0"


def test_workers_page_shows_process_host_and_state(served: Served, tab: Tab) -> None:
    page = tab.page
    page.goto(f"{served.url}/dashboard/workers")
    row = page.locator("tbody tr", has_text=re.compile(r"\d+ on \S+")).first
    row.wait_for()  # the first ping names the process; the live table shows it
    text = row.inner_text()
    assert "console" in text
    assert re.search(r"\d+ on \S+", text), text
    assert re.search(r"\b(idle|running)\b", text)
    tab.shot("workers")


def test_phone_width_and_dark_scheme_render(served: Served, browser: object) -> None:
    context = browser.new_context(  # type: ignore[attr-defined]
        viewport={"width": 390, "height": 844}, color_scheme="dark"
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{served.url}/dashboard/endpoints/console")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background != "rgb(246, 247, 249)", "dark scheme follows the system setting"
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "no horizontal scrolling of the page at phone width"
    Tab(page, errors).shot("endpoint-phone-dark")
    context.close()
    assert errors == []


def test_keyboard_reaches_every_control(served: Served, tab: Tab) -> None:
    served.wait(served.submit({}))
    page = tab.page
    page.goto(f"{served.url}/dashboard/endpoints/console")
    reached: list[str] = []
    for _ in range(80):
        page.keyboard.press("Tab")
        label = page.evaluate(
            "(document.activeElement.innerText || document.activeElement.name || '').trim()"
        )
        reached.append(label)
    assert reached[0] == "Skip to content"
    for control in ("Last hour", "Last day", "input", "Run", "Run sync", "Filter", "Find"):
        assert control in reached, (control, reached)
    assert "Purge queue…" in reached
    assert any(len(label) == 36 for label in reached), "a job link (uuid) is reachable"
