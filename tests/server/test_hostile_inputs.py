"""Hostile inputs on both stores: whatever /run accepts can be stored, handed out, read back.

Inputs the server could not render again are a 400 naming the field; good jobs of the same
endpoint, submitted before and after, are handed out together at once on their first attempt.
A job stored by other means that cannot be rendered fails alone at take time.
"""

from __future__ import annotations

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

from pitstop.models import NewJob
from pitstop.server.runner import RunningServer

POISON = [
    ("lone-surrogate", b'{"input": "\\ud800"}', ("input", "surrogate")),
    ("nested-surrogate", b'{"input": {"a": ["ok", "\\udfff"]}}', ("input", "surrogate")),
    ("depth-129", json.dumps({"input": nested(LIMIT + 1)}).encode(), ("input", "128")),
    ("depth-300", f'{{"input": {deep_text(300)}}}'.encode(), ("input", "128")),
    ("depth-1100", f'{{"input": {deep_text(1100)}}}'.encode(), ("nests too deeply",)),
    ("depth-100000", deep_text(100_000).encode(), ("nests too deeply",)),
    ("bigint-stdlib-path", b'{"input": [NaN, 18446744073709551616]}', ("input", "64-bit")),
    ("ttl-nan", b'{"input": 1, "policy": {"ttl": NaN}}', ("policy.ttl",)),
    ("ttl-inf", b'{"input": 1, "policy": {"ttl": Infinity}}', ("policy.ttl",)),
    ("ttl-1e300", b'{"input": 1, "policy": {"ttl": 1e300}}', ("policy.ttl",)),
    ("ttl-2p63", b'{"input": 1, "policy": {"ttl": 9223372036854775808}}', ("policy.ttl",)),
    (
        "exec-2p63",
        b'{"input": 1, "policy": {"executionTimeout": 9223372036854775808}}',
        ("policy.executionTimeout",),
    ),
    (
        "exec-2p64",
        b'{"input": 1, "policy": {"executionTimeout": 18446744073709551616}}',
        ("policy.executionTimeout",),
    ),
    (
        "exec-minus-inf",
        b'{"input": 1, "policy": {"executionTimeout": -Infinity}}',
        ("policy.executionTimeout",),
    ),
    ("s3-surrogate", b'{"input": 1, "s3Config": {"k": "\\ud800"}}', ("s3Config", "surrogate")),
    (
        "webhook-surrogate",
        b'{"input": 1, "webhook": "http://example.com/\\ud800"}',
        ("webhook", "surrogate"),
    ),
]


async def test_poison_submits_are_refused_and_good_jobs_are_served(
    any_client: httpx.AsyncClient,
) -> None:
    for name, body, words in POISON:  # one endpoint per case: its bystanders see only it
        good = Bystanders(any_client, f"ep-{name}")
        await good.submit()
        answer = await any_client.post(f"/v2/{good.ep}/run", content=body)
        assert_bad_request(answer, *words)
        await good.submit()
        await good.assert_served()


async def test_unknown_top_level_fields_are_ignored_even_unrenderable_ones(
    any_client: httpx.AsyncClient,
) -> None:
    good = Bystanders(any_client, "ep")
    body = b'{"input": NaN, "extra": [18446744073709551616, "\\ud800"]}'
    answer = await any_client.post("/v2/ep/run", content=body)
    assert answer.status_code == 200, answer.text
    good.ids.append(answer.json()["id"])
    await good.submit()
    await good.assert_served()


async def test_runsync_refuses_poison_like_run(any_client: httpx.AsyncClient) -> None:
    answer = await any_client.post("/v2/ep/runsync", content=b'{"input": "\\ud800"}')
    assert_bad_request(answer, "input", "surrogate")


async def test_the_limits_themselves_are_accepted_and_round_trip(
    any_client: httpx.AsyncClient,
) -> None:
    value = {"deep": nested(LIMIT - 1), "big": 2**64 - 1, "small": -(2**63), "nan": None}
    policy = {"ttl": 2**53 - 1, "executionTimeout": 2**53 - 1}
    good = Bystanders(any_client, "ep")
    answer = await any_client.post("/v2/ep/run", json={"input": value, "policy": policy})
    assert answer.status_code == 200, answer.text
    good.ids.append(answer.json()["id"])
    jobs = await good.take_batch()
    assert jobs[0]["input"] == value
    assert jobs[0]["executionTimeout"] == 2**53 - 1
    await good.finish(jobs)


async def test_nan_in_input_is_accepted_and_handed_out_as_null(
    any_client: httpx.AsyncClient,
) -> None:
    good = Bystanders(any_client, "ep")
    answer = await any_client.post("/v2/ep/run", content=b'{"input": [NaN, Infinity, 1]}')
    good.ids.append(answer.json()["id"])
    jobs = await good.take_batch()
    assert jobs[0]["input"] == [None, None, 1]
    await good.finish(jobs)


QUERIES = [
    ("status/{id}?ttl=inf", ("ttl", "finite")),
    ("status/{id}?ttl=nan", ("ttl",)),
    ("status/{id}?ttl=abc", ("ttl",)),
    ("status-sync/{id}?wait=inf", ("wait", "finite")),
    ("stream/{id}?wait=-inf", ("wait", "finite")),
]


async def test_non_finite_query_numbers_are_refused(any_client: httpx.AsyncClient) -> None:
    good = Bystanders(any_client, "ep")
    await good.submit(1)
    for path, words in QUERIES:
        answer = await any_client.get(f"/v2/ep/{path.format(id=good.ids[0])}")
        assert_bad_request(answer, *words)
    runsync = await any_client.post("/v2/ep/runsync?wait=inf", json={"input": 1})
    assert_bad_request(runsync, "wait", "finite")
    await good.assert_served()


async def test_huge_status_ttl_is_clamped_not_a_server_error(
    any_client: httpx.AsyncClient,
) -> None:
    good = Bystanders(any_client, "ep")
    await good.finish(await good.one_running())
    answer = await any_client.get(f"/v2/ep/status/{good.ids[0]}?ttl=1e300")
    assert answer.status_code == 200, answer.text
    record = (await any_client.get(f"/pitstop/v1/jobs/{good.ids[0]}")).json()
    ten_years = 10 * 365 * 86400
    assert ten_years - 60 < record["expires_at"] - time.time() <= ten_years


async def test_bad_attempt_headers_are_refused_and_change_nothing(
    any_client: httpx.AsyncClient,
) -> None:
    good = Bystanders(any_client, "ep")
    jobs = await good.one_running()
    job_id = jobs[0]["id"]
    for attempt in (str(2**63), "-1", "1e3", "x"):
        for route in ("job-done", "job-stream", "job-log"):
            answer = await any_client.post(
                f"/v2/ep/{route}/good-worker/{job_id}",
                json={"output": 1, "lines": [{"text": "x"}]},
                headers={"X-Pitstop-Attempt": attempt},
            )
            assert_bad_request(answer, "X-Pitstop-Attempt")
    assert (await good.status(job_id))["status"] == "IN_PROGRESS"
    assert (await any_client.get(f"/v2/ep/stream/{job_id}")).json()["stream"] == []
    await good.finish(jobs)


async def test_a_stored_job_that_cannot_be_handed_out_fails_alone(
    any_server: RunningServer, any_client: httpx.AsyncClient
) -> None:
    """Defence in depth: a record written by other means (an older server) that cannot be
    rendered is failed with the reason at take time; the rest of the batch is delivered."""
    good = Bystanders(any_client, "ep")
    await good.submit()
    for job_id, value in (("poison-surrogate", "\ud800"), ("poison-deep", nested(300))):
        new = NewJob(id=job_id, endpoint="ep", input=value, created_at=time.time())
        await any_server.store.enqueue(new)
    await good.submit()
    await good.assert_served()
    for job_id in ("poison-surrogate", "poison-deep"):
        status = await good.status(job_id)
        assert status["status"] == "FAILED", status
        assert "cannot hand this job to a worker" in status["error"], status
    empty = await any_client.get("/v2/ep/job-take/good-worker")
    assert empty.status_code == 204
