"""A worker's environment and the supervisor's ready banner."""

from __future__ import annotations

from pitstop.config import ServerConfig, SupervisorConfig
from pitstop.supervisor.banner import banner_lines
from pitstop.supervisor.process import describe_exit, worker_environment
from pitstop.supervisor.runner import default_store_url, ping_interval_for, reachable_url


def test_worker_environment_keeps_user_choices_and_sets_protocol() -> None:
    base = {"PATH": "/bin", "RUNPOD_SKIP_GPU_CHECK": "false", "RUNPOD_POD_ID": "stale"}
    protocol = {
        "RUNPOD_POD_ID": "abc-w1",
        "RUNPOD_WEBHOOK_GET_JOB": "http://x/v2/ep/job-take/$ID?gpu=none",
    }
    env = worker_environment(
        base, protocol, concurrency=3, ping_interval_ms=100, shutdown_grace=7.5
    )
    assert env["PITSTOP_WORKER_SHUTDOWN_GRACE"] == "7.5"
    assert env["RUNPOD_POD_ID"] == "abc-w1"
    assert env["RUNPOD_SKIP_GPU_CHECK"] == "false", "a user's own setting wins"
    assert env["RUNPOD_SKIP_AUTO_SYSTEM_CHECKS"] == "true"
    assert env["PITSTOP_CONCURRENCY"] == "3"
    assert env["RUNPOD_PING_INTERVAL"] == "100"
    assert env["PATH"] == "/bin"


def test_describe_exit() -> None:
    assert describe_exit(1) == "exit 1"
    assert describe_exit(-9) == "signal SIGKILL"


def test_ping_interval_renews_the_lease_three_times() -> None:
    assert ping_interval_for(30.0) == 10_000
    assert ping_interval_for(0.3) == 100


def test_store_defaults_to_sqlite_in_the_data_dir() -> None:
    sup = SupervisorConfig(handler_path="h.py", data_dir="/tmp/d")
    assert default_store_url(sup, ServerConfig()) == "sqlite:////tmp/d/pitstop.db"
    custom = ServerConfig(store_url="redis://localhost:6379/0")
    assert default_store_url(sup, custom) == "redis://localhost:6379/0"


def test_banner_has_url_curl_and_submit() -> None:
    sup = SupervisorConfig(handler_path="examples/hello.py", endpoint_id="hello")
    text = "\n".join(banner_lines(sup, "http://127.0.0.1:8000", "k1"))
    assert "endpoint: http://127.0.0.1:8000/v2/hello" in text
    assert "curl -s -X POST http://127.0.0.1:8000/v2/hello/runsync" in text
    assert "'Authorization: Bearer k1'" in text
    assert (
        'pitstop submit hello --input \'{"prompt": "hello"}\' --sync'
        " --url http://127.0.0.1:8000 --api-key k1"
    ) in text


def test_workers_reach_a_wildcard_server_on_loopback() -> None:
    assert reachable_url("0.0.0.0", 8000, "http://0.0.0.0:8000") == "http://127.0.0.1:8000"
    assert reachable_url("::", 81, "http://[::]:81") == "http://127.0.0.1:81"
    assert reachable_url("127.0.0.1", 80, "http://127.0.0.1:80") == "http://127.0.0.1:80"
