"""A worker's transcript: the error line, and a failure's output said only once."""

from __future__ import annotations

from tests.supervisor.helpers import Lines, until

from pitstop.supervisor.transcript import Failure, Transcript, error_line

TRACEBACK = [
    ("--- Starting worker 12 ---", False),
    ("Traceback (most recent call last):", True),
    ('  File "handler.py", line 3, in <module>', True),
    ("ModuleNotFoundError: No module named 'torch'", True),
]


def test_error_line_prefers_stderr_then_an_error_on_stdout() -> None:
    assert error_line(TRACEBACK) == "ModuleNotFoundError: No module named 'torch'"
    stdout_only = [("ERROR | job 1 | CUDA out of memory", False), ("bye", False)]
    assert error_line(stdout_only) == "ERROR | job 1 | CUDA out of memory"
    assert error_line([("Started.", False)]) == ""
    assert error_line([("x" * 1000, True)]).endswith("...")


async def test_a_repeat_of_the_failure_is_held_back_entirely() -> None:
    first, again = Lines(), Lines()
    failed = Transcript("w1 | ", first)
    for text, is_err in TRACEBACK:
        failed(text, is_err)
    failure = failed.failure(1)
    assert first.text().count("Traceback") == 1 and failure.error.startswith("ModuleNotFound")

    replay = Transcript("w2 | ", again, replay_of=failure)
    replay("--- Starting worker 345 ---", False)  # numbers differ on every run
    for text, is_err in TRACEBACK[1:]:
        replay(text, is_err)
    assert replay.repeated
    assert again.lines == [], "nothing printed"


async def test_a_different_line_releases_the_held_ones_first() -> None:
    out = Lines()
    announced: list[str] = []
    replay = Transcript("w2 | ", out, replay_of=Failure(1, tuple(TRACEBACK), ()))
    replay.on_release = lambda: announced.append("started")
    replay(*TRACEBACK[0])
    replay("Ready for jobs", False)
    assert not replay.repeated
    assert announced == ["started"]
    assert [line for line, _ in out.lines] == [
        "w2 | --- Starting worker 12 ---",
        "w2 | Ready for jobs",
    ]


async def test_held_lines_are_released_after_the_hold_limit() -> None:
    out = Lines()
    replay = Transcript("w2 | ", out, replay_of=Failure(1, tuple(TRACEBACK), ()), hold_limit=0.01)
    replay(*TRACEBACK[0])
    await until(lambda: out.lines, timeout=2, what="the release")
    assert out.lines == [("w2 | --- Starting worker 12 ---", False)]
    assert not replay.repeated
