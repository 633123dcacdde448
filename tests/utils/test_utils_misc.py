"""clean, the debugger, the model-cache path, the runpod re-exports and import hygiene."""

from __future__ import annotations

import datetime
import subprocess
import sys
from pathlib import Path

import pytest

import runpod.serverless.utils as rp_utils
from runpod.serverless.utils.rp_cleanup import clean
from runpod.serverless.utils.rp_debugger import (
    Checkpoints,
    FunctionTimer,
    LineTimer,
    get_debugger_output,
)
from runpod.serverless.utils.rp_model_cache import (
    resolve_model_cache_path_from_hugginface_repository as resolve,
)


def test_utils_all_is_runpods() -> None:
    assert sorted(rp_utils.__all__) == sorted(
        [
            "download_files_from_urls",
            "upload_file_to_bucket",
            "upload_in_memory_object",
            "VolumeCache",
        ]
    )
    for name in rp_utils.__all__:
        assert callable(getattr(rp_utils, name))


def test_clean_removes_scratch_folders_but_not_jobs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for folder in ("input_objects", "output_objects", "job_files", "jobs", "extra", "keep"):
        (tmp_path / folder / "sub").mkdir(parents=True)
        (tmp_path / folder / "sub" / "f").write_text("x")
    (tmp_path / "output.zip").write_text("zip")
    clean(["extra", "does-not-exist"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["jobs", "keep"]
    clean()  # nothing left to delete is fine


@pytest.fixture
def checkpoints() -> Checkpoints:
    cp = Checkpoints()
    cp.clear()
    return cp


def test_checkpoints_is_a_singleton_with_keyerrors(checkpoints: Checkpoints) -> None:
    assert Checkpoints() is checkpoints
    checkpoints.add("load")
    with pytest.raises(KeyError):
        checkpoints.add("load")
    with pytest.raises(KeyError):
        checkpoints.stop("load")
    with pytest.raises(KeyError):
        checkpoints.start("unknown")


def test_timers_feed_the_debugger_output(checkpoints: Checkpoints) -> None:
    @FunctionTimer
    def infer(x: int) -> int:
        return x * 2

    with LineTimer("load_model"):
        pass
    assert infer(2) == 4
    assert infer(3) == 6  # a second call in the same job must not raise (1.12.0 did)
    with LineTimer("load_model"):
        pass
    output = get_debugger_output()
    names = [t["name"] for t in output["timestamps"]]
    assert names == ["load_model", "infer", "infer#2", "load_model#2"]
    for stamp in output["timestamps"]:
        assert stamp["duration_ms"] >= 0
        assert stamp["start_utc"].endswith("Z") and "+00:00" not in stamp["start_utc"]
        datetime.datetime.fromisoformat(stamp["stop_utc"].replace("Z", "+00:00"))
    assert set(output["system_info"]) == {"os", "processor", "python_version", "runpod"}
    assert get_debugger_output()["timestamps"] == []  # drained


@pytest.mark.parametrize(
    ("repo", "path"),
    [
        (
            "runwayml/stable-diffusion-v1-5:experimental",
            "/runpod/cache/runwayml/stable-diffusion-v1-5/experimental",
        ),
        ("runwayml/stable-diffusion-v1-5", "/runpod/cache/runwayml/stable-diffusion-v1-5/main"),
        ("stable-diffusion-v1-5:main", "/runpod/cache/stable-diffusion-v1-5/main"),
        ("org/model:a:b", "/runpod/cache/org/model:a/b"),
    ],
)
def test_model_cache_path(repo: str, path: str) -> None:
    assert resolve(repo) == path


def test_model_cache_path_custom_template_and_empty_model(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert resolve("m:r", path_template="/c/{revision}/{model}") == "/c/r/m"
    assert resolve(":experimental") is None
    assert "Unable to resolve the model-cache path" in capsys.readouterr().out


def test_importing_the_utilities_is_cheap_and_configures_no_logging() -> None:
    code = (
        "import logging, sys\n"
        "import runpod.serverless, pitstop.serverless\n"
        "before = set(sys.modules)\n"
        "import runpod.serverless.utils\n"
        "from runpod.serverless.utils import rp_validator, rp_cleanup, rp_download, rp_upload,"
        " rp_debugger, rp_model_cache, rp_volume_cache\n"
        "import pitstop.serverless.fitness\n"
        "assert logging.getLogger().handlers == [], logging.getLogger().handlers\n"
        "heavy = [m for m in ('boto3', 'botocore', 'httpx') if m in set(sys.modules) - before]\n"
        "assert not heavy, heavy\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
