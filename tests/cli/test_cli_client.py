"""The client commands (submit, status, cancel, retry, health, logs, purge) against a live
server: readable output, ``--json`` documents and the documented exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from tests.client.client_support import (
    CLIENT_KEY,
    HANDLER_EP,
    STREAM_EP,
    ThreadServer,
    eventually,
    unique,
)

from pitstop.cli import main
from pitstop.client import Client

pytestmark = pytest.mark.usefixtures("workers")


def run(live: ThreadServer, *args: str, key: str | None = CLIENT_KEY, **kw: Any) -> Result:
    """``pitstop --url URL --api-key KEY ARGS...`` in-process."""
    prefix = ["--url", live.url] + (["--api-key", key] if key else [])
    return CliRunner().invoke(main, [*prefix, *args], catch_exceptions=False, **kw)


def doc(result: Result) -> Any:
    """The single JSON document a ``--json`` command printed."""
    return json.loads(result.stdout)


def test_submit_prints_the_id_then_status_shows_the_output(live: ThreadServer) -> None:
    submitted = run(live, "submit", HANDLER_EP, "--input", '{"return": {"v": 5}}')
    assert submitted.exit_code == 0, submitted.output
    job_id, state = submitted.stdout.split()
    assert state == "IN_QUEUE"

    def completed() -> Result | None:
        result = run(live, "status", HANDLER_EP, job_id)
        return result if "COMPLETED" in result.stdout else None

    result = eventually(completed)
    assert result.exit_code == 0
    assert '"v": 5' in result.stdout


def test_submit_sync_prints_the_output(live: ThreadServer) -> None:
    result = run(live, "submit", HANDLER_EP, "--input", '{"return": "hello"}', "--sync")
    assert result.exit_code == 0, result.output
    assert result.stdout == "hello\n"


def test_submit_sync_failure_exits_1_with_the_error(live: ThreadServer) -> None:
    result = run(live, "submit", HANDLER_EP, "--input", '{"raise": "cli-boom"}', "--sync")
    assert result.exit_code == 1
    assert "FAILED" in result.stderr
    assert "cli-boom" in result.stderr


def test_submit_sync_json_is_one_document(live: ThreadServer) -> None:
    result = run(live, "--json", "submit", HANDLER_EP, "--input", '{"return": [1]}', "--sync")
    assert result.exit_code == 0
    body = doc(result)
    assert body["status"] == "COMPLETED"
    assert body["output"] == [1]


def test_submit_stream_prints_chunks_as_lines(live: ThreadServer) -> None:
    result = run(live, "submit", STREAM_EP, "--input", '{"yield": ["a", {"b": 2}]}', "--stream")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["a", '{"b": 2}']
    as_json = run(live, "submit", STREAM_EP, "--input", '{"yield": [1, 2]}', "--stream", "--json")
    assert doc(as_json)["stream"] == [1, 2]
    assert doc(as_json)["status"] == "COMPLETED"


def test_submit_input_from_a_file_with_webhook_and_policy(
    live: ThreadServer, tmp_path: Path, client: Client
) -> None:
    source = tmp_path / "input.json"
    source.write_text('{"from": "file"}')
    ep = unique("idle")
    result = run(
        live,
        "submit",
        ep,
        "--input",
        f"@{source}",
        "--webhook",
        "http://127.0.0.1:9/h",
        "--policy",
        '{"ttl": 60000}',
        "--json",
    )
    assert result.exit_code == 0, result.output
    record = client.job_record(doc(result)["id"])
    assert record["input"] == {"from": "file"}
    assert record["webhook"] == "http://127.0.0.1:9/h"
    assert record["policy"]["ttl"] == 60000


def test_usage_errors_exit_2(live: ThreadServer) -> None:
    assert run(live, "submit", "ep", "--input", "{not json").exit_code == 2
    assert run(live, "submit", "ep", "--input", "@/no/such/file").exit_code == 2
    assert run(live, "submit", "ep", "--input", "1", "--sync", "--stream").exit_code == 2
    assert run(live, "status", "ep").exit_code == 2


def test_wait_timeout_exits_4(live: ThreadServer, client: Client) -> None:
    ep = unique("idle")
    result = run(live, "submit", ep, "--input", "{}", "--wait", "0.1")
    assert result.exit_code == 4
    assert "gave up waiting" in result.stderr
    client.endpoint(ep).purge_queue()


def test_api_errors_exit_3(live: ThreadServer) -> None:
    missing = run(live, "--json", "status", "ep", "no-such-job")
    assert missing.exit_code == 3
    assert doc(missing)["error"]["code"] == "not_found"
    assert doc(missing)["error"]["status"] == 404
    unauthorized = run(live, "health", "ep", key="wrong")
    assert unauthorized.exit_code == 3
    assert "error:" in unauthorized.stderr
    refused = CliRunner().invoke(main, ["--url", "http://127.0.0.1:9", "health", "ep"])
    assert refused.exit_code == 3


def test_cancel_then_status_exits_1(live: ThreadServer, client: Client) -> None:
    job = client.endpoint(unique("idle")).run({"x": 1})
    result = run(live, "cancel", job.endpoint.id, job.id)
    assert result.exit_code == 0
    assert result.stdout.split() == [job.id, "CANCELLED"]
    status = run(live, "status", job.endpoint.id, job.id)
    assert status.exit_code == 1
    assert "CANCELLED" in status.stdout


def test_retry_requeues_a_failed_job(live: ThreadServer, client: Client) -> None:
    job = client.endpoint(HANDLER_EP).run({"raise": "cli-retry"})
    job.wait(timeout=20)
    result = run(live, "--json", "retry", HANDLER_EP, job.id)
    assert result.exit_code == 0, result.output
    assert doc(result) == {"id": job.id, "status": "IN_QUEUE"}
    assert job.wait(timeout=20)["status"] == "FAILED"


def test_health_and_purge(live: ThreadServer, client: Client) -> None:
    ep = client.endpoint(unique("idle"))
    ep.run({"n": 1})
    ep.run({"n": 2})
    health = run(live, "health", ep.id)
    assert health.exit_code == 0
    assert "inQueue=2" in health.stdout
    assert health.stdout.splitlines()[1].startswith("workers:")
    assert doc(run(live, "health", ep.id, "--json"))["jobs"]["inQueue"] == 2
    purged = run(live, "purge", ep.id)
    assert purged.exit_code == 0
    assert purged.stdout.strip() == "removed 2 queued job(s)"


def test_logs_follow_prints_the_handler_output(live: ThreadServer, client: Client) -> None:
    job = client.endpoint(HANDLER_EP).run({"print": "cli log line", "sleep": 0.2})
    result = run(live, "logs", job.id, "--follow")
    assert result.exit_code == 0, result.output
    assert "cli log line" in result.stdout
    as_json = run(live, "logs", job.id, "--json")
    assert any("cli log line" in line["text"] for line in doc(as_json)["lines"])


def test_environment_and_options_after_the_command(live: ThreadServer, client: Client) -> None:
    ep = unique("idle")
    env = {"PITSTOP_URL": live.url, "PITSTOP_API_KEY": CLIENT_KEY}
    result = CliRunner().invoke(main, ["health", ep], env=env)
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(
        main, ["health", ep, "--url", live.url, "--api-key", CLIENT_KEY, "--json"]
    )
    assert result.exit_code == 0, result.output
    assert doc(result)["jobs"]["inQueue"] == 0


def test_a_url_without_scheme_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["--url", "127.0.0.1:8000", "health", "ep"])
    assert result.exit_code == 2
    assert "http://" in result.stderr


def test_submit_with_idempotency_key_twice_is_one_job(live: ThreadServer, client: Client) -> None:
    ep = unique("idle")
    args = ("submit", ep, "--input", '{"n": 1}', "--idempotency-key", f"cli-{ep}")
    first, again = run(live, *args), run(live, *args)
    assert first.exit_code == 0 and again.exit_code == 0, first.output + again.output
    assert first.stdout.split()[0] == again.stdout.split()[0]
    assert client.endpoint(ep).health()["jobs"]["inQueue"] == 1


def test_submit_stream_follows_server_sent_events(live: ThreadServer) -> None:
    from tests.client.proxy import Proxy

    proxy = Proxy(live.url).start()
    try:
        args = ["--url", proxy.url, "--api-key", CLIENT_KEY, "submit", STREAM_EP, "--stream"]
        result = CliRunner().invoke(main, [*args, "--input", '{"yield": ["x", "y"]}'])
        assert result.exit_code == 0, result.output
        assert result.stdout == "x\ny\n"
        streams = proxy.requests("GET", "/stream/")
        assert streams and all("accept: text/event-stream" in h for h in streams)
        assert proxy.requests("POST", "/run ")[0].count("idempotency-key:") == 1
    finally:
        proxy.stop()
