"""The ``--rp_*`` flags (spec §1.3)."""

from __future__ import annotations

import sys

import pytest

from pitstop.serverless.args import parse_args


def test_known_flags_removed_unknown_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        sys,
        "argv",
        ["h.py", "--rp_log_level", "INFO", "--mine", "1", "--test_input", '{"input": {"a": 1}}'],
    )
    args = parse_args()
    assert sys.argv == ["h.py", "--mine", "1"]
    assert args["rp_log_level"] == "INFO"
    assert args["test_input"] == {"input": {"a": 1}}
    assert args["rp_api_port"] == 8000 and args["rp_api_host"] == "localhost"
    assert args["rp_serve_api"] is None and args["rp_debugger"] is None


def test_no_prefix_abbreviation() -> None:
    assert parse_args(["--rp_debug"])["rp_debugger"] is None
    assert parse_args(["--rp_debugger", "--rp_serve_api", "--rp_api_port", "9"])["rp_api_port"] == 9
