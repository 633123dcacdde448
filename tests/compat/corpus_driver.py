"""Run many worker files in local test mode under one SDK, paying its import once.

``python corpus_driver.py SPEC.json RESULTS.json``, run by the official SDK's interpreter or
by pitstop's. The spec is ``{"preload": [module, ...], "parallel": n, "cases": [{"name",
"file", "args", "env", "workdir", "timeout"}, ...]}``. The driver imports the preload
modules (the SDK's slow part, ~2 s for runpod 1.12.0), then forks one child per case, at
most ``parallel`` at a time. Each child is ``python FILE ARGS...`` as far as the worker can
tell: its own working directory, environment additions, ``sys.argv``, ``sys.path[0]`` and
``__main__``, stdout and stderr in ``WORKDIR/stdout.txt`` and ``stderr.txt``, atexit hooks
run at exit. RESULTS is ``{case name: exit code}`` (``null`` when the case timed out and
was killed). Only the standard library is imported here: this file runs in both virtualenvs.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import json
import os
import runpy
import signal
import sys
import time
from typing import Any


def run_case(case: dict[str, Any]) -> int:
    """In the forked child: become ``python FILE ARGS`` and return its exit code."""
    workdir = case["workdir"]
    os.chdir(workdir)
    os.environ.update(case.get("env", {}))
    for fd, name in ((1, "stdout.txt"), (2, "stderr.txt")):
        target = os.open(os.path.join(workdir, name), os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(target, fd)
        os.close(target)
    path = case["file"]
    sys.argv = [path, *case.get("args", [])]
    sys.path[0] = os.path.dirname(path)
    code = 0
    try:
        runpy.run_path(path, run_name="__main__")
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    atexit._run_exitfuncs()
    return code


def spawn(case: dict[str, Any]) -> int:
    """Fork a child that runs ``case``; the parent gets its pid."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            code = run_case(case)
        finally:
            with contextlib.suppress(Exception):
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(code)
    return pid


def run_all(cases: list[dict[str, Any]], parallel: int) -> dict[str, int | None]:
    """Run every case (at most ``parallel`` at once); exit code per case name."""
    waiting = list(cases)
    running: dict[int, tuple[str, float]] = {}
    results: dict[str, int | None] = {}
    while waiting or running:
        while waiting and len(running) < parallel:
            case = waiting.pop(0)
            running[spawn(case)] = (case["name"], time.monotonic() + case.get("timeout", 20))
        for pid, (name, deadline) in list(running.items()):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                results[name] = os.waitstatus_to_exitcode(status)
                del running[pid]
            elif time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                results[name] = None
                del running[pid]
        time.sleep(0.01)
    return results


def main(spec_path: str, results_path: str) -> None:
    with open(spec_path, encoding="utf-8") as fh:
        spec = json.load(fh)
    for module in spec.get("preload", []):
        with contextlib.suppress(ImportError):
            importlib.import_module(module)
    results = run_all(spec["cases"], int(spec.get("parallel", 4)))
    with open(results_path, "w", encoding="utf-8") as fh:
        json.dump(results, fh)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
