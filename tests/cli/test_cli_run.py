"""``pitstop server`` / ``serve`` / ``worker``: flags map 1:1 onto the config objects, the
help stays import-light, and a real ``pitstop server`` process serves the client commands."""

from __future__ import annotations

import dataclasses
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from tests.client.client_support import eventually

from pitstop.cli import SERVER_FLAGS, main, server_config
from pitstop.cli.output import ProgressLine
from pitstop.config import ServerConfig, SupervisorConfig

REPO = Path(__file__).resolve().parents[2]
PITSTOP = str(REPO / ".venv" / "bin" / "pitstop")
HANDLER = str(REPO / "tests" / "handlers" / "async_handler.py")


def test_every_server_config_field_has_exactly_one_flag() -> None:
    fields = [f.name for f in dataclasses.fields(ServerConfig)]
    assert sorted(flag.field for flag in SERVER_FLAGS) == sorted(fields)
    assert len({flag.name for flag in SERVER_FLAGS}) == len(SERVER_FLAGS)


def test_flags_override_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PITSTOP_LEASE", "7")
    monkeypatch.setenv("PITSTOP_MAX_QUEUE", "9")
    cfg = server_config(
        {"port": 0, "client_keys": ("a", "b"), "max_queue": 3, "allow_public_without_keys": True}
    )
    assert cfg.port == 0
    assert cfg.client_keys == ("a", "b")
    assert cfg.max_queue == 3
    assert cfg.lease_s == 7.0
    assert cfg.allow_public_without_keys is True
    assert cfg.worker_keys == ()


def test_serve_and_worker_build_the_configs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import pitstop.supervisor

    seen: dict[str, Any] = {}

    def fake_serve(sups: list[SupervisorConfig], srv: ServerConfig) -> int:
        (sup,) = sups
        seen.update(sup=sup, srv=srv)
        return 7

    def fake_workers(sup: SupervisorConfig) -> int:
        seen.update(workers=sup)
        return 0

    monkeypatch.setattr(pitstop.supervisor, "serve", fake_serve)
    monkeypatch.setattr(pitstop.supervisor, "run_workers", fake_workers)
    result = CliRunner().invoke(
        main,
        ["serve", HANDLER, "--port", "0", "--store", f"sqlite:///{tmp_path}/db", "--api-key", "k",
         "--worker-key", "w", "--min-workers", "0", "--max-workers", "3", "--concurrency", "2",
         "--idle-timeout", "5", "--reload", "--data-dir", str(tmp_path), "--drain-timeout", "3",
         "--max-backoff", "4", "--gpu-telemetry-interval", "2.5", "--", "--flag", "value"],
    )  # fmt: skip
    assert result.exit_code == 7, result.output
    sup, srv = seen["sup"], seen["srv"]
    assert (sup.handler_path, sup.endpoint_id, sup.worker_key) == (HANDLER, "", "w")
    assert sup.handler_args == ("--flag", "value")
    assert (sup.drain_timeout, sup.restart_backoff_max) == (3.0, 4.0)
    assert sup.gpu_telemetry_interval == 2.5
    assert (sup.min_workers, sup.max_workers, sup.concurrency) == (0, 3, 2)
    assert (sup.idle_timeout, sup.reload, sup.data_dir) == (5.0, True, str(tmp_path))
    assert (srv.port, srv.client_keys, srv.worker_keys) == (0, ("k",), ("w",))
    assert srv.store_url == f"sqlite:///{tmp_path}/db"

    bad = CliRunner().invoke(main, ["serve", HANDLER, "--min-workers", "4", "--max-workers", "2"])
    assert bad.exit_code == 2

    result = CliRunner().invoke(
        main,
        ["--url", "http://h:1", "worker", HANDLER, "--endpoint", "ep", "--key", "w", "-n", "2",
         "--drain-timeout", "1.5", "--", "a", "--b"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    sup = seen["workers"]
    assert (sup.server_url, sup.endpoint_id, sup.worker_key) == ("http://h:1", "ep", "w")
    assert (sup.min_workers, sup.max_workers) == (2, 2)
    assert (sup.handler_args, sup.drain_timeout) == (("a", "--b"), 1.5)
    assert sup.gpu_telemetry_interval == 5.0

    unknown = CliRunner().invoke(main, ["serve", HANDLER, "--no-such-flag"])
    assert unknown.exit_code == 2, "options before -- are still checked"


def test_server_runs_the_server_with_the_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    import pitstop.server.runner

    seen: list[ServerConfig] = []
    monkeypatch.setattr(pitstop.server.runner, "run", seen.append)
    args = ["server", "--host", "127.0.0.2", "--port", "0", "--lease", "0.5", "--allow-no-auth",
            "--worker-key", "w1", "--worker-key", "w2", "--max-queue", "10", "--ttl-ms", "5000"]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    (cfg,) = seen
    assert (cfg.host, cfg.port, cfg.lease_s) == ("127.0.0.2", 0, 0.5)
    assert cfg.allow_public_without_keys is True
    assert cfg.worker_keys == ("w1", "w2")
    assert (cfg.max_queue, cfg.default_ttl_ms) == (10, 5000)


def test_help_is_import_light_and_documents_exit_codes() -> None:
    code = (
        "import sys\n"
        "from pitstop.cli import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 0\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('httpx', 'fastapi', 'uvicorn')\n"
        "         or m.startswith(('pitstop.server', 'pitstop.client', 'pitstop.storage'))]\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True
    ).stdout
    assert "HEAVY []" in out
    assert "Exit codes: 0 success" in out
    assert "3 HTTP/API" in out


def test_progress_line_shows_status_progress_and_elapsed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    line = ProgressLine(enabled=True)
    line.update({"status": "IN_PROGRESS", "output": {"pct": 40}})
    line.clear()
    err = capsys.readouterr().err
    assert re.search(r"IN_PROGRESS\s+\d+\.\ds\s+\{\"pct\": 40\}", err)
    assert err.endswith("\r\x1b[K")
    ProgressLine(enabled=False).update({"status": "IN_QUEUE"})
    assert capsys.readouterr().err == ""


@pytest.mark.slow
def test_pitstop_server_process_serves_client_commands(tmp_path: Path) -> None:
    args = [PITSTOP, "server", "--port", "0", "--store", f"sqlite:///{tmp_path}/db",
            "--api-key", "k", "--sweep-interval", "0.05", "--log-level", "info"]  # fmt: skip
    log = (tmp_path / "server.log").open("w+")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PITSTOP_")}
    proc = subprocess.Popen(args, stdout=log, stderr=log, env=env)
    try:
        found = eventually(
            lambda: re.search(r"listening on (http://[\d.:]+)", Path(log.name).read_text()),
            timeout=20,
        )
        url = found.group(1)
        result = CliRunner().invoke(main, ["--url", url, "--api-key", "k", "--json", "health", "e"])
        assert result.exit_code == 0, result.output
        assert '"inQueue": 0' in result.stdout
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(15)
        log.close()
    assert code == 0, Path(log.name).read_text()
