"""The hint for a worker that imports a package the official SDK used to bring along."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pitstop.supervisor.hints import EXTRA_HINT, missing_dependency_hint


def _import_error(tmp_path: Path, module: str) -> str:
    """The stderr of a real interpreter failing to import ``module`` from a handler file."""
    handler = tmp_path / "handler.py"
    handler.write_text(f"import {module}\n")
    done = subprocess.run([sys.executable, str(handler)], capture_output=True, text=True)
    assert done.returncode == 1
    return done.stderr


def test_missing_official_sdk_dependency_names_the_extra(tmp_path: Path) -> None:
    hint = missing_dependency_hint(_import_error(tmp_path, "aiohttp_retry.client"))
    assert hint is not None
    assert "'aiohttp_retry'" in hint and EXTRA_HINT in hint


def test_other_missing_modules_and_other_errors_get_no_hint(tmp_path: Path) -> None:
    assert missing_dependency_hint(_import_error(tmp_path, "no_such_module_xyz")) is None
    assert missing_dependency_hint("ValueError: boom") is None
