"""Every corpus worker served by the supervisor (what ``pitstop serve`` runs) on a real server.

One server, one supervisor per corpus file (its own endpoint), a couple of jobs each, all at
once. Workers run in a temporary working directory. The file-helper worker gets a directory
of its own: ``rp_cleanup.clean``, which the image and speech workers call, always deletes
``./job_files``, where ``rp_download.file`` saves (on RunPod each worker has its own disk).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.compat.corpus_cases import CASES
from tests.compat.test_compat_corpus import CORPUS, files_url
from tests.supervisor.harness import submit, wait_status
from tests.supervisor.helpers import Lines, fast_workers
from tests.support.serving import serve_and_check

__all__ = ["fast_workers", "files_url"]

pytestmark = [pytest.mark.usefixtures("fast_workers"), pytest.mark.timeout(60)]

Client = httpx.AsyncClient


async def run(client: Client, endpoint: str, payload: Any) -> dict[str, Any]:
    return await wait_status(client, endpoint, await submit(client, endpoint, payload), timeout=10)


def error_of(job: dict[str, Any]) -> dict[str, Any]:
    assert job["status"] == "FAILED", job
    info: dict[str, Any] = json.loads(job["error"])
    return info


async def check_mock(client: Client, files: str) -> None:
    ok = await run(client, "mock_worker", {"mock_return": {"a": 1}})
    assert ok["output"] == {"a": 1}
    failed = error_of(await run(client, "mock_worker", {"mock_error": True}))
    assert (failed["error_type"], failed["error_message"]) == ("<class 'Exception'>", "Mock error")
    refreshed = await run(client, "mock_worker", {"mock_refresh": True, "mock_return": "x"})
    assert refreshed["output"] == {"mock_return": "x"}


async def check_image(client: Client, files: str) -> None:
    two = await run(client, "image_worker", {"prompt": "cat", "num_images": 2})
    assert len(two["output"]["images"]) == 2
    five = await run(client, "image_worker", {"prompt": "cat", "num_images": 5})
    assert len(five["output"]["images"]) == 5, "RunPod's validator accepts it"
    bad = await run(client, "image_worker", {"prompt": "cat", "seed": "x"})
    assert bad["status"] == "FAILED" and "seed should be" in str(bad["error"])


async def check_speech(client: Client, files: str) -> None:
    job = await run(client, "speech_worker", {"audio": f"{files}/audio.txt", "translate": True})
    assert job["output"]["transcription"] == "HELLO WORLD FROM THE AUDIO FILE"


async def check_progress(client: Client, files: str) -> None:
    job = await run(client, "progress_worker", {"steps": 4})
    assert job["output"] == {"squares": [1, 4, 9, 16]}


async def check_embedding(client: Client, files: str) -> None:
    jobs = await asyncio.gather(
        *(run(client, "embedding_worker", {"input": [f"text {i}"]}) for i in range(3))
    )
    assert [len(j["output"]["data"][0]) for j in jobs] == [4, 4, 4]


async def check_llm_stream(client: Client, files: str) -> None:
    job = await run(client, "llm_stream_worker", {"prompt": "a b c"})
    assert [chunk["tokens"] for chunk in job["output"]] == [["a", "b"], ["c"], []]
    streamed = (await client.get(f"/v2/llm_stream_worker/stream/{job['id']}")).json()
    assert [c["output"] for c in streamed["stream"]] == job["output"]


async def check_llm_server(client: Client, files: str) -> None:
    first = await run(client, "llm_server_worker", {"prompt": "abc", "refresh": True})
    assert first["output"] == {"text": "cba"}
    after = await run(client, "llm_server_worker", {"prompt": "xyz"})
    assert after["output"] == {"text": "zyx"}, "a fresh worker started its own server"


async def check_files(client: Client, files: str) -> None:
    job = await run(
        client, "files_worker", {"archive": f"{files}/bundle.zip", "text": f"{files}/notes.txt"}
    )
    assert job["status"] == "COMPLETED", job.get("error")
    assert job["output"]["extracted"] == ["a.txt", "b"]
    assert job["output"]["stored"] == ["simulated_uploaded", "local_upload", "local_upload"]
    blocked = error_of(await run(client, "files_worker", {"blocked": "10.0.0.1"}))
    assert blocked["error_type"] == "<class 'runpod.serverless.utils.rp_ssrf.SSRFError'>"


async def check_internal(client: Client, files: str) -> None:
    job = await run(client, "internal_modules_worker", {"x": 1})
    assert job["output"]["same_logger"] is True
    failed = error_of(await run(client, "internal_modules_worker", {"query_error": "q"}))
    assert failed["error_type"] == "<class 'runpod.error.QueryError'>"


CHECKS: dict[str, Callable[[Client, str], Awaitable[None]]] = {
    "mock_worker": check_mock,
    "image_worker": check_image,
    "speech_worker": check_speech,
    "progress_worker": check_progress,
    "embedding_worker": check_embedding,
    "llm_stream_worker": check_llm_stream,
    "llm_server_worker": check_llm_server,
    "files_worker": check_files,
    "internal_modules_worker": check_internal,
}


def test_every_corpus_file_has_a_serve_check() -> None:
    assert sorted(CHECKS) == sorted({c.file.removesuffix(".py") for c in CASES})


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Workers start in a fresh directory and may fetch from the loopback file server."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RUNPOD_ALLOW_PRIVATE_DOWNLOAD_URLS", "1")
    return tmp_path


async def check_with_files(
    check: Callable[[Client, str], Awaitable[None]], files_url: str, client: Client, lines: Lines
) -> None:
    await check(client, files_url)


async def serve(workdir: Path, files_url: str, names: list[str]) -> None:
    handlers = {name: str(CORPUS / f"{name}.py") for name in names}
    checks = {name: partial(check_with_files, CHECKS[name], files_url) for name in names}
    await serve_and_check(workdir, handlers, checks)


async def test_corpus_through_serve(workdir: Path, files_url: str) -> None:
    await serve(workdir, files_url, [n for n in CHECKS if n != "files_worker"])


async def test_file_helpers_worker_through_serve(workdir: Path, files_url: str) -> None:
    await serve(workdir, files_url, ["files_worker"])
