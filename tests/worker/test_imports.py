"""Import hygiene: the worker runtime stays light and side-effect free."""

from __future__ import annotations

import json
import subprocess
import sys

import runpod.serverless

HEAVY = ("fastapi", "uvicorn", "redis", "starlette", "pitstop.server", "pitstop.storage", "httpx")


def _modules(code: str) -> list[str]:
    probe = f"{code}; import sys, json; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return list(json.loads(out.stdout.splitlines()[-1]))


def test_pitstop_serverless_imports_nothing_heavy() -> None:
    loaded = _modules("import pitstop.serverless")
    assert not [m for m in loaded if any(m == h or m.startswith(h + ".") for h in HEAVY)]


def test_import_runpod_is_light_and_quiet() -> None:
    probe = (
        "import time, logging; t = time.perf_counter(); import runpod, runpod.serverless; "
        "d = time.perf_counter() - t; print(d); print(len(logging.getLogger().handlers))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    elapsed, handlers = out.stdout.split()
    assert handlers == "0"
    assert float(elapsed) < 0.5  # target 150 ms on an idle machine; shared CI cores are slower
    assert _modules("import runpod, runpod.serverless").count("asyncio") == 0


def test_public_surface() -> None:
    assert runpod.serverless.__all__ == [
        "start",
        "progress_update",
        "register_fitness_check",
        "runpod_version",
        "VolumeCache",
    ]
    for name in runpod.serverless.__all__:
        assert getattr(runpod.serverless, name) is not None
    assert callable(runpod.serverless.register_fitness_check)
