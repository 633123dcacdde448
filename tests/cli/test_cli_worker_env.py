"""``pitstop worker-env``: RunPod's worker variables for an official-SDK worker."""

from __future__ import annotations

import json

from click.testing import CliRunner

from pitstop.cli import main

URL = "http://gpu-box:8000"


def _run(*args: str) -> str:
    result = CliRunner().invoke(main, ["--url", URL, *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_docker_format_is_an_env_file_with_literal_placeholders() -> None:
    lines = _run("worker-env", "sdxl", "--key", "wk", "--worker-id", "w7", "--format", "docker")
    variables = dict(line.split("=", 1) for line in lines.splitlines() if not line.startswith("#"))
    assert variables == {
        "RUNPOD_WEBHOOK_GET_JOB": f"{URL}/v2/sdxl/job-take/$ID?gpu=none",
        "RUNPOD_WEBHOOK_POST_OUTPUT": f"{URL}/v2/sdxl/job-done/$RUNPOD_POD_ID/$ID?gpu=none",
        "RUNPOD_WEBHOOK_POST_STREAM": f"{URL}/v2/sdxl/job-stream/$RUNPOD_POD_ID/$ID?gpu=none",
        "RUNPOD_WEBHOOK_PING": f"{URL}/v2/sdxl/ping/$RUNPOD_POD_ID?gpu=none",
        "RUNPOD_AI_API_KEY": "wk",
        "RUNPOD_POD_ID": "w7",
        "RUNPOD_ENDPOINT_ID": "sdxl",
    }


def test_each_call_without_worker_id_gives_a_new_pod_id() -> None:
    first = json.loads(_run("--json", "worker-env", "sdxl"))["RUNPOD_POD_ID"]
    second = json.loads(_run("--json", "worker-env", "sdxl"))["RUNPOD_POD_ID"]
    assert first != second
