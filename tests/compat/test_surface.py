"""The official SDK's worker-side surface exists under pitstop, and its key names behave alike.

Differential: ``surface_dump.py walk`` lists every module of runpod 1.12.0 (the CLI package
and the bundled GPU test binary left out) with its public names, under the official SDK's
interpreter; the same script then imports each of those modules under pitstop. Every
module must import, the names missing under pitstop must be exactly ``EXCLUSIONS`` (each
with its reason) and at least 95 % of the names must exist. How a name is counted is in
``surface_dump.py``'s docstring.

``surface_probe.py`` then calls the names worker code uses (``rp_job.run_job``,
``JobsProgress``, the download and validator helpers, ``rp_cuda``, the version and the
module URL settings, the wire helpers against a ``FakePlatform``) under both SDKs and the
answers must be equal. The remaining tests pin pitstop-side behaviour: one
``RunPodLogger``, ``rp_cuda`` through ``nvidia-smi``, cloud calls that raise without
touching the network, ``~/.runpod/config.toml``, ``dir()`` and attribute access after a
bare ``import runpod``, and the versions in the worker banner.
"""

from __future__ import annotations

import inspect
import json
import socket
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.compat.wire import Scenario, normal, run_both
from tests.support.platform import FakePlatform
from tests.support.procs import OFFICIAL, PITSTOP, clean_env, official_python, pitstop_python

pytestmark = [pytest.mark.compat, pytest.mark.timeout(120)]

HERE = Path(__file__).parent
COVERAGE_MIN = 0.95

_GRAPHQL_TEXT = (
    "GraphQL document of RunPod's cloud API; pitstop sends no GraphQL (the cloud functions "
    "raise CloudApiUnavailable), so the query text is not carried."
)
_OPENAPI_TEXT = (
    "OpenAPI text of the official local API server; pitstop's --rp_serve_api serves its own "
    "job server, documented at /docs."
)
EXCLUSIONS: dict[tuple[str, str], str] = {
    ("runpod.api.queries.endpoints", "QUERY_ENDPOINT"): _GRAPHQL_TEXT,
    ("runpod.api.queries.gpus", "QUERY_GPU_TYPES"): _GRAPHQL_TEXT,
    ("runpod.api.queries.pods", "QUERY_POD"): _GRAPHQL_TEXT,
    ("runpod.api.queries.user", "QUERY_USER"): _GRAPHQL_TEXT,
    ("runpod.serverless.modules.rp_fastapi", "TITLE"): _OPENAPI_TEXT,
    ("runpod.serverless.modules.rp_fastapi", "DESCRIPTION"): _OPENAPI_TEXT,
    ("runpod.serverless.modules.rp_fastapi", "RUN_DESCRIPTION"): _OPENAPI_TEXT,
    ("runpod.serverless.modules.rp_fastapi", "RUNSYNC_DESCRIPTION"): _OPENAPI_TEXT,
    ("runpod.serverless.modules.rp_fastapi", "STREAM_DESCRIPTION"): _OPENAPI_TEXT,
    ("runpod.serverless.modules.rp_fastapi", "STATUS_DESCRIPTION"): _OPENAPI_TEXT,
}
"""Official public names pitstop deliberately does not define, with the reason."""

PROBE_ENV = {
    "RUNPOD_POD_ID": "pod-x",
    "RUNPOD_AI_API_KEY": "worker-key",
    "RUNPOD_API_KEY": "ignored-by-both",
    "RUNPOD_WEBHOOK_GET_JOB": "http://h/v2/ep/job-take/$ID?gpu=1",
    "RUNPOD_WEBHOOK_POST_OUTPUT": "http://h/v2/ep/job-done/$RUNPOD_POD_ID/$ID?gpu=1",
    "RUNPOD_WEBHOOK_POST_STREAM": "http://h/v2/ep/job-stream/$RUNPOD_POD_ID/$ID?gpu=1",
    "RUNPOD_WEBHOOK_PING": "http://h/v2/ep/ping/$RUNPOD_POD_ID",
    "RUNPOD_PING_INTERVAL": "3000",
    "RUNPOD_MIN_MEMORY_GB": "2.5",
    "RUNPOD_GPU_TEST_TIMEOUT": "7",
    "PATH": "/usr/bin:/bin",
}
CONFIG_TOML = '[default]\napi_key = "from-config"\n\n[other]\napi_key = "not-this"\n'


def _run(python: str, args: list[str], home: Path, env: dict[str, str] | None = None) -> str:
    """Run a script of this folder in a clean environment; its stdout (fails with stderr)."""
    done = subprocess.run(
        [python, *args],
        env=clean_env(home, env or {}),
        cwd=home,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return done.stdout


def _tagged(stdout: str, tag: str) -> Any:
    line = next(line for line in stdout.splitlines() if line.startswith(tag + " "))
    return json.loads(line[len(tag) + 1 :])


# ------------------------------------------------------------------------ surface (names)


@pytest.fixture(scope="module")
def surfaces(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(official, pitstop)`` dumps: official public names, pitstop's attributes."""
    home = tmp_path_factory.mktemp("surface-home")
    dump = str(HERE / "surface_dump.py")
    official = _tagged(_run(official_python(), [dump, "walk"], home), "SURFACE")
    mine = _tagged(_run(pitstop_python(), [dump, *sorted(official)], home), "SURFACE")
    return official, mine


def _names(entry: Any) -> dict[str, str]:
    return (
        {n: k for n, k in entry["names"].items() if k != "missing"}
        if isinstance(entry, dict)
        else {}
    )


def _missing(official: dict[str, Any], mine: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (module, name)
        for module, entry in official.items()
        for name in entry["names"]
        if name not in _names(mine[module])
    }


def test_official_walk_found_the_worker_modules(
    surfaces: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    official, _ = surfaces
    assert len(official) >= 50
    assert not [m for m in official if m.startswith(("runpod.cli", "runpod.serverless.binaries"))]
    for module in ("runpod.serverless.modules.rp_logger", "runpod.serverless.utils.rp_cuda"):
        assert isinstance(official[module], dict), official[module]


def test_every_official_module_imports_under_pitstop(
    surfaces: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    official, mine = surfaces
    failed = {m: mine[m] for m in official if not isinstance(mine[m], dict)}
    assert failed == {}


def test_missing_names_are_exactly_the_exclusions(
    surfaces: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    official, mine = surfaces
    assert _missing(official, mine) == set(EXCLUSIONS)
    assert all(reason for reason in EXCLUSIONS.values())


def test_coverage_of_public_names(surfaces: tuple[dict[str, Any], dict[str, Any]]) -> None:
    official, mine = surfaces
    total = sum(len(entry["names"]) for entry in official.values())
    present = total - len(_missing(official, mine))
    print(f"surface: {len(official)} modules, {present}/{total} public names")
    assert present / total >= COVERAGE_MIN


def test_cloud_functions_have_the_official_signatures(
    surfaces: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    official, mine = surfaces
    checked = 0
    for module, entry in official.items():
        if not module.startswith("runpod.api") and module != "runpod":
            continue
        for name, signature in entry["signatures"].items():
            if signature is None or (module == "runpod" and name not in _cloud_names()):
                continue
            assert mine[module]["signatures"][name] == signature, f"{module}.{name}"
            checked += 1
    assert checked >= 40


def _cloud_names() -> set[str]:
    import runpod.api.ctl_commands as ctl

    return set(ctl.__all__)


# ------------------------------------------------------------------------ behaviour (differential)


@pytest.fixture(scope="module")
def probes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The probe's answers and the wire requests, per runtime (``official``, ``pitstop``)."""
    out: dict[str, Any] = {}
    for runtime, python in (("official", official_python()), ("pitstop", pitstop_python())):
        home = tmp_path_factory.mktemp(f"probe-{runtime}")
        (home / ".runpod").mkdir()
        (home / ".runpod" / "config.toml").write_text(CONFIG_TOML)
        with FakePlatform(take_hold=0.2, stop_hold=0.2) as platform:
            platform.add_jobs({"id": "t1", "input": {"x": 1}})
            platform.stop_jobs("s1")
            env = {**PROBE_ENV, "PROBE_PLATFORM": platform.url}
            stdout = _run(python, [str(HERE / "surface_probe.py")], home, env)
            requests = [normal(rec) for rec in platform.requests]
        out[runtime] = {"results": _tagged(stdout, "PROBE-RESULT"), "requests": requests}
    return out


PROBES = (
    "run_job_shapes",
    "run_job_raises",
    "run_job_generator",
    "is_generator",
    "jobs_progress",
    "download_helpers",
    "validator",
    "boto_without_credentials",
    "cuda",
    "too_many_requests",
    "logger_identity",
    "versions",
    "top_level",
    "settings_from_env",
    "wire",
)


@pytest.mark.parametrize("name", PROBES)
def test_probe_answers_like_the_official_sdk(probes: dict[str, Any], name: str) -> None:
    assert probes["pitstop"]["results"][name] == probes["official"]["results"][name]


def test_probe_values(probes: dict[str, Any]) -> None:
    """What the shared answers are (so equal answers cannot both be wrong)."""
    results = probes["pitstop"]["results"]
    assert results["versions"] == ["1.12.0", "1.12.0", "1.12.0"]
    assert results["top_level"]["api_key"] == "from-config"  # the file, not RUNPOD_API_KEY
    assert results["top_level"]["endpoint_all"] == [
        "AsyncioEndpoint",
        "AsyncioJob",
        "Endpoint",
        "Job",
    ]
    assert results["logger_identity"] == [True, True]
    assert results["cuda"] is False
    assert results["settings_from_env"]["done"] == "http://h/v2/ep/job-done/pod-x/$ID?gpu=1"
    assert results["wire"]["stops"] == ["s1"]


def test_wire_helpers_send_what_the_official_ones_send(probes: dict[str, Any]) -> None:
    mine, theirs = probes["pitstop"]["requests"], probes["official"]["requests"]
    assert [r["route"] for r in mine] == ["take", "stream", "done", "stop", "done"]
    assert mine == theirs


def test_job_scaler_runs_the_worker_and_tracks_jobs_in_progress(tmp_path: Path) -> None:
    worker = HERE / "surface_workers" / "job_scaler.py"
    scenario = Scenario(str(worker), [{"id": "p1", "input": {}}])
    runs = run_both(scenario, tmp_path)
    official, mine = runs[OFFICIAL], runs[PITSTOP]
    assert official.exit_code == mine.exit_code == 0, mine.stdout + mine.stderr
    results = [[normal(r) for r in run.results("p1")] for run in (official, mine)]
    assert results[0] == results[1]
    assert results[1][0]["body"] == {"output": {"jobs": "p1", "count": 1}, "stopPod": True}


# ------------------------------------------------------------------------ behaviour (pitstop)


def test_runpod_logger_is_one_class_and_one_object() -> None:
    import runpod
    from runpod.serverless.modules import rp_logger

    assert runpod.RunPodLogger is rp_logger.RunPodLogger
    assert runpod.RunPodLogger() is rp_logger.RunPodLogger()


def _fake_nvidia_smi(folder: Path, output: str) -> None:
    script = folder / "nvidia-smi"
    script.write_text(f"#!/bin/sh\necho '{output}'\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)


def test_rp_cuda_asks_nvidia_smi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from runpod.serverless.utils import rp_cuda

    monkeypatch.setenv("PATH", str(tmp_path))
    assert rp_cuda.is_available() is False
    _fake_nvidia_smi(tmp_path, "NVIDIA-SMI 535.104.05  Driver Version: 535.104.05")
    assert rp_cuda.is_available() is True
    _fake_nvidia_smi(tmp_path, "command not found")
    assert rp_cuda.is_available() is False


def _cloud_functions() -> Iterator[tuple[str, Any]]:
    import importlib

    for module in (
        "runpod.api.ctl_commands",
        "runpod.api.graphql",
        "runpod.api.mutations.container_register_auth",
        "runpod.api.mutations.endpoints",
        "runpod.api.mutations.pods",
        "runpod.api.mutations.templates",
        "runpod.api.mutations.user",
        "runpod.api.queries.gpus",
        "runpod.api.queries.pods",
    ):
        mod = importlib.import_module(module)
        for name in mod.__all__:
            value = getattr(mod, name)
            if inspect.isfunction(value):
                yield f"{module}.{name}", value


def test_cloud_calls_raise_without_touching_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    import runpod
    from pitstop.errors import CloudApiUnavailable, RunPodError

    def no_network(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a cloud call tried to use the network")

    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    refused = []
    for qualname, function in _cloud_functions():
        params = inspect.signature(function).parameters.values()
        required = [p.name for p in params if p.default is p.empty]
        with pytest.raises(
            CloudApiUnavailable, match="does not manage RunPod cloud resources"
        ) as err:
            function(*["x"] * len(required))
        assert isinstance(err.value, RunPodError) and isinstance(err.value, NotImplementedError)
        refused.append(qualname)
    assert len(refused) >= 27, refused
    assert runpod.create_pod is runpod.api.ctl_commands.create_pod
    with pytest.raises(CloudApiUnavailable, match=r"runpod\.get_endpoints\(\)"):
        runpod.get_endpoints()


def _import_runpod(home: Path, code: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [pitstop_python(), "-c", f"import runpod\n{code}"],
        env=clean_env(home, env or {}),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (None, "None"),
        (CONFIG_TOML, "'from-config'"),
        ('[other]\napi_key = "x"\n', "None"),
        ("not [valid toml", "None"),
        ("[default]\nname = 'no key'\n", "None"),  # the official SDK raises KeyError here
    ],
)
def test_api_key_comes_from_the_default_profile(
    tmp_path: Path, config: str | None, expected: str
) -> None:
    if config is not None:
        (tmp_path / ".runpod").mkdir()
        (tmp_path / ".runpod" / "config.toml").write_text(config)
    env = {"RUNPOD_API_KEY": "env-is-not-read"}
    assert _import_runpod(tmp_path, "print(repr(runpod.api_key))", env) == expected


def test_dir_lists_lazy_names_before_they_load(tmp_path: Path) -> None:
    code = (
        "import sys, json\n"
        "import runpod.serverless.utils as u\n"
        "print(json.dumps([dir(runpod), dir(runpod.serverless), dir(u),"
        " 'runpod.api.ctl_commands' in sys.modules, 'runpod.serverless.utils.rp_upload' in sys.modules]))"
    )
    top, serverless, utils, api_loaded, upload_loaded = json.loads(_import_runpod(tmp_path, code))
    assert not api_loaded and not upload_loaded
    for name in (
        "Endpoint",
        "create_pod",
        "check_credentials",
        "RunPodLogger",
        "api",
        "serverless",
    ):
        assert name in top
    for name in ("modules", "utils", "worker", "RunPodLogger", "VolumeCache", "start"):
        assert name in serverless
    for name in ("rp_upload", "rp_cuda", "rp_download", "rp_validator", "VolumeCache"):
        assert name in utils


def test_every_module_is_an_attribute_after_import_runpod(
    tmp_path: Path, surfaces: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    official, _ = surfaces
    paths = sorted(m for m in official if m != "runpod")
    code = (
        "import functools, json, sys, types\n"
        f"paths = {paths!r}\n"
        "def reach(path):\n"
        "    value = functools.reduce(getattr, path.split('.')[1:], runpod)\n"
        "    return isinstance(value, types.ModuleType)\n"
        "print(json.dumps([p for p in paths if not reach(p)]))"
    )
    assert json.loads(_import_runpod(tmp_path, code)) == []


def test_versions_and_the_banner_name_both(tmp_path: Path) -> None:
    import pitstop
    import runpod
    import runpod.version
    from pitstop.serverless.version import banner

    assert runpod.__version__ == runpod.version.get_version() == "1.12.0"
    assert pitstop.__version__ != runpod.__version__
    assert f"Version 1.12.0 (pitstop {pitstop.__version__})" in banner()
    handler = tmp_path / "handler.py"
    handler.write_text("import runpod\nrunpod.serverless.start({'handler': lambda job: 1})\n")
    env = {"RUNPOD_LOG_LEVEL": "ERROR"}
    done = subprocess.run(
        [pitstop_python(), str(handler), "--test_input", '{"input": {}}'],
        env=clean_env(tmp_path, env),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == banner()


def test_sync_client_session_needs_requests_only_when_constructed(tmp_path: Path) -> None:
    import requests

    from runpod.http_client import SyncClientSession

    assert issubclass(SyncClientSession, requests.Session)
    code = (
        "import sys\n"
        "sys.modules['requests'] = None  # as if requests were not installed\n"
        "from runpod.http_client import SyncClientSession\n"
        "from pitstop.errors import MissingExtraError\n"
        "try:\n"
        "    SyncClientSession()\n"
        "except MissingExtraError as exc:\n"
        "    print(exc)\n"
    )
    assert "pip install 'pitstop[runpod]'" in _import_runpod(tmp_path, code)


LOCAL_MAIN = """
from runpod.serverless import worker

def handler(job):
    return {"doubled": job["input"]["x"] * 2}

worker.main({"handler": handler, "rp_args": {"test_input": {"input": {"x": 2}}}})
"""


def test_worker_main_runs_the_local_test_job_like_the_official(tmp_path: Path) -> None:
    script = tmp_path / "main_local.py"
    script.write_text(LOCAL_MAIN)
    outputs = []
    for python in (official_python(), pitstop_python()):
        done = subprocess.run(
            [python, str(script)],
            env=clean_env(tmp_path, {"RUNPOD_LOG_LEVEL": "INFO"}),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        outputs.append([line for line in done.stdout.splitlines() if "Job result" in line])
    assert outputs[0] == outputs[1] == ["INFO   | Job result: {'output': {'doubled': 4}}"]
