"""``start()`` mode dispatch and the ``--rp_debugger`` result attachment."""

from __future__ import annotations

import sys
import types
from collections.abc import Callable
from typing import Any

import pytest
from tests.support.platform import FakePlatform
from tests.support.procs import WorkerProcess

from pitstop.errors import ConfigError
from pitstop.serverless.worker import start

Worker = Callable[..., WorkerProcess]


def test_rp_serve_api_dispatches_to_the_local_server(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls: list[tuple[Any, ...]] = []
    fake = types.ModuleType("pitstop.server.local")
    fake.serve_api = lambda config, host, port, realtime=False: calls.append(  # type: ignore[attr-defined]
        (config["handler"], host, port, realtime)
    )
    monkeypatch.setitem(sys.modules, "pitstop.server.local", fake)
    monkeypatch.setattr(
        sys,
        "argv",
        ["h.py", "--rp_serve_api", "--rp_api_port", "8123", "--rp_api_host", "0.0.0.0", "--x"],
    )
    start({"handler": print})
    assert calls == [(print, "0.0.0.0", 8123, False)]
    assert sys.argv == ["h.py", "--x"]
    out = capsys.readouterr().out
    assert out.startswith("--- Starting Serverless Worker |  Version ")


async def test_missing_handler_is_a_clear_error() -> None:
    from pitstop.config import WorkerConfig
    from pitstop.serverless.worker import run_worker

    with pytest.raises(ConfigError, match="callable 'handler'"):
        await run_worker({}, WorkerConfig(job_take_url="http://127.0.0.1:1/job-take/x?"))


def test_rp_debugger_attaches_to_dict_outputs_only(platform: FakePlatform, worker: Worker) -> None:
    worker(
        "function",
        {"id": "d1", "input": {"return": {"a": 1}}},
        {"id": "d2", "input": {"return": "text"}},
        args=("--rp_debugger",),
    )
    body = platform.wait_for(lambda: platform.results("d1"))[0].json()
    info = body["output"]["rp_debugger"]
    assert set(info["system_info"]) == {"os", "processor", "python_version", "runpod"}
    assert isinstance(info["timestamps"], list) and "ready_delay_ms" in info
    assert platform.wait_for(lambda: platform.results("d2"))[0].json() == {"output": "text"}
