"""The console commands (jobs, timeline, workers) against a live server with real workers."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner, Result
from tests.client.client_support import CLIENT_KEY, HANDLER_EP, ThreadServer, unique

from pitstop.cli import main
from pitstop.client import Client

pytestmark = pytest.mark.usefixtures("workers")


def run(live: ThreadServer, *args: str) -> Result:
    prefix = ["--url", live.url, "--api-key", CLIENT_KEY]
    return CliRunner().invoke(main, [*prefix, *args], catch_exceptions=False)


def doc(result: Result) -> Any:
    return json.loads(result.stdout)


def test_jobs_lists_newest_first_with_a_status_filter_and_paging(
    live: ThreadServer, client: Client
) -> None:
    ep = unique("queued")  # no worker serves it: the jobs stay queued
    ids = [client.endpoint(ep).run({"n": i}).id for i in range(3)]
    client.endpoint(ep).cancel(ids[0])
    listed = run(live, "jobs", ep)
    assert listed.exit_code == 0, listed.output
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["ID", "STATUS", "SUBMITTED", "DELAY", "EXECUTION", "WORKER"]
    assert [line.split()[0] for line in lines[1:]] == ids[::-1]
    queued = doc(run(live, "jobs", ep, "--status", "in_queue", "--limit", "1", "--json"))
    assert [j["id"] for j in queued["jobs"]] == [ids[2]] and queued["older"] is not None
    older = doc(
        run(live, "jobs", ep, "--status", "IN_QUEUE", "--before", str(queued["older"]), "--json")
    )
    assert [j["id"] for j in older["jobs"]] == [ids[1]]
    assert "(more: --before" in run(live, "jobs", ep, "--limit", "1").stdout


def test_timeline_shows_each_step_of_a_job(live: ThreadServer, client: Client) -> None:
    job = client.endpoint(HANDLER_EP).run({"return": "ok"})
    job.wait(timeout=20)
    result = run(live, "timeline", job.id)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"{job.id} COMPLETED")
    assert "Submitted" in result.stdout and "Finished COMPLETED" in result.stdout
    events = doc(run(live, "timeline", job.id, "--json"))["events"]
    assert [e["kind"] for e in events][:2] == ["submitted", "taken"]
    missing = run(live, "timeline", "no-such-job")
    assert missing.exit_code == 3


def test_workers_lists_the_live_workers(live: ThreadServer, client: Client) -> None:
    client.endpoint(HANDLER_EP).run({"return": 1}).wait(timeout=20)
    result = run(live, "workers", HANDLER_EP)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].split()[:3] == ["ID", "ENDPOINT", "STATE"]
    rows = doc(run(live, "workers", "--json"))["workers"]
    assert any(w["endpoint"] == HANDLER_EP and w["state"] in ("idle", "running") for w in rows)
