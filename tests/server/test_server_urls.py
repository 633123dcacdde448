"""Worker URLs configured without ``?``: ``&k=v`` pairs in the path are read as the query."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from pitstop.server.urls import repair_query_in_path


def _scope(path: str, query: bytes = b"") -> dict[str, Any]:
    return {"type": "http", "path": path, "raw_path": path.encode(), "query_string": query}


def test_pairs_after_the_worker_id_become_the_query() -> None:
    scope = _scope("/v2/ep/job-take/w1&job_in_progress=0")
    repair_query_in_path(scope)
    assert scope["path"] == "/v2/ep/job-take/w1"
    assert scope["raw_path"] == b"/v2/ep/job-take/w1"
    assert scope["query_string"] == b"job_in_progress=0"


def test_pairs_after_a_job_id_come_before_an_existing_query() -> None:
    scope = _scope("/v2/ep/job-done/w1/job-7&isStream=false", b"gpu=none")
    repair_query_in_path(scope)
    assert scope["path"] == "/v2/ep/job-done/w1/job-7"
    assert scope["query_string"] == b"isStream=false&gpu=none"


@pytest.mark.parametrize("path", ["/v2/ep/job-take/w1", "/pitstop/v1/jobs/a&b", "/docs"])
def test_other_paths_are_left_alone(path: str) -> None:
    scope = _scope(path, b"x=1")
    repair_query_in_path(scope)
    assert scope == _scope(path, b"x=1")


def test_one_warning_per_worker(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="pitstop.server")
    for path in (
        "/v2/ep/job-take/w-once&job_in_progress=0",
        "/v2/ep/job-take/w-once&job_in_progress=1",
        "/v2/ep/job-done/w-once/j1&isStream=false",
        "/v2/ep/job-take/w-twice&job_in_progress=0",
    ):
        repair_query_in_path(_scope(path))
    warned = [r.getMessage() for r in caplog.records if "has no '?'" in r.getMessage()]
    assert len(warned) == 2
    assert "w-once" in warned[0] and "w-twice" in warned[1]
