"""The corpus cases: which worker file runs with which ``--test_input``, and what may differ.

Each ``Case`` names a file of ``tests/compat/corpus``, the job input, extra arguments and
environment, the exit code both SDKs must give, and the deliberate differences (a key of
``DELIBERATE`` in test_compat_worker.py) with the output each side shows for it: ``drop``
removes those parts from one runtime's output before the comparison, ``shows`` must be in
that runtime's raw output (so both sides of a difference are asserted).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.support.procs import OFFICIAL, PITSTOP

ALLOW_PRIVATE = {"RUNPOD_ALLOW_PRIVATE_DOWNLOAD_URLS": "1"}
FILES = "{files}"
"""Replaced by the URL of the test's loopback file server."""


@dataclass(frozen=True)
class Case:
    """One local-mode run of a corpus file under both SDKs."""

    name: str
    file: str
    input: Any
    code: int = 0
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    deliberate: str | None = None
    drop: dict[str, tuple[str, ...]] = field(default_factory=dict)
    shows: dict[str, tuple[str, ...]] = field(default_factory=dict)
    needs_surface: bool = False
    """Imports official modules that only the runpod surface branch provides."""


GENERATOR_LINES = {
    OFFICIAL: (r".*\| (Handler output|run_job return|Job result): .*generator object.*",),
    PITSTOP: (r".*\| (Stream chunk \d+|run_job return|Job result): .*",),
}
GENERATOR_SHOWS = {OFFICIAL: ("generator object",), PITSTOP: ("Stream chunk 0: ",)}
UPLOAD_WARNING = r"WARN   \| No bucket endpoint set .*"
SSRF_HINT = r"; set RUNPOD_ALLOW_PRIVATE_DOWNLOAD_URLS=true to allow private destinations"

CASES: tuple[Case, ...] = (
    Case("mock-return", "mock_worker.py", {"mock_return": {"a": [1, "ü"]}}),
    Case("mock-default", "mock_worker.py", {}),
    Case("mock-error", "mock_worker.py", {"mock_error": True}, code=1),
    Case("mock-refresh", "mock_worker.py", {"mock_refresh": True, "mock_return": "x"}),
    Case(
        "mock-generator",
        "mock_worker.py",
        {"mock_return": ["a", "b"]},
        args=("--generator",),
        deliberate="local-generator-drained",
        drop=GENERATOR_LINES,
        shows=GENERATOR_SHOWS,
    ),
    Case("image-defaults", "image_worker.py", {"prompt": "cat"}),
    Case(
        "image-five-images",
        "image_worker.py",
        {"prompt": "cat", "num_images": 5},
        deliberate="validator-skip-warns",
        drop={PITSTOP: (r"WARN   \| rp_validator: input 'num_images' .*",)},
        shows={PITSTOP: ("input 'num_images' does not meet its constraints",)},
    ),
    Case("image-bad-input", "image_worker.py", {"prompt": "cat", "seed": "x", "nope": 1}, code=1),
    Case("image-text-count", "image_worker.py", {"prompt": "cat", "num_images": "2"}, code=1),
    Case("image-to-image-refresh", "image_worker.py", {"prompt": "cat", "image_url": "u.png"}),
    Case("image-pipeline-error", "image_worker.py", {"prompt": "explode"}, code=1),
    Case(
        "speech",
        "speech_worker.py",
        {"audio": f"{FILES}/audio.txt", "temperature": 1, "translate": True},
        env=ALLOW_PRIVATE,
    ),
    Case(
        "speech-debugger",
        "speech_worker.py",
        {"audio": f"{FILES}/audio.txt"},
        args=("--rp_debugger",),
        env=ALLOW_PRIVATE,
        deliberate="local-debugger-output",
        drop={PITSTOP: (r", 'rp_debugger': \{.*\}(?=\}\}$)",)},
        shows={PITSTOP: ("'rp_debugger': {'system_info'",)},
    ),
    Case(
        "speech-private-url",
        "speech_worker.py",
        {"audio": f"{FILES}/audio.txt"},
        code=1,
        deliberate="ssrf-message-hint",
        drop={PITSTOP: (SSRF_HINT,)},
        shows={
            OFFICIAL: ("<class 'runpod.serverless.utils.rp_ssrf.SSRFError'>",),
            PITSTOP: ("<class 'runpod.serverless.utils.rp_ssrf.SSRFError'>", SSRF_HINT[2:25]),
        },
    ),
    Case("speech-no-audio", "speech_worker.py", {"model": "large"}, code=1),
    Case(
        "progress",
        "progress_worker.py",
        {"steps": 3},
        deliberate="local-progress-not-sent",
        drop={
            OFFICIAL: (
                r"ERROR  \| local_test \| Failed to return job results\. \| JOB_DONE_URL\S*",
                r"DEBUG  \| local_test \| Progress Update Sent: step \d/\d",
            )
        },
        shows={PITSTOP: ("Sending Progress Update: step 3/3",)},
    ),
    Case("embedding", "embedding_worker.py", {"input": ["a b", "c"]}),
    Case("embedding-models", "embedding_worker.py", {"openai_route": "/v1/models"}),
    Case("embedding-unknown-model", "embedding_worker.py", {"input": "x", "model": "nope"}),
    Case(
        "llm-stream",
        "llm_stream_worker.py",
        {"prompt": "a b c"},
        deliberate="local-generator-drained",
        drop=GENERATOR_LINES,
        shows=GENERATOR_SHOWS,
    ),
    Case("llm-server", "llm_server_worker.py", {"prompt": "abc"}),
    Case("llm-server-refresh", "llm_server_worker.py", {"prompt": "xy", "refresh": True}),
    Case(
        "files",
        "files_worker.py",
        {"archive": f"{FILES}/bundle.zip", "text": f"{FILES}/notes.txt"},
        env=ALLOW_PRIVATE,
        deliberate="upload-fallback-warning",
        drop={PITSTOP: (UPLOAD_WARNING,)},
        shows={PITSTOP: ("WARN   | No bucket endpoint set",)},
    ),
    Case("files-own-error", "files_worker.py", {"reject": "video"}, code=1),
    Case("files-ssrf-error", "files_worker.py", {"blocked": "10.0.0.1"}, code=1),
    Case("internal-modules", "internal_modules_worker.py", {"x": 1}, needs_surface=True),
    Case(
        "internal-query-error",
        "internal_modules_worker.py",
        {"query_error": "bad query"},
        code=1,
        needs_surface=True,
    ),
)

MUST_SHOW: dict[str, tuple[str, ...]] = {
    "mock-return": ("DEBUG  | local_test | run_job return: {'output': {'a': [1, 'ü']}}",),
    "mock-error": (
        "ERROR  | local_test | Captured Handler Exception",
        '    "error_type": "<class \'Exception\'>",',
    ),
    "mock-refresh": ("INFO   | Job result: {'output': {'mock_return': 'x'}, 'stopPod': True}",),
    "image-five-images": ("'num_images': 5",),
    "files-ssrf-error": ("<class 'runpod.serverless.utils.rp_ssrf.SSRFError'>",),
    "internal-query-error": ("<class 'runpod.error.QueryError'>",),
}
"""Lines users look for, asserted in both outputs (the comparison already makes them equal)."""
