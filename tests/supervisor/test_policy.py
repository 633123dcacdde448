"""Restart delays: at once after a clean exit, exponential after crashes, reset when stable."""

from __future__ import annotations

from pitstop.supervisor.policy import ExitRecord, RestartPolicy


def exit_(code: int, uptime: float = 1.0) -> ExitRecord:
    return ExitRecord("w1", "x-w1", code, uptime)


def test_crashes_back_off_exponentially_up_to_the_max() -> None:
    policy = RestartPolicy(base=0.5, max=3.0, threshold=3, stable_after=10.0)
    delays = [policy.record(exit_(1)) for _ in range(5)]
    assert delays == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert policy.crash_loop
    assert policy.summary() == "5 crashes in a row: exit 1, exit 1, exit 1, exit 1, exit 1"


def test_a_clean_exit_or_a_long_run_ends_the_streak() -> None:
    policy = RestartPolicy(base=0.5, max=30.0, threshold=2, stable_after=10.0)
    policy.record(exit_(1))
    policy.record(exit_(-9))
    assert policy.crash_loop
    assert policy.record(exit_(0)) == 0.0
    assert not policy.crash_loop
    policy.record(exit_(1))
    assert policy.record(exit_(1, uptime=60.0)) == 0.5, "crash after a long run: new streak"
    assert not policy.crash_loop


def test_a_clean_exit_is_replaced_no_sooner_than_base_after_its_start() -> None:
    policy = RestartPolicy(base=0.5, max=30.0, threshold=2, stable_after=10.0)
    assert policy.record(exit_(0, uptime=0.1)) == 0.4
    assert policy.record(exit_(0, uptime=0.7)) == 0.0
