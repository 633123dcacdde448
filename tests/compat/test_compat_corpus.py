"""The corpus: worker files shaped like public RunPod workers, under both SDKs.

Each case of ``corpus_cases.CASES`` runs in local test mode (``python FILE --test_input
JSON``) under runpod 1.12.0 and under pitstop; the exit codes and the printed lines must be
the same once ids, versions, addresses, tracebacks and work directories are masked (and
blank lines dropped: RunPod's progress threads print theirs at random points). Where
pitstop deliberately differs the case names the ``DELIBERATE`` key, removes the differing
parts and asserts what each side shows instead. All cases of one runtime run in one
``corpus_driver.py`` process (the SDK is imported once, each case is a fork), the two
runtimes at the same time.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import subprocess
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.compat.corpus_cases import CASES, FILES, MUST_SHOW, Case
from tests.compat.test_compat_worker import deliberate
from tests.support.procs import (
    OFFICIAL,
    PITSTOP,
    WorkerProcess,
    clean_env,
    python_for,
    start_worker,
)

pytestmark = [pytest.mark.compat, pytest.mark.timeout(120)]

HERE = Path(__file__).parent
CORPUS = HERE / "corpus"
DRIVER = HERE / "corpus_driver.py"
PRELOAD = (
    "asyncio",
    "runpod",
    "runpod.serverless",
    "runpod.serverless.utils.rp_cleanup",
    "runpod.serverless.utils.rp_debugger",
    "runpod.serverless.utils.rp_download",
    "runpod.serverless.utils.rp_upload",
    "runpod.serverless.utils.rp_validator",
    "pitstop.serverless.worker",
    "pitstop.serverless.local",
)


@dataclass
class Outcome:
    """One case's run under one runtime."""

    code: int | None
    stdout: str
    stderr: str
    workdir: Path


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def files_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A loopback file server with the inputs the download helpers fetch."""
    site = tmp_path_factory.mktemp("site")
    (site / "audio.txt").write_text("hello world from the audio file\n")
    (site / "notes.txt").write_text("some notes here\n")
    with zipfile.ZipFile(site / "bundle.zip", "w") as bundle:
        bundle.writestr("a.txt", "A")
        bundle.writestr("b/c.txt", "C")
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(site)))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def spec(case: Case, workdir: Path, files: str) -> dict[str, object]:
    workdir.mkdir(parents=True)
    job = json.loads(json.dumps({"input": case.input}).replace(FILES, files))
    return {
        "name": case.name,
        "file": str(CORPUS / case.file),
        "args": ["--test_input", json.dumps(job), *case.args],
        "env": case.env,
        "workdir": str(workdir),
        "timeout": 30,
    }


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, files_url: str) -> dict[str, dict[str, Outcome]]:
    """Every case under both runtimes: ``{runtime: {case name: Outcome}}``."""
    root = tmp_path_factory.mktemp("corpus")
    procs = {}
    for runtime in (OFFICIAL, PITSTOP):
        cases = [spec(c, root / runtime / c.name, files_url) for c in CASES]
        spec_path, results_path = root / f"{runtime}.json", root / f"{runtime}.results.json"
        spec_path.write_text(json.dumps({"preload": PRELOAD, "parallel": 6, "cases": cases}))
        cmd = [python_for(runtime), str(DRIVER), str(spec_path), str(results_path)]
        home = root / runtime
        procs[runtime] = (results_path, subprocess.Popen(cmd, env=clean_env(home, {}), cwd=home))
    outcomes: dict[str, dict[str, Outcome]] = {}
    for runtime, (results_path, proc) in procs.items():
        assert proc.wait(90) == 0, f"{runtime} corpus driver failed"
        codes = json.loads(results_path.read_text())
        outcomes[runtime] = {
            name: Outcome(
                code,
                (root / runtime / name / "stdout.txt").read_text(errors="replace"),
                (root / runtime / name / "stderr.txt").read_text(errors="replace"),
                root / runtime / name,
            )
            for name, code in codes.items()
        }
    return outcomes


def comparable(outcome: Outcome, drop: tuple[str, ...]) -> list[str]:
    """The output with ids, versions, addresses, tracebacks, work dirs and ``drop`` masked."""
    text = outcome.stdout.replace(f"{outcome.workdir}{'/'}", "<cwd>/")
    text = re.sub(r"Version [^\n]* ---", "Version <v> ---", text)  # pitstop adds its own
    text = re.sub(
        r'"error_traceback": ".*?", ?(\n *)?"hostname"',
        '"error_traceback": "<tb>", "hostname"',
        text,
        flags=re.S,
    )
    text = re.sub(r'"runpod_version": "[^"]*"', '"runpod_version": "<v>"', text)
    text = re.sub(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", "<uuid>", text)
    text = re.sub(r"0x[0-9a-f]+", "0x?", text)
    lines = []
    for line in text.splitlines():
        for pattern in drop:
            line = re.sub(pattern, "", line)
        if line.strip():
            lines.append(line)
    return lines


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_corpus_in_local_mode(runs: dict[str, dict[str, Outcome]], case: Case) -> None:
    off, pit = runs[OFFICIAL][case.name], runs[PITSTOP][case.name]
    context = (
        f"\n--- official ---\n{off.stdout}{off.stderr}\n--- pitstop ---\n{pit.stdout}{pit.stderr}"
    )
    assert (off.code, pit.code) == (case.code, case.code), context
    for runtime, outcome in ((OFFICIAL, off), (PITSTOP, pit)):
        for fragment in MUST_SHOW.get(case.name, ()):
            assert fragment in outcome.stdout, (runtime, fragment, context)
    if case.deliberate:
        deliberate(case.deliberate)
        for runtime, outcome in ((OFFICIAL, off), (PITSTOP, pit)):
            for fragment in case.shows.get(runtime, ()):
                assert fragment in outcome.stdout, (runtime, fragment, context)
    assert comparable(off, case.drop.get(OFFICIAL, ())) == comparable(
        pit, case.drop.get(PITSTOP, ())
    ), context


def test_upload_fallback_warning_goes_where_each_sdk_logs(
    runs: dict[str, dict[str, Outcome]],
) -> None:
    off, pit = runs[OFFICIAL]["files"], runs[PITSTOP]["files"]
    deliberate("upload-fallback-warning")
    assert off.stderr.count("No bucket endpoint set, saving to disk folder") == 3
    assert "No bucket endpoint set" not in off.stdout
    assert pit.stdout.count("WARN   | No bucket endpoint set") == 3
    assert pit.stderr == ""
    for outcome in (off, pit):
        assert sorted(p.name for p in outcome.workdir.iterdir()) == [
            "jobs",
            "local_upload",
            "simulated_uploaded",
            "stderr.txt",
            "stdout.txt",
        ]


def test_every_corpus_worker_has_a_case() -> None:
    helpers = {"image_schemas.py", "inference_server.py"}
    files = {p.name for p in CORPUS.glob("*.py")} - helpers
    assert files == {c.file for c in CASES}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def runsync_when_up(port: int, payload: dict[str, Any], proc: WorkerProcess) -> Any:
    """POST ``/runsync`` once the local API answers (polled, bounded)."""
    deadline = time.monotonic() + 30
    while True:
        try:
            return httpx.post(f"http://localhost:{port}/runsync", json=payload, timeout=10).json()
        except httpx.TransportError:
            if time.monotonic() > deadline or proc.returncode is not None:
                raise AssertionError(f"local API never answered\n{proc.output()}") from None
            time.sleep(0.05)


def test_local_api_runsync_of_a_generator(tmp_path: Path) -> None:
    ports = {OFFICIAL: free_port(), PITSTOP: free_port()}
    payload = {"input": {"mock_return": ["a", "b"]}}
    answers = {}
    with contextlib.ExitStack() as stack:
        procs = {
            runtime: stack.enter_context(
                start_worker(
                    CORPUS / "mock_worker.py",
                    {},
                    workdir=tmp_path / runtime,
                    runtime=runtime,
                    args=["--generator", "--rp_serve_api", "--rp_api_port", str(port)],
                )
            )
            for runtime, port in ports.items()
        }
        for runtime, proc in procs.items():
            answers[runtime] = runsync_when_up(ports[runtime], payload, proc)
    assert answers[OFFICIAL]["status"] == answers[PITSTOP]["status"] == "COMPLETED"
    deliberate("local-api-generator-runsync")
    assert answers[OFFICIAL]["output"] == ["a", "b"]
    assert answers[PITSTOP]["output"] == []
