"""``pitstop serve a.py b.py`` and ``pitstop serve --config pitstop.toml``: several endpoints
on one server, end to end over HTTP; and the config file's errors (file, line, key)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import httpx
from click.testing import CliRunner
from tests.supervisor.helpers import HANDLERS
from tests.supervisor.test_cli_serve import PITSTOP, ctrl_c, running, wait_for_output

from pitstop.cli import main


def runsync(url: str, endpoint: str) -> dict[str, Any]:
    response = httpx.post(f"{url}/v2/{endpoint}/runsync", json={"input": {}}, timeout=30)
    body: dict[str, Any] = response.json()
    assert body.get("status") == "COMPLETED", body
    return body


def test_two_handler_files_are_two_endpoints_with_their_own_gpus(tmp_path: Path) -> None:
    pid_file, log = tmp_path / "children", tmp_path / "serve.log"
    alpha = shutil.copy(HANDLERS / "with_child.py", tmp_path / "alpha.py")
    beta = shutil.copy(HANDLERS / "with_child.py", tmp_path / "beta.py")
    command = [*PITSTOP, "serve", alpha, beta, "--port", "0", "--data-dir", str(tmp_path / "d"),
               "--gpus", "0,1", "--drain-timeout", "1", "--", str(pid_file)]  # fmt: skip
    with running(command, log) as proc:
        url = wait_for_output(log, r"endpoint: (http://\S+)/v2/beta\n", proc, 20)
        outputs = {ep: runsync(url, ep)["output"] for ep in ("alpha", "beta")}
        ctrl_c(proc, log)
    assert {o["CUDA_VISIBLE_DEVICES"] for o in outputs.values()} == {"0", "1"}
    assert outputs["alpha"]["argv"][1:] == [str(pid_file)], "args after -- reach both"
    assert outputs["alpha"]["pid"] != outputs["beta"]["pid"]


CONFIG = """\
gpus = "0,1,2,3"          # the box's devices
drain_timeout = 1

[server]
port = 0
lease = 2.0

[endpoints.alpha]
handler = "alpha.py"
args = ["{pid_file}", "--model", "small"]
env = {{ HF_HOME = "/models" }}
min_workers = 1
max_workers = 1
gpus = [0, 1]
gpus_per_worker = 2

[endpoints.beta]
handler = "beta.py"
args = ["{pid_file}"]
min_workers = 0
max_workers = 2
"""


def test_a_config_file_serves_its_endpoints_with_args_env_and_scaling(tmp_path: Path) -> None:
    pid_file, log = tmp_path / "children", tmp_path / "serve.log"
    for name in ("alpha", "beta"):
        shutil.copy(HANDLERS / "with_child.py", tmp_path / f"{name}.py")
    config = tmp_path / "pitstop.toml"
    config.write_text(CONFIG.format(pid_file=pid_file))
    command = [*PITSTOP, "serve", "--config", str(config), "--data-dir", str(tmp_path / "d")]
    with running(command, log) as proc:
        url = wait_for_output(log, r"endpoint: (http://\S+)/v2/beta\n", proc, 20)
        wait_for_output(log, r"(alpha/w1 started)", proc, 10)
        assert "beta/w1 started" not in log.read_text(), "beta scales from zero"
        alpha = runsync(url, "alpha")["output"]
        beta = runsync(url, "beta")["output"]
        ctrl_c(proc, log)
    assert alpha["argv"][1:] == [str(pid_file), "--model", "small"]
    assert (alpha["HF_HOME"], beta["HF_HOME"]) == ("/models", None), "env is per endpoint"
    assert (alpha["CUDA_VISIBLE_DEVICES"], alpha["RUNPOD_GPU_COUNT"]) == ("0,1", "2")
    assert beta["CUDA_VISIBLE_DEVICES"] in ("2", "3"), "beta gets what alpha does not reserve"
    assert "beta: scaling 0 -> 1 workers" in log.read_text()


TIMEOUTS = """\
[server]
port = 0
sweep_interval = 0.02

[endpoints.alpha]
handler = "alpha.py"
execution_timeout_ms = 300

[endpoints.beta]
handler = "beta.py"
"""


def test_an_endpoints_execution_timeout_applies_to_its_jobs_only(tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    for name in ("alpha", "beta"):
        shutil.copy(HANDLERS / "sleepy.py", tmp_path / f"{name}.py")
    config = tmp_path / "pitstop.toml"
    config.write_text(TIMEOUTS)
    command = [*PITSTOP, "serve", "--config", str(config), "--data-dir", str(tmp_path / "d")]
    with running(command, log) as proc:
        url = wait_for_output(log, r"endpoint: (http://\S+)/v2/beta\n", proc, 20)
        slow = {"input": {"sleep": 1.0}}
        ids = {
            ep: httpx.post(f"{url}/v2/{ep}/run", json=slow, timeout=10).json()["id"]
            for ep in ("alpha", "beta")
        }
        explicit = {**slow, "policy": {"executionTimeout": 5000}}
        own = httpx.post(f"{url}/v2/alpha/run", json=explicit, timeout=10).json()["id"]
        ended = {
            ep: httpx.post(f"{url}/v2/{ep}/status-sync/{job_id}?wait=20000", timeout=30).json()
            for ep, job_id in ids.items()
        }
        policies = {
            job_id: httpx.get(f"{url}/pitstop/v1/jobs/{job_id}", timeout=10).json()["policy"]
            for job_id in (*ids.values(), own)
        }
        ctrl_c(proc, log)
    assert ended["alpha"]["status"] == "TIMED_OUT", ended
    assert ended["beta"]["status"] == "COMPLETED", "beta keeps the server's default timeout"
    assert policies[ids["alpha"]]["executionTimeout"] == 300
    assert policies[ids["beta"]]["executionTimeout"] == 600_000
    assert policies[own]["executionTimeout"] == 5000, "a job's own policy still wins"


def check(tmp_path: Path, text: str, *flags: str) -> tuple[int, str]:
    (tmp_path / "h.py").write_text("")
    config = tmp_path / "pitstop.toml"
    config.write_text(text)
    result = CliRunner().invoke(main, ["serve", "--config", str(config), "--check", *flags])
    return result.exit_code, result.output


def test_check_validates_and_names_file_line_and_key(tmp_path: Path) -> None:
    good = '[server]\nport = 9000\n\n[endpoints.a]\nhandler = "h.py"\ngpus = [2]\n'
    code, out = check(tmp_path, good, "--max-workers", "3")
    assert code == 0, out
    assert "OK, 1 endpoint(s) on http://127.0.0.1:9000" in out
    assert "a: " in out and "1-3 worker(s)" in out and "GPU 2, 1 per worker" in out
    assert "execution timeout 600000 ms" in out
    timed = good + "execution_timeout_ms = 90000\n"
    code, out = check(tmp_path, timed)
    assert code == 0 and "execution timeout 90000 ms" in out, out
    where = str(tmp_path / "pitstop.toml")
    cases = {
        '[endpoints.a]\nhandler = "h.py"\n\nmax_workerz = 2\n': (
            f"{where}:4: [endpoints.a] max_workerz: unknown key (did you mean max_workers?)"
        ),
        '[server]\n# port\nport = "http"\n[endpoints.a]\nhandler = "h.py"\n': (
            f"{where}:3: [server] port: 'http' is not a valid integer"
        ),
        '[endpoints.a]\nhandler = "h.py"\nreload = 3\n': (
            f"{where}:3: [endpoints.a] reload: must be true or false"
        ),
        '[endpoints.a]\nhandler = "h.py"\nconcurrency = true\n': (
            f"{where}:3: [endpoints.a] concurrency: integer range expected, not true/false"
        ),
        "[endpoints.a]\nmax_workers = 2\n": f"{where}:1: [endpoints.a]: needs a handler",
        '[endpoints.a]\nhandler = "h.py"\nexecution_timeout_ms = 0\n': (
            f"{where}:3: [endpoints.a] execution_timeout_ms: 0 is not in the range"
        ),
        '[endpoints.a]\nhandler = "h.py"\nexecution_timeout_ms = "soon"\n': (
            f"{where}:3: [endpoints.a] execution_timeout_ms: 'soon' is not a valid integer"
        ),
        '[endpoints.a]\nhandler = "h.py"\ngpu_telemetry_interval = 0\n': (
            f"{where}:3: [endpoints.a] gpu_telemetry_interval: 0.0 is not in the range"
        ),
        '[endpoints.a]\nhandler = "h.py"\ngpus = ["x"]\n': "'x' is not a device index",
        '[endpoints.a]\nhandler = "missing.py"\n': "handler file not found",
        "[server]\nport = 1\n": "no [endpoints.NAME] table",
        "port = = 1\n": "not valid TOML",
    }
    for text, expected in cases.items():
        code, out = check(tmp_path, text)
        assert code == 2 and expected in out, (text, out)
