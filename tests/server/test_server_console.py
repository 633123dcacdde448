"""The console JSON under /pitstop/v1: pages, stats, timelines, chunks, downloads, workers,
the dashboard switch, and endpoint scoping through the one access function."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from server_support import Worker  # type: ignore[import-not-found]

from pitstop.dashboard import access as access_module


async def run(client: httpx.AsyncClient, endpoint: str, payload: Any = None) -> str:
    response = await client.post(f"/v2/{endpoint}/run", json={"input": payload or {}})
    return str(response.json()["id"])


async def test_job_pages_follow_cursors_and_filter_by_status(
    client: httpx.AsyncClient, worker: Worker
) -> None:
    ids = [await run(client, "ep", {"n": i}) for i in range(5)]
    job = await worker.take_job()
    await worker.done(job["id"], {"output": "ok"})
    first = (await client.get("/pitstop/v1/endpoints/ep/jobs?limit=2")).json()
    assert [j["id"] for j in first["jobs"]] == [ids[4], ids[3]] and first["newer"] is None
    second = (
        await client.get(f"/pitstop/v1/endpoints/ep/jobs?limit=2&before={first['older']}")
    ).json()
    assert [j["id"] for j in second["jobs"]] == [ids[2], ids[1]]
    back = (
        await client.get(f"/pitstop/v1/endpoints/ep/jobs?limit=2&after={second['newer']}")
    ).json()
    assert [j["id"] for j in back["jobs"]] == [ids[4], ids[3]]
    done = (await client.get("/pitstop/v1/endpoints/ep/jobs?status=COMPLETED")).json()["jobs"]
    assert [(j["id"], j["workerId"], j["attempt"]) for j in done] == [(ids[0], "w1", 1)]
    assert done[0]["executionTime"] is not None
    bad = await client.get("/pitstop/v1/endpoints/ep/jobs?status=DONE")
    assert bad.status_code == 400


async def test_timeline_chunks_and_downloads(client: httpx.AsyncClient, worker: Worker) -> None:
    job_id = await run(client, "ep", {"q": "x" * 10})
    await worker.take_job()
    await worker.stream(job_id, {"output": "a"})
    await worker.stream(job_id, {"output": "b"})
    await worker.done(job_id, {"output": {"answer": 42}})
    timeline = (await client.get(f"/pitstop/v1/jobs/{job_id}/timeline")).json()
    kinds = [e["kind"] for e in timeline["events"]]
    assert kinds == ["submitted", "taken", "first_chunk", "finished"]
    assert timeline["events"][1]["text"] == "Taken by worker w1 on attempt 1"
    assert timeline["events"][0]["offsetMs"] == 0 and timeline["events"][-1]["durationMs"] is None
    replay = (await client.get(f"/pitstop/v1/jobs/{job_id}/chunks?from=1")).json()
    assert replay["chunks"] == [{"seq": 1, "output": "b"}] and replay["next"] == 2
    cursor = (await client.get(f"/v2/ep/stream/{job_id}")).json()
    assert [c["output"] for c in cursor["stream"]] == ["a", "b"], "replay left the cursor alone"
    data = await client.get(f"/pitstop/v1/jobs/{job_id}/input")
    assert data.json() == {"q": "x" * 10}
    assert "attachment" in data.headers["content-disposition"]
    assert (await client.get(f"/pitstop/v1/jobs/{job_id}/output")).json() == {"answer": 42}
    assert (await client.get("/pitstop/v1/jobs/nope/timeline")).status_code == 404


async def test_overview_stats_and_workers(client: httpx.AsyncClient, worker: Worker) -> None:
    job_id = await run(client, "ep")
    await worker.take_job()
    await worker.ping(job_id, extra="&pitstop_pid=123&pitstop_host=box&pitstop_restarts=2")
    workers = (await client.get("/pitstop/v1/workers?endpoint=ep")).json()["workers"]
    assert [
        (w["id"], w["state"], w["jobs"], w["pid"], w["host"], w["restarts"]) for w in workers
    ] == [("w1", "running", [job_id], 123, "box", 2)]
    await worker.done(job_id, {"error": "bad"})
    card = (await client.get("/pitstop/v1/endpoints/ep")).json()
    assert card["lastHour"]["failed"] == 1 and card["queued"] == 0
    assert card["workers"]["running"] + card["workers"]["idle"] == 1
    assert sum(card["series"]["failed"]) == 1 and len(card["series"]["t"]) == 60
    day = (await client.get("/pitstop/v1/endpoints/ep/stats?window=day")).json()
    assert day["step"] == 900 and len(day["t"]) == 96 and sum(day["failed"]) == 1
    assert (await client.get("/pitstop/v1/endpoints/ep/stats?window=year")).status_code == 400
    overview = (await client.get("/pitstop/v1/overview")).json()
    assert [c["endpoint"] for c in overview["endpoints"]] == ["ep"]


async def test_no_dashboard_leaves_the_json_and_no_pages(start: Any) -> None:
    server = await start(dashboard=False)
    async with httpx.AsyncClient(base_url=server.url) as client:
        assert (await client.get("/")).status_code == 404
        assert (await client.get("/dashboard/")).status_code == 404
        assert (await client.get("/pitstop/v1/overview")).status_code == 200


async def test_a_key_scoped_to_some_endpoints_sees_only_those(
    start: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_scope = access_module.key_scope

    def scope(auth: Any, key: str) -> frozenset[str] | None:
        return frozenset({"mine"}) if key == "scoped" else real_scope(auth, key)

    monkeypatch.setattr(access_module, "key_scope", scope)
    server = await start(client_keys=("admin",))
    admin = {"Authorization": "Bearer admin"}
    async with httpx.AsyncClient(base_url=server.url, headers=admin) as client:
        mine = await run(client, "mine")
        theirs = await run(client, "theirs")
    scoped = {"Authorization": "Bearer scoped"}
    async with httpx.AsyncClient(base_url=server.url, headers=scoped) as client:
        overview = (await client.get("/pitstop/v1/overview")).json()
        assert [c["endpoint"] for c in overview["endpoints"]] == ["mine"]
        assert (await client.get("/pitstop/v1/endpoints")).json()["endpoints"] == ["mine"]
        assert (await client.get(f"/pitstop/v1/jobs/{mine}")).status_code == 200
        for path in (
            f"/pitstop/v1/jobs/{theirs}",
            f"/pitstop/v1/jobs/{theirs}/timeline",
            "/pitstop/v1/endpoints/theirs/jobs",
            "/pitstop/v1/endpoints/theirs/stats",
            "/pitstop/v1/workers?endpoint=theirs",
        ):
            assert (await client.get(path)).status_code == 404, path
        listed = (await client.get("/pitstop/v1/jobs")).json()["jobs"]
        assert [j["id"] for j in listed] == [mine]
