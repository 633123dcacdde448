"""Hostile results on both stores: what a worker sends must be readable afterwards.

A result or stream chunk the server could not render again is refused with 400 and the job
ends FAILED with that reason, so every status read (status, status-sync, runsync, stream)
keeps answering 200. Progress and log lines are refused without ending the job. Good jobs
taken in the same batch complete on their first attempt.
"""

from __future__ import annotations

import asyncio
import json
import time

import httpx
from hostile_support import (  # type: ignore[import-not-found]
    LIMIT,
    Bystanders,
    assert_bad_request,
    deep_text,
    nested,
)

from pitstop.models import Result
from pitstop.server.runner import RunningServer

BAD_RESULTS = [
    # (case, route, body text, words in the refusal)
    ("deep-output", "job-done", json.dumps({"output": nested(LIMIT + 1)}), ("output", "128")),
    ("deeper-output", "job-done", f'{{"output": {deep_text(260)}}}', ("output", "128")),
    ("surrogate-output", "job-done", '{"output": {"t": "\\ud800"}}', ("output", "surrogate")),
    ("surrogate-error", "job-done", '{"error": "\\ud800"}', ("error", "surrogate")),
    ("deep-error", "job-done", f'{{"error": {deep_text(900)}}}', ("error", "128")),
    ("bigint-output", "job-done", '{"output": [NaN, 18446744073709551616]}', ("output", "64")),
    ("deep-chunk", "job-stream", json.dumps({"output": nested(LIMIT + 1)}), ("stream", "128")),
    (
        "surrogate-chunk",
        "job-stream",
        '{"outputs": ["fine", "\\ud800"]}',
        ("stream", "surrogate"),
    ),
]


async def test_unrenderable_results_fail_the_job_and_reads_stay_200(
    any_client: httpx.AsyncClient,
) -> None:
    for case, route, text, words in BAD_RESULTS:
        good = Bystanders(any_client, f"ep-{case}")
        await good.submit(3)
        jobs = await good.take_batch("w1")
        assert [j["attempt"] for j in jobs] == [1, 1, 1]
        victim, rest = jobs[0], jobs[1:]
        answer = await any_client.post(
            f"/v2/{good.ep}/{route}/w1/{victim['id']}",
            content=text,
            headers={"X-Pitstop-Attempt": "1", "Content-Type": "application/x-www-form-urlencoded"},
        )
        assert_bad_request(answer, "refused", *words)
        status = await good.status(victim["id"])
        assert status["status"] == "FAILED", (case, status)
        assert "Job result refused by the server" in status["error"], (case, status)
        for read in ("status-sync", "stream"):
            again = await any_client.get(f"/v2/{good.ep}/{read}/{victim['id']}")
            assert again.status_code == 200, (case, read, again.text)
        # The worker's own FAILED report afterwards (pitstop's worker sends one) is harmless.
        late = await any_client.post(
            f"/v2/{good.ep}/job-done/w1/{victim['id']}", json={"error": "refused"}
        )
        assert late.status_code == 200, late.text
        good.ids = [j["id"] for j in rest]
        await good.finish(rest, "w1")


async def test_results_at_the_limit_are_accepted_and_read_back(
    any_client: httpx.AsyncClient,
) -> None:
    value = nested(LIMIT)
    run = await any_client.post("/v2/ep/run", json={"input": 1})
    job_id = run.json()["id"]
    await any_client.get("/v2/ep/job-take/w1")
    stream = await any_client.post(f"/v2/ep/job-stream/w1/{job_id}", json={"outputs": [value]})
    assert stream.status_code == 200, stream.text
    done = await any_client.post(f"/v2/ep/job-done/w1/{job_id}", json={"output": value})
    assert done.status_code == 200, done.text
    assert (await Bystanders(any_client, "ep").status(job_id))["output"] == value
    chunks = (await any_client.get(f"/v2/ep/stream/{job_id}")).json()["stream"]
    assert chunks == [{"output": value}]


async def test_runsync_of_a_refused_result_answers_failed(any_client: httpx.AsyncClient) -> None:
    async def worker() -> None:
        job = (await any_client.get("/v2/ep/job-take/w1")).json()
        body = f'{{"output": {deep_text(300)}}}'
        refused = await any_client.post(f"/v2/ep/job-done/w1/{job['id']}", content=body)
        assert refused.status_code == 400

    task = asyncio.create_task(worker())
    answer = await any_client.post("/v2/ep/runsync", json={"input": 1})
    await task
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "FAILED"


async def test_unrenderable_progress_and_logs_are_refused_without_ending_the_job(
    any_client: httpx.AsyncClient,
) -> None:
    good = Bystanders(any_client, "ep")
    jobs = await good.one_running("w1")
    job_id = jobs[0]["id"]
    bad_progress = '{"status": "IN_PROGRESS", "output": "\\ud800"}'
    answer = await any_client.post(f"/v2/ep/job-done/w1/{job_id}", content=bad_progress)
    assert_bad_request(answer, "output", "surrogate")
    for lines in ('[{"text": "\\ud800"}]', '[{"text": "x", "stream": "\\udfff"}]'):
        answer = await any_client.post(
            f"/v2/ep/job-log/w1/{job_id}", content=f'{{"lines": {lines}}}'
        )
        assert_bad_request(answer, "lines", "surrogate")
    deep_stream = json.dumps({"lines": [{"text": "x", "stream": nested(500)}]})
    answer = await any_client.post(f"/v2/ep/job-log/w1/{job_id}", content=deep_stream)
    assert_bad_request(answer, "stream")
    assert (await good.status(job_id))["status"] == "IN_PROGRESS"
    await good.finish(jobs, "w1")


async def test_a_refusal_by_a_worker_that_does_not_hold_the_job_changes_nothing(
    any_client: httpx.AsyncClient,
) -> None:
    good = Bystanders(any_client, "ep")
    jobs = await good.one_running("w1")
    job_id = jobs[0]["id"]
    body = f'{{"output": {deep_text(300)}}}'
    other = await any_client.post(f"/v2/ep/job-done/intruder/{job_id}", content=body)
    assert other.status_code == 409, other.text
    stale = await any_client.post(
        f"/v2/ep/job-done/w1/{job_id}", content=body, headers={"X-Pitstop-Attempt": "7"}
    )
    assert stale.status_code == 409, stale.text
    assert (await good.status(job_id))["status"] == "IN_PROGRESS"
    await good.finish(jobs, "w1")


async def test_a_stored_result_that_cannot_be_rendered_still_reads_200(
    any_server: RunningServer, any_client: httpx.AsyncClient
) -> None:
    """Defence in depth: a result written by other means (an older server accepted them)."""
    good = Bystanders(any_client, "ep")
    jobs = await good.one_running("w1")
    job_id = jobs[0]["id"]
    deep = nested(300)
    await any_server.store.append_chunk(job_id, "w1", 1, deep)
    await any_server.store.finish(job_id, "w1", 1, Result(deep, True), time.time(), 60.0)
    for read in ("status", "status-sync", "stream"):
        answer = await any_client.get(f"/v2/ep/{read}/{job_id}")
        assert answer.status_code == 200, (read, answer.text)
        body = answer.json()
        assert body["status"] == "COMPLETED" and "output" not in body, body
        assert "stored result cannot be rendered" in body["error"], body
        assert body.get("stream", []) == []
