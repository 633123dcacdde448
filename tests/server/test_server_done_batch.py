"""``job-done-batch`` on both stores: several results in one request, each item answered as
its own ``job-done`` would be, and a malformed batch refused whole with a 400 naming the
field (nothing of it stored)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hostile_support import LIMIT, nested  # type: ignore[import-not-found]

Q = "gpu=none"


async def _submit(client: httpx.AsyncClient, n: int) -> list[str]:
    ids = []
    for i in range(n):
        answer = await client.post("/v2/ep/run", json={"input": {"i": i}})
        assert answer.status_code == 200, answer.text
        ids.append(answer.json()["id"])
    return ids


async def _take(client: httpx.AsyncClient, n: int, worker: str = "w1") -> list[dict[str, Any]]:
    answer = await client.get(f"/v2/ep/job-take-batch/{worker}?{Q}&batch_size={n}")
    assert answer.status_code == 200, answer.text
    jobs: list[dict[str, Any]] = answer.json()
    assert len(jobs) == n
    return jobs


async def _batch(client: httpx.AsyncClient, body: Any, worker: str = "w1") -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return await client.post(f"/v2/ep/job-done-batch/{worker}?{Q}", content=content)


async def _status(client: httpx.AsyncClient, job_id: str) -> dict[str, Any]:
    answer = await client.get(f"/v2/ep/status/{job_id}")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def test_each_item_is_answered_as_its_own_job_done(any_client: httpx.AsyncClient) -> None:
    await _submit(any_client, 5)
    ok, failed, stale, refused, progress = await _take(any_client, 5)
    answer = await _batch(
        any_client,
        {
            "results": [
                {"id": ok["id"], "attempt": ok["attempt"], "result": {"output": {"n": 1}}},
                {"id": failed["id"], "attempt": None, "result": {"error": "boom"}},
                {"id": stale["id"], "attempt": stale["attempt"] + 1, "result": {"output": 1}},
                {"id": refused["id"], "attempt": 1.0, "result": {"output": nested(LIMIT + 1)}},
                {"id": "no-such-job", "attempt": None, "result": {"output": 1}},
                {"id": progress["id"], "result": {"status": "IN_PROGRESS", "output": "half"}},
            ]
        },
    )
    assert answer.status_code == 200, answer.text
    items = {item["id"]: item for item in answer.json()["results"]}
    assert items[ok["id"]] == {"id": ok["id"], "status": 200, "outcome": "accepted"}
    assert items[failed["id"]]["status"] == 200
    assert items[stale["id"]]["status"] == 409
    assert items[stale["id"]]["error"]["code"] == "stale_attempt"
    assert items[refused["id"]]["status"] == 400
    assert "output" in items[refused["id"]]["error"]["message"]
    assert items["no-such-job"]["status"] == 404
    assert items[progress["id"]]["status"] == 200

    assert (await _status(any_client, ok["id"]))["output"] == {"n": 1}
    assert (await _status(any_client, failed["id"]))["status"] == "FAILED"
    assert (await _status(any_client, stale["id"]))["status"] == "IN_PROGRESS"
    refused_status = await _status(any_client, refused["id"])
    assert refused_status["status"] == "FAILED" and "refused" in refused_status["error"]
    in_progress = await _status(any_client, progress["id"])
    assert in_progress["status"] == "IN_PROGRESS" and in_progress["output"] == "half"

    again = await _batch(
        any_client, {"results": [{"id": ok["id"], "attempt": ok["attempt"], "result": {}}]}
    )
    assert again.json()["results"][0] == {"id": ok["id"], "status": 200, "outcome": "duplicate"}
    assert (await _status(any_client, ok["id"]))["output"] == {"n": 1}


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"[1, 2]", "results"),
        ({"results": {"id": "x"}}, "results"),
        ({"results": [{"id": "x"}]}, "results[0]"),
        ({"results": [{"result": {}}]}, "results[0].id"),
        ({"results": [{"id": "", "result": {}}]}, "results[0].id"),
        ({"results": [{"id": "a\u0000b", "result": {}}]}, "results[0].id"),
        ({"results": [{"id": "x" * 257, "result": {}}]}, "results[0].id"),
        ({"results": [{"id": "x", "attempt": -1, "result": {}}]}, "results[0].attempt"),
        ({"results": [{"id": "x", "attempt": "1", "result": {}}]}, "results[0].attempt"),
        ({"results": [{"id": "x", "attempt": True, "result": {}}]}, "results[0].attempt"),
        ({"results": [{"id": "x", "result": [1, 2]}]}, "results[0].result"),
        ({"results": [{"id": "x", "result": "done"}]}, "results[0].result"),
        ({"results": [{"id": f"j{i}", "result": {}} for i in range(257)]}, "results"),
    ],
)
async def test_a_malformed_batch_is_refused_whole_and_stores_nothing(
    any_client: httpx.AsyncClient, body: Any, words: str
) -> None:
    (job_id,) = await _submit(any_client, 1)
    (job,) = await _take(any_client, 1)
    good = {"id": job_id, "attempt": job["attempt"], "result": {"output": "kept?"}}
    if isinstance(body, dict) and isinstance(body.get("results"), list):
        body = {"results": [good, *body["results"]]}
        words = words.replace("results[0]", "results[1]")
    answer = await _batch(any_client, body)
    assert answer.status_code == 400, answer.text
    assert words in answer.json()["error"]["message"]
    assert (await _status(any_client, job_id))["status"] == "IN_PROGRESS"


async def test_batches_need_a_worker_key(start: Any) -> None:
    server = await start(worker_keys=("wk",), client_keys=("ck",))
    async with httpx.AsyncClient(base_url=server.url) as client:
        refused = await client.post("/v2/ep/job-done-batch/w1", json={"results": []})
        assert refused.status_code == 401
        allowed = await client.post(
            "/v2/ep/job-done-batch/w1", json={"results": []}, headers={"Authorization": "wk"}
        )
        assert allowed.status_code == 200 and allowed.json() == {"results": []}


async def test_a_busy_pitstop_worker_sends_its_results_in_batches(
    start: Any, tmp_path: Any
) -> None:
    """A real worker process with 16 slots and 48 no-op jobs: every job completes with its
    own output, and the results arrived in fewer requests than jobs."""
    import asyncio

    from tests.protocol.conftest import FAST
    from tests.support.procs import start_worker

    from pitstop.server.urls import worker_env

    server = await start(take_wait=0.5)
    calls: dict[str, int] = {"job-done": 0, "job-done-batch": 0}
    for key, handler in list(server.app.fast_routes.items()):  # type: ignore[attr-defined]
        if key[0] in calls:

            async def counted(*args: Any, _h: Any = handler, _op: str = key[0]) -> Any:
                calls[_op] += 1
                return await _h(*args)

            server.app.fast_routes[key] = counted  # type: ignore[attr-defined]
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        ids = [
            (await client.post("/v2/ep/run", json={"input": {"return": i}})).json()["id"]
            for i in range(48)
        ]
        env = {**worker_env(server.url, "ep", "busy-1", ""), **FAST, "TEST_CONCURRENCY": "16"}
        worker = start_worker("async_handler", env, workdir=tmp_path)
        try:
            for i, job_id in enumerate(ids):
                for _ in range(200):
                    status = await _status(client, job_id)
                    if status["status"] == "COMPLETED":
                        break
                    await asyncio.sleep(0.05)
                assert status["status"] == "COMPLETED" and status["output"] == i, status
        finally:
            assert worker.shutdown() == 0
    assert calls["job-done-batch"] >= 1
    assert calls["job-done"] + calls["job-done-batch"] < len(ids)


def _finals(jobs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "results": [
            {"id": job["id"], "attempt": job["attempt"], "result": {"output": job["input"]}}
            for job in jobs
        ]
    }


async def test_a_batch_the_store_fails_to_take_at_once_is_stored_one_by_one(
    any_server: Any, any_client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One call for the whole batch fails after storing the first result (not an outage):
    each result is then stored on its own; the one already stored is the holder's repeat."""
    from pitstop.errors import StorageError
    from pitstop.models import Finish

    store = any_server.store

    async def fails_midway(items: list[Finish], now: float) -> list[Any]:
        first = items[0]
        await store.finish(
            first.job_id, first.worker_id, first.attempt, first.result, now, first.retention_s
        )
        raise StorageError("the second item broke something")

    monkeypatch.setattr(store, "finish_many", fails_midway)
    await _submit(any_client, 3)
    jobs = await _take(any_client, 3)
    answer = await _batch(any_client, _finals(jobs))
    assert answer.status_code == 200, answer.text
    outcomes = [(item["status"], item["outcome"]) for item in answer.json()["results"]]
    assert outcomes == [(200, "duplicate"), (200, "accepted"), (200, "accepted")]
    for job in jobs:
        done = await _status(any_client, job["id"])
        assert (done["status"], done["output"]) == ("COMPLETED", job["input"])


async def test_a_store_outage_answers_each_result_503_and_stores_none(
    any_server: Any, any_client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pitstop.errors import StoreUnavailable

    async def down(items: list[Any], now: float) -> list[Any]:
        raise StoreUnavailable("the store is down", retry_after=2.0)

    monkeypatch.setattr(any_server.store, "finish_many", down)
    await _submit(any_client, 2)
    jobs = await _take(any_client, 2)
    progress = {"id": jobs[1]["id"], "result": {"status": "IN_PROGRESS", "output": "half"}}
    body = _finals(jobs[:1])
    body["results"].append(progress)
    answer = await _batch(any_client, body)
    assert answer.status_code == 200, answer.text
    first, second = answer.json()["results"]
    assert (first["status"], first["error"]["code"], first["retryAfter"]) == (
        503,
        "store_unavailable",
        2.0,
    )
    assert second == {"id": jobs[1]["id"], "status": 200, "outcome": "accepted"}
    assert (await _status(any_client, jobs[0]["id"]))["status"] == "IN_PROGRESS"
