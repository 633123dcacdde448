"""Process groups: signal one, tell whether any of it still runs, end what a worker left behind.

Every worker leads its own process group, and whatever it starts (an inference server, a
shell, their children) joins it. When the worker exits, its children are re-parented to init;
until init reaps them they linger as zombies, which ``killpg(pgid, 0)`` still counts. So on
Linux liveness is read from ``/proc``: a group is alive while a member that is not a zombie
exists.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable

GROUP_POLL = 0.05
"""Seconds between checks that an exited worker's leftover processes are gone."""
_PROC = "/proc"


def signal_group(pgid: int, sig: int) -> bool:
    """Send ``sig`` to every process in group ``pgid``; False when the group is empty."""
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def group_alive(pgid: int) -> bool:
    """True while a process of group ``pgid`` runs (zombies excluded where ``/proc`` says)."""
    if not signal_group(pgid, 0):
        return False
    try:
        names = os.listdir(_PROC)
    except OSError:
        return True
    return any(_running_member(name, pgid) for name in names if name.isdigit())


def _running_member(pid: str, pgid: int) -> bool:
    try:
        with open(f"{_PROC}/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        return False
    # After "pid (comm) " come state, ppid, pgrp; comm may itself hold spaces and parentheses.
    fields = stat[stat.rfind(b")") + 2 :].split()
    return len(fields) > 2 and fields[2] == str(pgid).encode() and fields[0] != b"Z"


def terminate_group(pgid: int) -> bool:
    """SIGTERM to group ``pgid`` if any of it still runs; False when nothing was left."""
    return group_alive(pgid) and signal_group(pgid, signal.SIGTERM)


async def outlive_group(pgid: int, deadline: Callable[[], float]) -> bool:
    """Wait until nothing of group ``pgid`` runs, or SIGKILL it once ``deadline()`` passed
    (True then). ``deadline`` (monotonic) is asked again on every check, so a later Ctrl-C
    can bring it forward."""
    while group_alive(pgid):
        if time.monotonic() >= deadline():
            killed = signal_group(pgid, signal.SIGKILL)
            await _gone(pgid, time.monotonic() + KILL_WAIT)
            return killed
        await asyncio.sleep(GROUP_POLL)
    return False


KILL_WAIT = 5.0
"""Longest wait for a SIGKILLed group to vanish (a process stuck in the kernel may take a
while); a GPU set is only handed on once its group has gone."""


async def _gone(pgid: int, until: float) -> None:
    while group_alive(pgid) and time.monotonic() < until:
        await asyncio.sleep(GROUP_POLL / 5)
