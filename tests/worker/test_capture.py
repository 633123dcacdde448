"""Per-job output capture: prints and logging inside a job are tagged and recorded."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from pitstop.serverless import capture, outbox
from pitstop.serverless.handler import Kind, call


class Recorder:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def log(self, stream: str, text: str) -> None:
        self.lines.append((stream, text))


@pytest.fixture
def box(monkeypatch: pytest.MonkeyPatch) -> Iterator[Recorder]:
    recorder = Recorder()
    monkeypatch.setitem(outbox._boxes, "j1", recorder)  # type: ignore[arg-type]
    yield recorder


async def test_print_in_a_threaded_handler_is_attributed(box: Recorder) -> None:
    out = io.StringIO()
    stream = capture.JobStream(out, "stdout")

    def handler(job: dict[str, Any]) -> None:
        stream.write("one\ntwo")
        stream.write("\nthree")

    token = capture.current_job.set("j1")
    try:
        await call(handler, Kind.FUNCTION, {})
    finally:
        capture.current_job.reset(token)
    stream.flush_job("j1")
    stream.write("outside\n")
    assert out.getvalue() == "[j1] one\n[j1] two\n[j1] three\noutside\n"
    assert box.lines == [("stdout", "one"), ("stdout", "two"), ("stdout", "three")]


def test_logging_inside_a_job_is_recorded(
    box: Recorder, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logging.getLogger(), "handlers", [])
    undo = capture.install()
    try:
        token = capture.current_job.set("j1")
        logging.getLogger("user").warning("careful")
        capture.current_job.reset(token)
        logging.getLogger("user").warning("not a job")
    finally:
        undo()
    assert box.lines == [("log", "WARNING user: careful")]
    err = capsys.readouterr().err
    assert "[j1] careful" in err and "not a job" in err


def test_partial_lines_pass_through_at_once(box: Recorder) -> None:
    out = io.StringIO()
    stream = capture.JobStream(out, "stderr")
    token = capture.current_job.set("j1")
    try:
        stream.write("10%\r")
        assert out.getvalue() == "[j1] 10%\r"
        stream.write("100%\n")
    finally:
        capture.current_job.reset(token)
    assert out.getvalue() == "[j1] 10%\r100%\n"
    assert box.lines == [("stderr", "10%\r100%")]


def test_http_client_logging_is_never_recorded(
    box: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logging.getLogger(), "handlers", [])
    undo = capture.install()
    try:
        token = capture.current_job.set("j1")
        logging.getLogger("httpx").warning("HTTP Request: POST ...")
        capture.current_job.reset(token)
    finally:
        undo()
    assert box.lines == []


def test_untagged_when_not_talking_to_a_pitstop_server(box: Recorder) -> None:
    out = io.StringIO()
    pitstop = False
    stream = capture.JobStream(out, "stdout", lambda: pitstop)
    token = capture.current_job.set("j1")
    try:
        stream.write("plain\n")
        pitstop = True
        stream.write("tagged\n")
    finally:
        capture.current_job.reset(token)
    assert out.getvalue() == "plain\n[j1] tagged\n"
    assert box.lines == [("stdout", "tagged")]
