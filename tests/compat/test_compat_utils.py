"""Utilities give the official SDK's answers: each case script runs under runpod 1.12.0 and
under pitstop (each in its own interpreter) and the answers are compared.

* ``validator_cases.py``: every schema and input, returned values and raised exceptions alike;
* ``volume_cache_cases.py``: VolumeCache sync and hydrate with bytes paths.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.compat.both import run_script
from tests.compat.test_compat_worker import deliberate
from tests.support.procs import OFFICIAL, PITSTOP

pytestmark = [pytest.mark.compat, pytest.mark.timeout(60)]

HERE = Path(__file__).parent


def test_validator_answers_match_the_official_sdk(tmp_path: Path) -> None:
    answers = run_script(HERE / "validator_cases.py", tmp_path)
    off, pit = answers[OFFICIAL].data, answers[PITSTOP].data
    deliberate("validator-schema-kept")
    assert (off.pop("<schema-after>"), pit.pop("<schema-after>")) == ("dict", "str")
    assert len(off) > 40
    mismatched = {name: (off[name], pit.get(name)) for name in off if off[name] != pit.get(name)}
    assert mismatched == {}
    quirk = off["sdxl-quirk-5-images"]
    assert quirk.startswith("{'validated_input': {'prompt': 'cat', 'num_images': 5"), quirk
    deliberate("validator-skip-warns")
    assert "WARN" not in answers[OFFICIAL].printed
    warned = [ln for ln in answers[PITSTOP].printed.splitlines() if ln.startswith("WARN")]
    assert [line.split("'")[1] for line in warned] == ["num_images", "num_images", "mode"]


def test_volume_cache_matches_the_official_sdk(tmp_path: Path) -> None:
    answers = run_script(HERE / "volume_cache_cases.py", tmp_path)
    off, pit = answers[OFFICIAL].data, answers[PITSTOP].data
    assert off["sync_returns"] == pit["sync_returns"] == "None"
    assert off["available"] and pit["available"]
    assert off["vocab_back"] and pit["vocab_back"]
    deliberate("volume-cache-keeps-newer-local")
    assert (off["edit_kept"], off["hydrated"]) == (False, 2)
    assert (pit["edit_kept"], pit["hydrated"]) == (True, 1)
