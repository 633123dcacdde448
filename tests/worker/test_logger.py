"""RunPod's log line format, JSON mode, levels, batch prefix and truncation (spec §7)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest

from pitstop.serverless import logger as logmod
from pitstop.serverless.logger import RunPodLogger, reset_batch_id, set_batch_id, truncate


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("RUNPOD_ENDPOINT_ID", raising=False)
    monkeypatch.delenv("RUNPOD_LOG_LEVEL", raising=False)
    monkeypatch.delenv("RUNPOD_DEBUG_LEVEL", raising=False)
    monkeypatch.setattr(RunPodLogger, "_instance", None)
    yield


def test_text_format(fresh: None, capsys: pytest.CaptureFixture[str]) -> None:
    log = RunPodLogger()
    log.info("hello")
    log.error("bad", "j1")
    log.warn("w")
    log.debug("d")
    log.trace("hidden at DEBUG")
    assert capsys.readouterr().out.splitlines() == [
        "INFO   | hello",
        "ERROR  | j1 | bad",
        "WARN   | w",
        "DEBUG  | d",
    ]


def test_json_mode(
    fresh: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RUNPOD_ENDPOINT_ID", "ep1")
    log = RunPodLogger()
    log.info("hü", "j1")
    log.warn("x")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == '{"requestId": "j1", "message": "h\\u00fc", "level": "INFO"}'
    assert json.loads(lines[1]) == {"requestId": None, "message": "x", "level": "WARN"}


def test_json_or_text_is_decided_at_each_call(
    fresh: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    log = RunPodLogger()
    log.info("text")
    monkeypatch.setenv("RUNPOD_ENDPOINT_ID", "ep1")
    log.info("json", "j1")
    monkeypatch.setenv("RUNPOD_ENDPOINT_ID", "")
    log.info("text again")
    assert capsys.readouterr().out.splitlines() == [
        "INFO   | text",
        '{"requestId": "j1", "message": "json", "level": "INFO"}',
        "INFO   | text again",
    ]


def test_levels(fresh: None, capsys: pytest.CaptureFixture[str]) -> None:
    log = RunPodLogger()
    log.set_level("info")
    log.debug("no")
    log.info("yes")
    assert capsys.readouterr().out.splitlines() == [
        "INFO   | Log level set to INFO",
        "INFO   | yes",
    ]
    log.set_level(0)
    log.error("never")
    assert capsys.readouterr().out == ""
    with pytest.raises(ValueError):
        log.set_level("WARNING")
    with pytest.raises(ValueError):
        log.set_level(6)


def test_invalid_env_level_falls_back(
    fresh: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RUNPOD_LOG_LEVEL", "LOUD")
    log = RunPodLogger()
    assert log.level == "DEBUG"
    assert "WARN   | Invalid RUNPOD_LOG_LEVEL 'LOUD'; using DEBUG." in capsys.readouterr().out


def test_debug_level_env_is_second_choice(fresh: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNPOD_DEBUG_LEVEL", "ERROR")
    assert RunPodLogger().level == "ERROR"


def test_batch_prefix(fresh: None, capsys: pytest.CaptureFixture[str]) -> None:
    log = RunPodLogger()
    token = set_batch_id("B9")
    log.debug("Handling Job", "b1")
    reset_batch_id(token)
    log.debug("plain")
    assert capsys.readouterr().out.splitlines() == [
        "DEBUG  | b1 | [batchId=B9] Handling Job",
        "DEBUG  | plain",
    ]


def test_truncation() -> None:
    text = "a" * 2048 + "b" * 1000 + "c" * 2048
    out = truncate(text)
    assert out == "a" * 2048 + "\n...TRUNCATED 1000 CHARACTERS...\n" + "c" * 2048
    assert truncate("short") == "short"


def test_secret(fresh: None, capsys: pytest.CaptureFixture[str]) -> None:
    RunPodLogger().secret("key", "abcd")
    assert capsys.readouterr().out == "INFO   | key: a**d\n"


def test_singleton(fresh: None) -> None:
    assert RunPodLogger() is RunPodLogger() is logmod.get_logger()


def test_import_runpod_with_invalid_level_does_not_crash() -> None:
    code = "import runpod, logging; print(runpod.RunPodLogger().level); print(logging.getLogger().handlers)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={"RUNPOD_LOG_LEVEL": "WARNING", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.splitlines()[-2:] == ["DEBUG", "[]"]
