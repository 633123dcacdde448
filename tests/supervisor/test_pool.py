"""The pool's loop with plain scripts as workers (no server): restarts, backoff, drain, scale."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable

from tests.supervisor.helpers import Lines, alive, fast_config, plain_env, until

from pitstop.supervisor.events import CrashReport, Reload, Scale, Stop
from pitstop.supervisor.pool import EXIT_DRAINED, EXIT_FORCED, Pool

PID_THEN_EXIT0 = "import os\nprint('pid', os.getpid(), flush=True)\n"
CRASH_AT_IMPORT = "import sys\nsys.exit(1)\n"
# Waits until SIGTERM, then says so and exits 0 (what a draining worker does).
WAIT_FOR_TERM = """
import os, signal, sys, time
signal.signal(signal.SIGTERM, lambda *_: (print('drained', os.getpid(), flush=True), sys.exit(0)))
print('ready', os.getpid(), flush=True)
while True:
    time.sleep(0.05)
"""
# Exits at once, leaving a child that holds its stdout and stderr open.
EXIT_LEAVING_CHILD = """
import subprocess, sys
child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])
print('child', child.pid, flush=True)
"""
IGNORE_TERM = """
import signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
print('ready', flush=True)
while True:
    time.sleep(0.05)
"""


async def test_clean_exit_is_replaced_at_once(
    script: Callable[[str, str], str], lines: Lines
) -> None:
    pool = Pool(fast_config(script("w.py", PID_THEN_EXIT0)), plain_env, sink=lines)
    task = asyncio.create_task(pool.run())
    await until(lambda: len(pool.exits) >= 3, what="three clean exits")
    pool.post(Stop())
    assert await task == EXIT_DRAINED
    pids = {line.split()[-1] for line, _ in lines.lines if " | pid " in line}
    assert len(pids) >= 3
    assert all(d == 0.0 for d in pool.policy.delays)
    assert not pool.policy.crash_loop


async def test_crash_loop_backs_off_and_is_reported(
    script: Callable[[str, str], str], lines: Lines
) -> None:
    reports: list[CrashReport] = []

    async def report(crash: CrashReport) -> None:
        reports.append(crash)

    sup = fast_config(script("crash.py", CRASH_AT_IMPORT))
    pool = Pool(sup, plain_env, sink=lines, report_unhealthy=report)
    task = asyncio.create_task(pool.run())
    await until(lambda: len(reports) >= 5, what="five crashes reported")
    pool.post(Stop())
    assert await task == EXIT_DRAINED
    assert pool.policy.delays[:5] == [0.01, 0.02, 0.04, 0.08, 0.08]
    assert [r.check for r in reports[:5]] == ["crashed"] * 3 + ["crash_loop"] * 2
    assert reports[0].exit_code == 1 and reports[0].reason == "exit 1"
    assert reports[3].reason.startswith("4 crashes in a row: exit 1, exit 1, exit 1, exit 1")
    assert len({r.worker_id for r in reports}) == 1, "a replacement keeps the worker id"
    assert lines.text().count("UNHEALTHY: crash loop") == 1, "said once"
    assert lines.has("crashed (exit 1)")


async def test_sigkill_is_a_crash_with_backoff(
    script: Callable[[str, str], str], lines: Lines
) -> None:
    pool = Pool(fast_config(script("w.py", WAIT_FOR_TERM)), plain_env, sink=lines)
    task = asyncio.create_task(pool.run())
    await until(lambda: lines.has("w1 | ready"), what="w1 ready")
    first = pool.workers[0]
    os.kill(first.pid, signal.SIGKILL)
    await until(lambda: lines.has("w2 | ready"), what="replacement w2")
    assert pool.exits[0].code == -signal.SIGKILL
    assert pool.policy.delays == [0.01]
    assert lines.has("w1 crashed (signal SIGKILL)")
    pool.post(Stop())
    assert await task == EXIT_DRAINED


async def test_drain_sends_sigterm_and_waits(
    script: Callable[[str, str], str], lines: Lines
) -> None:
    sup = fast_config(script("w.py", WAIT_FOR_TERM), min_workers=2, max_workers=2)
    pool = Pool(sup, plain_env, sink=lines)
    task = asyncio.create_task(pool.run())
    await until(lambda: lines.has("w1 | ready") and lines.has("w2 | ready"), what="two workers")
    pool.post(Stop("terminated"))
    assert await asyncio.wait_for(task, 5) == EXIT_DRAINED
    assert lines.has("w1 | drained") and lines.has("w2 | drained")
    assert [e.code for e in pool.exits] == [0, 0]
    assert pool.spawned == 2


async def test_drain_timeout_kills_stragglers(
    script: Callable[[str, str], str], lines: Lines
) -> None:
    sup = fast_config(script("w.py", IGNORE_TERM), drain_timeout=0.2)
    pool = Pool(sup, plain_env, sink=lines)
    task = asyncio.create_task(pool.run())
    await until(lambda: lines.has("w1 | ready"), what="w1 ready")
    pool.post(Stop())
    assert await asyncio.wait_for(task, 5) == EXIT_DRAINED
    assert lines.has("w1 did not drain in time; killing it")
    assert pool.exits[0].code == -signal.SIGKILL


async def test_second_stop_kills_at_once(script: Callable[[str, str], str], lines: Lines) -> None:
    sup = fast_config(script("w.py", IGNORE_TERM), drain_timeout=30.0)
    pool = Pool(sup, plain_env, sink=lines)
    task = asyncio.create_task(pool.run())
    await until(lambda: lines.has("w1 | ready"), what="w1 ready")
    pool.post(Stop())
    pool.post(Stop())
    assert await asyncio.wait_for(task, 5) == EXIT_FORCED
    assert pool.exits[0].code == -signal.SIGKILL


async def test_scale_events_spawn_and_retire(
    script: Callable[[str, str], str], lines: Lines
) -> None:
    sup = fast_config(script("w.py", WAIT_FOR_TERM), min_workers=0, max_workers=3)
    pool = Pool(sup, plain_env, sink=lines)
    task = asyncio.create_task(pool.run())
    pool.post(Scale(5))  # clamped to max_workers
    await until(lambda: lines.text().count("| ready") == 3, what="three ready workers")
    pool.post(Scale(1))
    await until(lambda: len(pool.workers) == 1, what="surplus retired")
    assert [e.code for e in pool.exits] == [0, 0]
    assert pool.policy.delays == [], "retired workers must not count as restarts"
    pool.post(Scale(0))
    await until(lambda: not pool.workers, what="scale to zero")
    pool.post(Stop())
    assert await task == EXIT_DRAINED
    assert pool.spawned == 3


async def test_reload_replaces_every_worker(
    script: Callable[[str, str], str], lines: Lines
) -> None:
    pool = Pool(fast_config(script("w.py", WAIT_FOR_TERM)), plain_env, sink=lines)
    task = asyncio.create_task(pool.run())
    await until(lambda: lines.has("w1 | ready"), what="w1 ready")
    pool.post(Reload(("w.py",)))
    await until(lambda: lines.has("w2 | ready"), what="w2 after reload")
    assert lines.has("w1 | drained")
    assert lines.has("w.py changed; restarting workers")
    pool.post(Stop())
    assert await task == EXIT_DRAINED


async def test_output_lines_carry_the_worker_label(
    script: Callable[[str, str], str], lines: Lines
) -> None:
    body = "import sys\nprint('[job-1] out')\nprint('err line', file=sys.stderr)\nprint('x' * 200000)\n"
    pool = Pool(fast_config(script("w.py", body), restart_backoff_base=5.0), plain_env, sink=lines)
    task = asyncio.create_task(pool.run())
    await until(lambda: pool.exits, what="the worker to finish")
    pool.post(Stop())
    await task
    assert ("w1 | [job-1] out", False) in lines.lines
    assert ("w1 | err line", True) in lines.lines
    assert ("w1 | " + "x" * 200000, False) in lines.lines


async def test_exit_is_seen_while_a_child_holds_the_pipes_and_the_child_is_ended(
    script: Callable[[str, str], str], lines: Lines
) -> None:
    # One run only (a 5 s restart delay): the exit must be seen while the child holds the pipes.
    pool = Pool(
        fast_config(script("w.py", EXIT_LEAVING_CHILD), restart_backoff_base=5.0),
        plain_env,
        sink=lines,
    )
    task = asyncio.create_task(pool.run())
    await until(lambda: pool.exits, timeout=5, what="the exit, pipes still open")
    child = int(next(line for line, _ in lines.lines if "| child " in line).split()[-1])
    await until(lambda: not alive(child), timeout=5, what="the leftover child to end")
    await until(lambda: lines.has("w1 left processes running: SIGTERM to its group (pgid"))
    pool.post(Stop())
    assert await task == EXIT_DRAINED
