"""Spec §9 behaviours 17-22: generator streaming, aggregation, generator errors, progress.

Against a plain RunPod platform (no ``X-Pitstop-Server`` header) the pitstop worker must send
one ``job-stream`` POST per yield, exactly as RunPod's SDK. Deliberate improvement asserted:
progress updates arrive in order and before the job's final result (RunPod: unordered).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from tests.support.platform import FakePlatform, Recorded, bodies
from tests.support.procs import WorkerProcess

if TYPE_CHECKING:
    from tests.protocol.conftest import SharedWorkers

Run = Callable[..., WorkerProcess]
GENERATORS = ["sync_gen", "async_gen"]


def gen_job(job_id: str, items: list[Any]) -> dict[str, Any]:
    return {"id": job_id, "input": {"yield": items}}


def final(platform: FakePlatform, job_id: str) -> Recorded:
    (rec,) = platform.wait_for(lambda: platform.results(job_id))
    assert rec.target == f"/v2/ep/job-done/pod1/{job_id}?gpu=T&isStream=true"
    return rec


@pytest.mark.parametrize("handler", GENERATORS)
def test_generator_chunks_stream_in_order_then_empty_final(
    shared: SharedWorkers, job_id: str, handler: str
) -> None:
    sh = shared.get(handler)
    sh.platform.add_jobs(gen_job(job_id, ["a", {"k": 2}, "c"]))
    rec = final(sh.platform, job_id)
    assert rec.body == b'{"output": []}'
    chunks = sh.platform.stream_posts(job_id)
    stream_url = f"/v2/ep/job-stream/pod1/{job_id}?gpu=T&isStream=false"
    assert [c.target for c in chunks] == [stream_url] * 3
    assert [c.body for c in chunks] == [
        b'{"output": "a"}',
        b'{"output": {"k": 2}}',
        b'{"output": "c"}',
    ]
    assert all(c.at < rec.at for c in chunks)
    assert all(c.header("X-Request-ID") == job_id for c in chunks)


@pytest.mark.parametrize("handler", GENERATORS)
def test_generator_aggregate_final_output(shared: SharedWorkers, job_id: str, handler: str) -> None:
    sh = shared.get(handler, TEST_AGGREGATE="1")
    sh.platform.add_jobs(gen_job(job_id, ["a", {"k": 2}, "c"]))
    assert final(sh.platform, job_id).json() == {"output": ["a", {"k": 2}, "c"]}
    assert bodies(sh.platform.stream_posts(job_id)) == [
        {"output": "a"},
        {"output": {"k": 2}},
        {"output": "c"},
    ]


@pytest.mark.parametrize("handler", GENERATORS)
def test_generator_exception_becomes_final_error(
    shared: SharedWorkers, job_id: str, handler: str
) -> None:
    sh = shared.get(handler)
    sh.platform.add_jobs(gen_job(job_id, ["a", {"raise": "genboom"}, "never"]))
    body = final(sh.platform, job_id).json()
    assert list(body) == ["error"]
    assert body["error"].startswith("handler: genboom \ntraceback: ")
    assert bodies(sh.platform.stream_posts(job_id)) == [{"output": "a"}]


@pytest.mark.parametrize("handler", GENERATORS)
def test_generator_error_yield_ends_the_stream(
    shared: SharedWorkers, job_id: str, handler: str
) -> None:
    sh = shared.get(handler, TEST_AGGREGATE="1")
    sh.platform.add_jobs(gen_job(job_id, ["a", {"error": "bad thing"}, "later", "more"]))
    assert final(sh.platform, job_id).body == b'{"error": "bad thing"}'
    assert bodies(sh.platform.stream_posts(job_id)) == [{"output": "a"}]


def test_generator_with_refresh_config_adds_stop_pod(platform: FakePlatform, run: Run) -> None:
    worker = run("sync_gen", gen_job("g1", ["a"]), extra={"TEST_REFRESH_WORKER": "1"})
    assert final(platform, "g1").json() == {"output": [], "stopPod": True}
    assert worker.wait(5) == 0


@pytest.mark.parametrize("handler", ["sync_handler", "async_handler"])
def test_progress_updates_arrive_in_order_before_the_final_result(
    shared: SharedWorkers, job_id: str, handler: str
) -> None:
    sh = shared.get(handler)
    updates = [{"pct": 10}, {"pct": 50}, "almost"]
    sh.platform.add_jobs({"id": job_id, "input": {"progress": updates, "return": "done"}})
    (result,) = sh.platform.wait_for(lambda: sh.platform.results(job_id))
    progress = sh.platform.progress(job_id)
    done_url = f"/v2/ep/job-done/pod1/{job_id}?gpu=T&isStream=false"
    assert [p.target for p in progress] == [done_url] * 3
    assert [p.json() for p in progress] == [{"status": "IN_PROGRESS", "output": u} for u in updates]
    assert all(p.at < result.at for p in progress)
    assert all(p.header("Authorization") == "k" for p in progress)
    assert json.loads(result.body) == {"output": "done"}
