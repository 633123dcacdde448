"""The blocking client against a live server with real pitstop worker processes."""

from __future__ import annotations

import threading

import pytest
from tests.client.client_support import HANDLER_EP, STREAM_EP, Workers, eventually, unique

from pitstop.client import Client
from pitstop.errors import JobCancelled, JobFailed, WaitTimeout

pytestmark = pytest.mark.usefixtures("workers")


def test_run_sync_returns_the_output(client: Client) -> None:
    assert client.endpoint(HANDLER_EP).run_sync({"return": {"x": 1}}, timeout=20) == {"x": 1}


def test_run_sync_of_a_failed_job_raises_with_its_error(client: Client) -> None:
    with pytest.raises(JobFailed) as info:
        client.endpoint(HANDLER_EP).run_sync({"raise": "boom-sync"}, timeout=20)
    assert info.value.status == "FAILED"
    assert "boom-sync" in (info.value.error or "")
    assert info.value.job_id


def test_run_then_output_and_status(client: Client) -> None:
    job = client.endpoint(HANDLER_EP).run({"return": [1, 2]})
    assert job.last is not None and job.last["status"] == "IN_QUEUE"
    assert job.output(timeout=20) == [1, 2]
    assert job.status()["status"] == "COMPLETED"


def test_submit_sends_webhook_and_policy(client: Client) -> None:
    ep = client.endpoint(unique("idle"))
    job = ep.run(
        {"a": 1},
        webhook="http://127.0.0.1:9/hook",
        policy={"executionTimeout": 60_000, "ttl": 120_000},
        s3_config={"bucketName": "b"},
    )
    record = client.job_record(job.id)
    assert record["webhook"] == "http://127.0.0.1:9/hook"
    assert record["policy"]["executionTimeout"] == 60_000
    assert record["policy"]["ttl"] == 120_000
    assert record["s3_config"] == {"bucketName": "b"}
    assert record["input"] == {"a": 1}


def test_progress_is_visible_while_running(client: Client) -> None:
    job = client.endpoint(HANDLER_EP).run({"progress": [{"pct": 50}], "sleep": 30})
    try:
        eventually(lambda: job.status().get("output") == {"pct": 50})
        assert job.last is not None and job.last["status"] == "IN_PROGRESS"
    finally:
        job.cancel()


def test_wait_timeout_raises_and_reports_updates(client: Client) -> None:
    job = client.endpoint(HANDLER_EP).run({"sleep": 30})
    seen: list[dict[str, object]] = []
    try:
        with pytest.raises(WaitTimeout):
            job.wait(timeout=0.2, on_update=seen.append)
        assert seen and seen[-1]["status"] in ("IN_QUEUE", "IN_PROGRESS")
    finally:
        job.cancel()


def test_output_of_a_cancelled_job_raises(client: Client) -> None:
    job = client.endpoint(unique("idle")).run({"never": "taken"})
    assert job.cancel()["status"] == "CANCELLED"
    with pytest.raises(JobCancelled):
        job.output(timeout=5)


def test_stream_yields_chunks_in_order(client: Client) -> None:
    job = client.endpoint(STREAM_EP).run({"yield": [1, {"two": 2}, "three"]})
    assert list(job.stream(timeout=20)) == [1, {"two": 2}, "three"]
    assert job.last is not None and job.last["status"] == "COMPLETED"


def test_stream_ends_when_the_running_job_is_cancelled(client: Client) -> None:
    job = client.endpoint(HANDLER_EP).run({"sleep": 30})
    eventually(lambda: job.status()["status"] == "IN_PROGRESS")
    outputs: list[object] = []
    reader = threading.Thread(target=lambda: outputs.extend(job.stream(timeout=20)))
    reader.start()
    job.cancel()
    reader.join(10)
    assert not reader.is_alive(), "stream did not end on CANCELLED"
    assert job.last is not None and job.last["status"] == "CANCELLED"
    assert outputs == []


def test_retry_requeues_a_failed_job_under_the_same_id(client: Client) -> None:
    ep = client.endpoint(HANDLER_EP)
    job = ep.run({"raise": "again"})
    assert job.wait(timeout=20)["status"] == "FAILED"
    answer = job.retry()
    assert answer["id"] == job.id
    assert answer["status"] == "IN_QUEUE"
    final = job.wait(timeout=20)
    assert final["status"] == "FAILED"
    assert "again" in final["error"]


def test_purge_queue_and_health(client: Client) -> None:
    ep = client.endpoint(unique("idle"))
    jobs = [ep.run({"n": n}) for n in range(3)]
    assert ep.health()["jobs"]["inQueue"] == 3
    assert ep.purge_queue()["removed"] == 3
    health = ep.health()
    assert health["jobs"]["inQueue"] == 0
    assert set(health["workers"]) >= {"idle", "running"}
    assert jobs[0].status()["status"] != "IN_QUEUE"


def test_logs_of_a_job(client: Client, workers: Workers) -> None:
    job = client.endpoint(HANDLER_EP).run({"print": "hello from the handler"})
    job.wait(timeout=20)
    texts = [line["text"] for line in client.iter_logs(job.id, follow=True)]
    assert any("hello from the handler" in t for t in texts), workers.output()
    page = job.logs()
    assert page["id"] == job.id
    assert any("hello from the handler" in line["text"] for line in page["lines"])
    last = page["lines"][-1]["seq"]
    assert job.logs(after=last)["lines"] == []


def test_job_listing_routes(client: Client) -> None:
    ep_id = unique("idle")
    job = client.endpoint(ep_id).run({"n": 1})
    listed = client.jobs(ep_id)["jobs"]
    assert [j["id"] for j in listed] == [job.id]
    assert ep_id in client.endpoints()["endpoints"]
