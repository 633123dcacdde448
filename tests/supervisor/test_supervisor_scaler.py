"""Desired worker counts: up at once on a backlog, down only after the idle timeout."""

from __future__ import annotations

from tests.supervisor.helpers import fast_config

from pitstop.supervisor.scaler import Scaler, desired_workers


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class _NoDemand:
    async def pending(self) -> int | None:
        return None

    def ticks(self, interval: float):  # type: ignore[no-untyped-def]
        raise NotImplementedError


def test_desired_is_ceil_of_pending_over_concurrency_clamped() -> None:
    sup = fast_config("h.py", min_workers=0, max_workers=4, concurrency=3)
    assert [desired_workers(n, sup) for n in (0, 1, 3, 4, 9, 10, 100)] == [0, 1, 1, 2, 3, 4, 4]
    floor = fast_config("h.py", min_workers=2, max_workers=4)
    assert desired_workers(0, floor) == 2


def test_scales_up_at_once_and_down_after_idle_timeout() -> None:
    clock = Clock()
    sup = fast_config("h.py", min_workers=0, max_workers=3, idle_timeout=5.0)
    scaler = Scaler(sup, _NoDemand(), lambda n: None, clock=clock)
    assert scaler.observe(0) is None
    assert scaler.observe(2) == 2
    assert scaler.observe(7) == 3
    clock.now += 4.9
    assert scaler.observe(1) is None, "down before the idle timeout"
    assert scaler.observe(3) is None
    clock.now += 4.9
    assert scaler.observe(0) is None, "the busy reading restarted the idle clock"
    clock.now += 0.2
    assert scaler.observe(0) == 0
    assert scaler.observe(1) == 1, "the next job cold-starts a worker"


def test_scales_down_step_by_step_to_the_need_of_the_last_idle_timeout() -> None:
    clock = Clock()
    sup = fast_config("h.py", min_workers=1, max_workers=4, idle_timeout=5.0)
    scaler = Scaler(sup, _NoDemand(), lambda n: None, clock=clock)
    assert scaler.observe(4) == 4
    clock.now += 3.0
    assert scaler.observe(2) is None
    clock.now += 2.5
    assert scaler.observe(2) == 2, "two workers were surplus for the idle timeout"
    clock.now += 1.0
    assert scaler.observe(0) is None, "the last two were busy a second ago"
    clock.now += 4.1
    assert scaler.observe(0) == 1, "down to min_workers, never below"
    assert scaler.observe(0) is None
