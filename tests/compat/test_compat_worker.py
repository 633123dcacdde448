"""Differential compatibility suite: the same worker files under the official SDK and pitstop.

Each scenario runs one handler file from ``tests/handlers`` under ``runpod==1.12.0`` (the
interpreter from ``PITSTOP_OFFICIAL_PYTHON`` or ``.venv-runpod``) and under pitstop, each
against an identically scripted recording platform, and asserts that the normalised request
sequences match (see ``tests/compat/wire.py`` for what is normalised). Where pitstop
deliberately differs, the test asserts both sides of the difference and names it in
``DELIBERATE``, the one table of intended differences. If the official SDK is missing the
tests fail (never skip): run ``scripts/official-sdk``.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from tests.compat.wire import Run, Scenario, normal, raw_equal, run_both
from tests.support.platform import Reply
from tests.support.procs import OFFICIAL, PITSTOP, official_python

pytestmark = [pytest.mark.compat, pytest.mark.timeout(120)]

DELIBERATE: dict[str, str] = {
    "x-request-id-per-request": (
        "RunPod sets X-Request-ID on the shared session, so every later GET (take, stop) "
        "carries the last job's id; pitstop sends it only on that job's own POSTs."
    ),
    "unserialisable-output-fails": (
        "RunPod logs and posts nothing, so the job is lost until its timeout; pitstop posts "
        "a FAILED result naming the type."
    ),
    "refresh-key-exits": (
        "A returned refresh_worker key: RunPod adds stopPod and keeps taking jobs; pitstop "
        "also exits 0 after delivering, so a supervisor restarts a clean process."
    ),
    "take-errors-back-off": (
        "RunPod retries job-take at once after 5xx/4xx/connection errors (a hot loop); "
        "pitstop backs off (bounded) and prints at most one such ERROR line per second "
        "(with a count of those suppressed). Only the number, timing and logging of takes "
        "differ."
    ),
    "progress-before-final": (
        "RunPod sends each progress update from a new thread, unordered, possibly after "
        "the final result; pitstop sends them in order, before the final result."
    ),
    "result-retry-on-connection-error": (
        "RunPod retries a result POST only on HTTP 5xx; a dropped connection loses the "
        "result. pitstop retries connection errors too (same attempt budget)."
    ),
    "refused-result-reported-failed": (
        "A result answered 400: RunPod drops it (the job later reads COMPLETED without output); "
        "pitstop does not resend it either, but posts one small FAILED result naming the "
        "server's reason."
    ),
    "local-generator-drained": (
        "--test_input with a generator handler: RunPod reports the generator object's repr; "
        "pitstop runs it and reports the outputs."
    ),
    "local-debugger-output": (
        "--test_input with --rp_debugger: RunPod's local mode ignores the flag; pitstop adds "
        "the rp_debugger timings to the output, as production does."
    ),
    "local-progress-not-sent": (
        "progress_update in local test mode: RunPod's still POSTs each update to the "
        "placeholder URL JOB_DONE_URL from a thread, logging 'Failed to return job results.' "
        "at random points; pitstop only logs the 'Sending Progress Update' line."
    ),
    "upload-fallback-warning": (
        "Importing RunPod's rp_upload configures the root logger (logging.basicConfig, INFO, "
        "stderr) and its no-bucket warning goes there; pitstop configures no logging and "
        "prints the warning (naming the boto3 extra) as a WARN line on stdout."
    ),
    "ssrf-message-hint": (
        "A download refused as private (SSRFError) says which variable allows it "
        "(RUNPOD_ALLOW_PRIVATE_DOWNLOAD_URLS); RunPod's message stops before that."
    ),
    "local-api-generator-runsync": (
        "--rp_serve_api /runsync of a generator handler without return_aggregate_stream: "
        "RunPod's local API always collects the yielded chunks into the output; pitstop's "
        "local API is its job server, which answers as RunPod's platform does: the output "
        "is [] (the chunks are served by /stream)."
    ),
    "validator-skip-warns": (
        "rp_validator skips the constraints of a value that has the default's type (RunPod's "
        "answer, kept); pitstop also logs one WARN line naming the key when the skipped "
        "constraint fails, and PITSTOP_VALIDATION=strict enforces it."
    ),
    "volume-cache-keeps-newer-local": (
        "VolumeCache.hydrate: RunPod's overwrites a local file modified after the volume's "
        "copy when their sizes differ (losing the local edit); pitstop never overwrites a "
        "newer local file."
    ),
    "validator-schema-kept": (
        "RunPod's validate stores decoded JSON-string rules back into the caller's schema; "
        "pitstop decodes into a copy and never modifies the schema (same answers)."
    ),
}


def deliberate(key: str) -> str:
    """Name the deliberate difference a test is about to assert (a key of ``DELIBERATE``)."""
    assert key in DELIBERATE, key
    return DELIBERATE[key]


@pytest.fixture(scope="module", autouse=True)
def official_sdk() -> str:
    """The official SDK interpreter; a missing one fails the suite (never skips)."""
    return official_python()


def job(job_id: str, spec: Any) -> dict[str, Any]:
    return {"id": job_id, "input": spec}


def both(scenario: Scenario, tmp_path: Path) -> tuple[Run, Run]:
    runs = run_both(scenario, tmp_path)
    return runs[OFFICIAL], runs[PITSTOP]


def assert_same_results(off: Run, pit: Run, job_ids: list[str], *, raw: bool = True) -> None:
    """Same final job-done POSTs (URL, headers, body) per job; raw bytes when ``raw``."""
    for job_id in job_ids:
        a, b = off.results(job_id), pit.results(job_id)
        assert [normal(r) for r in a] == [normal(r) for r in b], job_id
        if raw:
            assert raw_equal(a, b), (job_id, [r.body for r in a], [r.body for r in b])


def assert_same_polls(off: Run, pit: Run) -> None:
    """Same first job-take and job-stop requests, and the same set of distinct ones."""
    for route in ("take", "stop"):
        a, b = off.route(route), pit.route(route)
        assert a and b, route
        assert normal(a[0]) == normal(b[0]), route
        distinct_a = {json.dumps(normal(r), default=str) for r in a}
        distinct_b = {json.dumps(normal(r), default=str) for r in b}
        assert distinct_a == distinct_b, route


def assert_x_request_id_differs_only_on_gets(off: Run, pit: Run) -> None:
    deliberate("x-request-id-per-request")
    sticky = [r for r in off.requests if r.method == "GET" and r.header("x-request-id")]
    assert sticky, "expected RunPod's sticky X-Request-ID on a later GET"
    assert not [r for r in pit.requests if r.method == "GET" and r.header("x-request-id")]


def test_result_shapes_headers_and_polls(tmp_path: Path) -> None:
    returns: list[Any] = [
        {"x": 1, "s": "hello ü"},
        None,
        {},
        {"error": "custom err", "extra": 1},
        {"error": "bad"},
        {"error": ""},
        {"output": 5},
        [1, "two", 3.5],
    ]
    jobs = [job(f"r{i}", {"return": value}) for i, value in enumerate(returns)]
    jobs.append(job("raise", {"raise": "boom"}))
    ids = [j["id"] for j in jobs]
    script = {"done": [Reply(400, {"error": "bad"})]}  # r0's result: never retried
    scenario = Scenario("sync_handler", jobs, script=script, await_results=ids, as_list=True)
    off, pit = both(scenario, tmp_path)
    assert off.exit_code == pit.exit_code == 0
    deliberate("refused-result-reported-failed")
    refused, reported = pit.results("r0")
    assert [r.body for r in off.results("r0")] == [refused.body]
    assert reported.json() == {"error": "Job result refused by the server (HTTP 400): bad"}
    assert_same_results(off, pit, ids[1:-1])
    assert_same_results(off, pit, ["raise"], raw=False)
    assert_same_polls(off, pit)
    assert normal(off.route("ping")[0]) == normal(pit.route("ping")[0])
    assert_x_request_id_differs_only_on_gets(off, pit)


def test_refresh_worker_config_with_raising_handler_ends_both(tmp_path: Path) -> None:
    scenario = Scenario(
        "sync_handler", [job("j1", {"raise": "boom"})], env={"TEST_REFRESH_WORKER": "1"}
    )
    off, pit = both(scenario, tmp_path)
    assert off.exit_code == pit.exit_code == 0
    assert_same_results(off, pit, ["j1"], raw=False)
    assert off.results("j1")[0].json()["stopPod"] is True
    for run in (off, pit):
        done = run.results("j1")[0].at
        assert not [t for t in run.route("take") if t.at > done], run.runtime


@pytest.mark.parametrize("handler", ["sync_gen", "async_gen"])
def test_generators_stream_the_same_chunks(tmp_path: Path, handler: str) -> None:
    jobs = [
        job("g1", {"yield": ["a", {"k": 2}, "c ü"]}),
        job("g2", {"yield": ["a", {"raise": "genboom"}, "never"]}),
        job("g3", {"yield": ["a", {"error": "bad thing"}, "later"]}),
    ]
    ids = [j["id"] for j in jobs]
    off, pit = both(Scenario(handler, jobs, await_results=ids, as_list=True), tmp_path)
    assert off.exit_code == pit.exit_code == 0
    for job_id in ids:
        a, b = off.streams(job_id), pit.streams(job_id)
        assert [normal(r) for r in a] == [normal(r) for r in b], job_id
        assert raw_equal(a, b), job_id
    assert_same_results(off, pit, ["g1", "g3"])
    assert_same_results(off, pit, ["g2"], raw=False)


def test_generator_aggregation(tmp_path: Path) -> None:
    jobs = [job("g1", {"yield": ["a", {"k": 2}, 3]}), job("g2", {"yield": ["a", {"error": "x"}]})]
    scenario = Scenario("async_gen", jobs, env={"TEST_AGGREGATE": "1"}, await_results=["g1", "g2"])
    off, pit = both(scenario, tmp_path)
    assert_same_results(off, pit, ["g1", "g2"])
    assert [r.body for r in off.streams("g1")] == [r.body for r in pit.streams("g1")]


def test_progress_updates_and_unserialisable_output(tmp_path: Path) -> None:
    updates = [{"pct": 10}, {"pct": 50}, "almost"]
    jobs = [
        job("p1", {"progress": updates, "return": "done"}),
        job("u1", {"unserialisable": True}),
        job("u2", {"ok": 1}),
    ]
    scenario = Scenario("async_handler", jobs, await_results=["p1", "u2"], as_list=True)
    off, pit = both(scenario, tmp_path)
    assert off.exit_code == pit.exit_code == 0
    assert_same_results(off, pit, ["p1", "u2"])
    expected = Counter(
        json.dumps({"status": "IN_PROGRESS", "output": u}, ensure_ascii=False).encode()
        for u in updates
    )
    # RunPod's updates are unordered and may land after the result (or after the SIGTERM).
    assert Counter(r.body for r in off.progress("p1")) <= expected
    assert [r.body for r in pit.progress("p1")] == [
        json.dumps({"status": "IN_PROGRESS", "output": u}).encode() for u in updates
    ]
    assert off.progress("p1"), "RunPod sent no progress update before its SIGTERM"
    first_off, first_pit = normal(off.progress("p1")[0]), normal(pit.progress("p1")[0])
    assert {**first_off, "body": None} == {**first_pit, "body": None}  # URL and headers
    deliberate("progress-before-final")
    final = pit.results("p1")[0].at
    assert all(r.at < final for r in pit.progress("p1"))

    deliberate("unserialisable-output-fails")
    assert off.results("u1") == []
    assert "Error while returning job result." in off.stdout
    (failed,) = pit.results("u1")
    assert set(failed.json()) == {"error"}


def test_returned_refresh_key(tmp_path: Path) -> None:
    jobs = [job("k1", {"return": {"a": 1, "refresh_worker": True}}), job("k2", {"b": 2})]
    scenario = Scenario("sync_handler", jobs, await_results=["k1"])
    off, pit = both(scenario, tmp_path)
    assert_same_results(off, pit, ["k1"])
    assert off.results("k1")[0].json() == {"output": {"a": 1}, "stopPod": True}
    deliberate("refresh-key-exits")
    assert pit.exit_code == 0
    assert pit.results("k2") == []
    done = pit.results("k1")[0].at
    assert not [t for t in pit.route("take") if t.at > done]


def test_sys_exit_in_handler(tmp_path: Path) -> None:
    off, pit = both(Scenario("sync_handler", [job("e1", {"exit": 3})]), tmp_path)
    assert off.exit_code == pit.exit_code == 3
    assert off.results("e1") == pit.results("e1") == []


def test_batch_take_with_concurrency_modifier(tmp_path: Path) -> None:
    jobs = [job(f"b{i}", {"sleep": 0.3, "n": i}) for i in range(3)]
    scenario = Scenario(
        "async_handler",
        jobs,
        env={"TEST_CONCURRENCY": "3"},
        await_results=["b0", "b1", "b2"],
    )
    off, pit = both(scenario, tmp_path)
    assert normal(off.route("take")[0]) == normal(pit.route("take")[0])
    assert off.route("take")[0].path == "/v2/ep/job-take-batch/pod1"
    assert_same_results(off, pit, ["b0", "b1", "b2"])


def test_stop_channel_cancels_a_running_job(tmp_path: Path) -> None:
    jobs = [job("a1", {"sleep": 20, "mark": True}), job("a2", {"sleep": 1.5, "mark": True})]
    scenario = Scenario(
        "async_handler",
        jobs,
        env={"TEST_CONCURRENCY": "2"},
        stop_after_start=["a1"],
        await_results=["a2"],
    )
    off, pit = both(scenario, tmp_path)
    assert off.exit_code == pit.exit_code == 0
    for run in (off, pit):
        assert "CANCELLED a1" in run.stdout, run.runtime
        assert run.results("a1") == [], run.runtime
    assert_same_results(off, pit, ["a2"])


def test_take_replies_without_jobs_and_errors(tmp_path: Path) -> None:
    script = {
        "take": [
            Reply(500, {"error": "x"}),
            Reply(200, {"input": {}}),
            Reply(200, b"{not json", content_type="application/json"),
            Reply(200, b"hi", content_type="text/plain"),
            Reply(404, {"error": "x"}),
        ]
    }
    scenario = Scenario("sync_handler", [job("t1", 1)], script=script, await_results=["t1"])
    off, pit = both(scenario, tmp_path)
    assert off.exit_code == pit.exit_code == 0
    assert_same_results(off, pit, ["t1"])
    assert "Job has missing field(s): id or input." in off.stdout
    deliberate("take-errors-back-off")
    assert_same_polls(off, pit)
    off_errors = off.stdout.count("Failed to get job.")
    pit_errors = pit.stdout.count("Failed to get job.")
    assert off_errors == 3  # 500, the job without an id, 404
    assert 1 <= pit_errors <= off_errors


def test_result_post_retries(tmp_path: Path) -> None:
    script = {("done", "d1"): [Reply(500)] * 3, ("done", "d2"): [Reply(drop=True)]}
    jobs = [job("d1", 1), job("d2", 2), job("d3", 3)]
    scenario = Scenario(
        "sync_handler",
        jobs,
        env={"PITSTOP_WORKER_RESULT_ATTEMPTS": "3"},
        job_script=script,
        await_results=["d3"],
        as_list=True,
    )
    off, pit = both(scenario, tmp_path)
    assert [r.status for r in off.results("d1")] == [r.status for r in pit.results("d1")]
    assert [r.status for r in pit.results("d1")] == [500, 500, 500]
    assert raw_equal(off.results("d1"), pit.results("d1"))
    for run in (off, pit):
        assert "Failed to return job results." in run.stdout, run.runtime
    assert_same_results(off, pit, ["d3"])
    deliberate("result-retry-on-connection-error")
    assert [r.status for r in off.results("d2")] == [None]
    assert [r.status for r in pit.results("d2")] == [None, 200]


def test_fitness_failure(tmp_path: Path) -> None:
    off, pit = both(Scenario("fitness_fail"), tmp_path)
    assert off.exit_code == pit.exit_code == 1
    assert [normal(r) for r in off.route("ping")] == [normal(r) for r in pit.route("ping")]
    assert off.route("take") == pit.route("take") == []
    for run in (off, pit):
        assert "Fitness check failed: check_fails | RuntimeError: x" in run.stdout
        assert "SECOND CHECK RAN" not in run.stdout


@pytest.mark.parametrize("test_input", ['{"id": "x", "input": {"a": [1, "ü"]}}', '{"input": null}'])
def test_local_test_input(tmp_path: Path, test_input: str) -> None:
    scenario = Scenario("echo", args=["--test_input", test_input], local=True)
    off, pit = both(scenario, tmp_path)
    assert off.exit_code == pit.exit_code
    for marker in ("Job result:", "completed successfully.", "Job has no input parameter."):
        a = [ln for ln in off.stdout.splitlines() if marker in ln]
        b = [ln for ln in pit.stdout.splitlines() if marker in ln]
        assert a == b, marker
    assert off.requests == pit.requests == []


def test_local_generator(tmp_path: Path) -> None:
    scenario = Scenario("sync_gen", args=["--test_input", '{"input": {"yield": [1]}}'], local=True)
    off, pit = both(scenario, tmp_path)
    assert off.exit_code == pit.exit_code == 0
    deliberate("local-generator-drained")
    off_line = next(ln for ln in off.stdout.splitlines() if "Job result:" in ln)
    pit_line = next(ln for ln in pit.stdout.splitlines() if "Job result:" in ln)
    assert "generator object" in off_line
    assert "[1]" in pit_line


def test_every_deliberate_difference_is_asserted() -> None:
    """The table has no stale rows: each key is asserted by a test of tests/compat (directly,
    or through a corpus case naming it)."""
    source = "".join(p.read_text() for p in Path(__file__).parent.glob("*.py"))
    stale = [
        k
        for k in DELIBERATE
        if f'deliberate("{k}")' not in source and f'deliberate="{k}"' not in source
    ]
    assert stale == []
