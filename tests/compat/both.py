"""Run one stdlib-plus-``runpod`` script under the official SDK and under pitstop at once.

``run_script(script, tmp_path, *args)`` starts ``python SCRIPT WORKDIR OUT.json *args`` with
each runtime's interpreter (a clean environment, its own work directory) and returns
``{runtime: Answer}``: the JSON the script wrote to ``OUT.json`` and what it printed.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.procs import OFFICIAL, PITSTOP, clean_env, python_for


@dataclass
class Answer:
    """What a script wrote and printed under one runtime."""

    data: Any
    printed: str


def run_script(script: Path, tmp_path: Path, *args: str, timeout: float = 30) -> dict[str, Answer]:
    """Run ``script`` under both runtimes concurrently; AssertionError if either fails."""
    started = {}
    for runtime in (OFFICIAL, PITSTOP):
        workdir = tmp_path / runtime
        workdir.mkdir(parents=True, exist_ok=True)
        out = workdir / "answer.json"
        cmd = [python_for(runtime), str(script), str(workdir), str(out), *args]
        proc = subprocess.Popen(
            cmd,
            env=clean_env(workdir, {}),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=workdir,
        )
        started[runtime] = (out, proc)
    answers = {}
    for runtime, (out, proc) in started.items():
        printed = proc.communicate(timeout=timeout)[0].decode()
        assert proc.returncode == 0, f"{runtime} exited {proc.returncode}:\n{printed}"
        answers[runtime] = Answer(json.loads(out.read_text()), printed)
    return answers
