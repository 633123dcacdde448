"""Ownership and ids on both stores: the wrong endpoint or worker changes nothing.

Stream, status, cancel and retry through another endpoint answer 404 before any side effect;
``job-log`` is fenced like ``job-done``. Endpoint and worker ids outside the documented
pattern are a 400 on every route (fast path and FastAPI alike) before reaching the store, and
``/metrics`` never carries a raw control character in a label.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
from hostile_support import Bystanders, assert_bad_request  # type: ignore[import-not-found]

from pitstop.models import NewJob
from pitstop.server.runner import RunningServer


async def _running(client: httpx.AsyncClient, ep: str = "A") -> dict[str, Any]:
    job_id = (await client.post(f"/v2/{ep}/run", json={"input": 1})).json()["id"]
    job: dict[str, Any] = (await client.get(f"/v2/{ep}/job-take/w1")).json()
    assert job["id"] == job_id
    return job


async def test_stream_through_another_endpoint_does_not_move_the_cursor(
    any_client: httpx.AsyncClient,
) -> None:
    job = await _running(any_client)
    chunk = await any_client.post(f"/v2/A/job-stream/w1/{job['id']}", json={"output": "c1"})
    assert chunk.status_code == 200
    for method in (any_client.get, any_client.post):
        wrong = await method(f"/v2/B/stream/{job['id']}")
        assert wrong.status_code == 404, wrong.text
    right = (await any_client.get(f"/v2/A/stream/{job['id']}")).json()
    assert right["stream"] == [{"output": "c1"}]


async def test_status_cancel_retry_through_another_endpoint_change_nothing(
    any_client: httpx.AsyncClient,
) -> None:
    job = await _running(any_client)
    job_id = job["id"]
    before = (await any_client.get(f"/pitstop/v1/jobs/{job_id}")).json()
    for path in (f"status/{job_id}?ttl=5000", f"cancel/{job_id}", f"retry/{job_id}"):
        wrong = await any_client.post(f"/v2/B/{path}")
        assert wrong.status_code == 404, (path, wrong.text)
    after = (await any_client.get(f"/pitstop/v1/jobs/{job_id}")).json()
    assert after == before
    failed = await any_client.post(f"/v2/A/job-done/w1/{job_id}", json={"error": "boom"})
    assert failed.status_code == 200
    wrong = await any_client.post(f"/v2/B/retry/{job_id}")
    assert wrong.status_code == 404
    assert (await any_client.get(f"/v2/A/status/{job_id}")).json()["status"] == "FAILED"


async def test_job_log_is_fenced_like_job_done(any_client: httpx.AsyncClient) -> None:
    job = await _running(any_client)
    job_id = job["id"]
    lines = {"lines": [{"stream": "stdout", "text": "mine"}]}

    async def log(path: str, attempt: int | None = None) -> httpx.Response:
        headers = {} if attempt is None else {"X-Pitstop-Attempt": str(attempt)}
        return await any_client.post(f"/v2/{path}/{job_id}", json=lines, headers=headers)

    assert (await log("A/job-log/intruder")).status_code == 409
    assert (await log("A/job-log/w1", attempt=2)).status_code == 409
    assert (await log("B/job-log/w1")).status_code == 404
    assert (await any_client.post("/v2/A/job-log/w1/nope", json=lines)).status_code == 404
    assert (await log("A/job-log/w1", attempt=1)).status_code == 200
    logs = (await any_client.get(f"/pitstop/v1/jobs/{job_id}/logs")).json()["lines"]
    assert [line["text"] for line in logs] == ["mine"]


async def test_invalid_endpoint_and_worker_ids_are_refused_everywhere(
    any_server: RunningServer, any_client: httpx.AsyncClient
) -> None:
    good = Bystanders(any_client, "ep")
    await good.submit()
    bad_endpoints = ["a%0Db", "a%00b", "a%0Ab", "%2E%2E", "%2E", "-x", "a%20b", "x" * 129]
    for ep in bad_endpoints:
        for method, path in (
            ("POST", "run"),
            ("GET", "health"),  # the fast path
            ("GET", "no-such-route"),  # FastAPI's routes
            ("GET", "job-take/w1"),
        ):
            answer = await any_client.request(method, f"/v2/{ep}/{path}", json={"input": 1})
            assert_bad_request(answer, "endpoint id")
    for worker in ["w%0D1", "w%001", "%2E%2E", "w%201", "w%3B1", "w" * 129]:
        for method, path in (
            ("GET", f"job-take/{worker}"),
            ("GET", f"job-take-batch/{worker}?batch_size=2"),
            ("GET", f"ping/{worker}"),
            ("GET", f"job-stop/{worker}"),
            ("POST", f"job-done/{worker}/j1"),
            ("POST", f"job-log/{worker}/j1"),
            ("GET", f"job-take/{worker}&job_in_progress=0"),  # '?'-less worker URLs
        ):
            answer = await any_client.request(method, f"/v2/ep/{path}")
            assert_bad_request(answer, "worker id")
    assert await any_server.store.endpoints() == ["ep"]
    longest = "e" * 128
    assert (await any_client.post(f"/v2/{longest}/run", json={"input": 1})).status_code == 200
    await good.assert_served("w_1.a-B")


async def test_query_in_path_repair_still_works(any_client: httpx.AsyncClient) -> None:
    good = Bystanders(any_client, "ep")
    await good.submit(1)
    job = await any_client.get("/v2/ep/job-take/w1&job_in_progress=0")
    assert job.status_code == 200, job.text
    assert job.json()["id"] == good.ids[0]


async def test_metrics_labels_never_carry_raw_control_characters(
    any_server: RunningServer, any_client: httpx.AsyncClient
) -> None:
    """An endpoint stored before ids were validated (written here behind the API)."""
    hostile = 'a\rb\n"c'
    now = time.time()
    await any_server.store.enqueue(NewJob(id="old", endpoint=hostile, input=1, created_at=now))
    await any_client.post("/v2/ep/run", json={"input": 1})
    text = (await any_client.get("/metrics")).text
    assert "\r" not in text
    assert 'pitstop_queue_depth{endpoint="a%0Db%0A%22c"} 1.0' in text
    assert 'pitstop_queue_depth{endpoint="ep"} 1.0' in text
