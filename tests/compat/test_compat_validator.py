"""rp_validator gives the official SDK's answers: every case of ``validator_cases.py`` is run
by runpod 1.12.0 and by pitstop (each in its own interpreter) and the answers must be equal,
returned values and raised exceptions alike."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from tests.compat.test_compat_worker import deliberate
from tests.support.procs import OFFICIAL, PITSTOP, clean_env, python_for

pytestmark = [pytest.mark.compat, pytest.mark.timeout(60)]

CASES = Path(__file__).with_name("validator_cases.py")


def answers(tmp_path: Path) -> dict[str, dict[str, str]]:
    """Run the cases under both runtimes at once; ``{runtime: {case: answer}}``."""
    procs = {}
    for runtime in (OFFICIAL, PITSTOP):
        out = tmp_path / f"{runtime}.json"
        procs[runtime] = (
            out,
            subprocess.Popen(
                [python_for(runtime), str(CASES), str(out)],
                env=clean_env(tmp_path, {}),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                cwd=tmp_path,
            ),
        )
    results = {}
    for runtime, (out, proc) in procs.items():
        printed = proc.communicate(timeout=30)[0].decode()
        assert proc.returncode == 0, f"{runtime}:\n{printed}"
        results[runtime] = json.loads(out.read_text())
        results[runtime]["<stdout>"] = printed
    return results


def test_validator_answers_match_the_official_sdk(tmp_path: Path) -> None:
    results = answers(tmp_path)
    off, pit = results[OFFICIAL], results[PITSTOP]
    printed = pit.pop("<stdout>")
    off.pop("<stdout>")
    deliberate("validator-schema-kept")
    assert (off.pop("<schema-after>"), pit.pop("<schema-after>")) == ("dict", "str")
    assert len(off) > 40
    mismatched = {name: (off[name], pit.get(name)) for name in off if off[name] != pit.get(name)}
    assert mismatched == {}
    quirk = off["sdxl-quirk-5-images"]
    assert quirk.startswith("{'validated_input': {'prompt': 'cat', 'num_images': 5"), quirk
    deliberate("validator-skip-warns")
    warned = [line for line in printed.splitlines() if line.startswith("WARN")]
    assert [line.split("'")[1] for line in warned] == ["num_images", "num_images", "mode"]
