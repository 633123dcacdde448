"""With client keys set: nothing leaks before sign-in (HTML or JSON), sessions and CSRF."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from tests.dashboard.dashboard_support import Served, Tab, start_serve, stop_serve

KEY = "dashboard-test-key"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    # serve --api-key alone leaves its own workers without a valid key: give one
    served = start_serve(
        tmp_path_factory.mktemp("serve"), "--api-key", KEY, "--worker-key", "worker-key"
    )
    served.headers = {"Authorization": f"Bearer {KEY}"}
    try:
        yield served
    finally:
        stop_serve(served)


@pytest.fixture(scope="module")
def job_id(served: Served) -> str:
    job_id = served.submit({"chunks": 1})
    served.wait(job_id)
    return job_id


def test_no_page_or_json_route_shows_job_data_without_a_key(served: Served, job_id: str) -> None:
    anonymous = httpx.Client(base_url=served.url)
    for path in (
        "/dashboard/",
        "/dashboard/endpoints/console",
        f"/dashboard/jobs/{job_id}",
        "/dashboard/workers",
        "/dashboard/endpoints/console?part=jobs",
        f"/dashboard/jobs/{job_id}?part=timeline",
    ):
        response = anonymous.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/dashboard/login?next="), path
        assert job_id not in response.text
    for path in (
        "/pitstop/v1/overview",
        "/pitstop/v1/endpoints/console",
        "/pitstop/v1/endpoints/console/jobs",
        "/pitstop/v1/endpoints/console/stats",
        f"/pitstop/v1/jobs/{job_id}",
        f"/pitstop/v1/jobs/{job_id}/timeline",
        f"/pitstop/v1/jobs/{job_id}/logs",
        f"/pitstop/v1/jobs/{job_id}/chunks",
        f"/pitstop/v1/jobs/{job_id}/input",
        f"/pitstop/v1/jobs/{job_id}/output",
        "/pitstop/v1/workers",
        "/pitstop/v1/jobs",
        "/pitstop/v1/endpoints",
    ):
        response = anonymous.get(path)
        assert response.status_code == 401, path
        assert job_id not in response.text and "console" not in response.text, path
    anonymous.cookies.set("pitstop_session", "-.9999999999.ab.cd")
    assert anonymous.get("/pitstop/v1/overview").status_code == 401  # a forged session
    refused = anonymous.post(f"/dashboard/jobs/{job_id}/retry", data={"csrf": "x"})
    assert refused.status_code == 401 and job_id not in refused.text  # no session: no action


def test_sign_in_keeps_the_key_in_a_strict_httponly_session(
    served: Served, job_id: str, tab: Tab
) -> None:
    page = tab.page
    page.goto(f"{served.url}/dashboard/jobs/{job_id}")
    assert "/dashboard/login" in page.url
    assert page.locator("input[name=next]").get_attribute("value") == f"/dashboard/jobs/{job_id}"
    shown = page.content().replace(f"/dashboard/jobs/{job_id}", "")
    assert job_id not in shown and "completed" not in shown and "console" not in shown
    tab.shot("login")
    page.fill("#key", "wrong-key")
    page.click("button:text('Sign in')")
    assert "not valid" in page.locator(".error-box").inner_text()
    assert page.context.cookies() == []
    page.fill("#key", KEY)
    page.click("button:text('Sign in')")
    page.wait_for_url(re.compile(f"/dashboard/jobs/{job_id}$"))
    assert page.locator(".status-head .badge").inner_text() == "completed"
    (cookie,) = page.context.cookies()
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert KEY not in cookie["value"]
    timeline = page.request.get(f"{served.url}/pitstop/v1/jobs/{job_id}/timeline")
    assert timeline.ok and timeline.json()["events"][0]["kind"] == "submitted"
    page.click("button:text('Sign out')")
    page.wait_for_url(re.compile("/dashboard/login"))
    assert page.context.cookies() == []


def test_actions_need_the_csrf_token_of_the_session(served: Served, tab: Tab) -> None:
    page = tab.page
    page.goto(f"{served.url}/dashboard/login")
    page.fill("#key", KEY)
    page.click("button:text('Sign in')")
    page.wait_for_url(re.compile("/dashboard/$"))
    queued = httpx.post(f"{served.url}/v2/idle/run", json={"input": {}}, headers=served.headers)
    job_id = queued.json()["id"]
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    session = httpx.Client(base_url=served.url, cookies=cookies)
    assert session.get("/pitstop/v1/overview").status_code == 200
    no_token = session.post(f"/dashboard/jobs/{job_id}/cancel", data={})
    assert no_token.status_code == 403
    token = page.locator('meta[name="csrf-token"]').get_attribute("content") or ""
    other_site = session.post(
        f"/dashboard/jobs/{job_id}/cancel",
        data={"csrf": token},
        headers={"Origin": "http://evil.example"},
    )
    assert other_site.status_code == 403
    status_url = f"{served.url}/v2/idle/status/{job_id}"
    assert httpx.get(status_url, headers=served.headers).json()["status"] == "IN_QUEUE"
    accepted = session.post(f"/dashboard/jobs/{job_id}/cancel", data={"csrf": token})
    assert accepted.status_code == 303
    assert httpx.get(status_url, headers=served.headers).json()["status"] == "CANCELLED"
