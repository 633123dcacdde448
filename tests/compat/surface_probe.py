"""Exercise the official SDK's worker-side names; run by test_surface.py under both SDKs.

``python surface_probe.py`` imports ``runpod`` (the official SDK or pitstop's facade,
whichever the interpreter has), calls the names worker code uses and prints one line
``PROBE-RESULT <json>``: ``{probe: value}``. Log lines the calls print come before it.
With ``PROBE_PLATFORM`` set (a ``FakePlatform`` URL with one job queued and one stop id
pending), the wire helpers (``rp_job.get_job``, ``rp_http.send_result``, ...) also run
against it, with their module URL settings assigned after import.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Callable
from typing import Any

import runpod
from runpod.serverless.modules import rp_handler, rp_http, rp_job, worker_state
from runpod.serverless.modules.worker_state import JobsProgress
from runpod.serverless.utils import rp_cuda, rp_download, rp_upload, rp_validator

PROBES: dict[str, Callable[[], Any]] = {}


def probe(fn: Callable[[], Any]) -> Callable[[], Any]:
    PROBES[fn.__name__] = fn
    return fn


def _run_job(handler: Callable[..., Any], job_id: str = "j1") -> Any:
    return asyncio.run(rp_job.run_job(handler, {"id": job_id, "input": {"x": 1}}))


async def _async_handler(job: dict[str, Any]) -> Any:
    return {"async": job["input"]["x"]}


def _gen(job: dict[str, Any]) -> Any:
    yield 1
    yield {"two": 2}
    raise ValueError("boom")


async def _agen(job: dict[str, Any]) -> Any:
    yield "a"


def _plain(job: dict[str, Any]) -> Any:
    return None


@probe
def run_job_shapes() -> Any:
    handlers = [
        lambda job: {"a": 1, "error": "bad", "refresh_worker": True},
        lambda job: {"refresh_worker": True},
        lambda job: {},
        lambda job: 5,
        lambda job: True,
        lambda job: None,
        lambda job: [1, 2],
        _async_handler,
    ]
    return [_run_job(h) for h in handlers]


@probe
def run_job_raises() -> Any:
    def failing(job: dict[str, Any]) -> Any:
        raise KeyError("missing")

    result = _run_job(failing)
    info = json.loads(result["error"])
    return {"keys": sorted(result), "info_keys": list(info), "message": info["error_message"]}


@probe
def run_job_generator() -> Any:
    async def collect(handler: Any) -> list[Any]:
        return [c async for c in rp_job.run_job_generator(handler, {"id": "g1", "input": {}})]

    chunks = asyncio.run(collect(_gen))
    last = chunks[-1]["error"]
    return {
        "outputs": chunks[:-1],
        "error_head": last.split("\ntraceback: ")[0],
        "async": asyncio.run(collect(_agen)),
    }


@probe
def is_generator() -> Any:
    return [rp_handler.is_generator(h) for h in (_plain, _gen, _agen, _async_handler)]


@probe
def jobs_progress() -> Any:
    progress = JobsProgress()
    progress.add("a")
    progress.add({"id": "b", "input": 7})
    seen = {
        "same": progress is JobsProgress() is rp_job.job_progress,
        "count": progress.get_job_count(),
        "ids": sorted((progress.get_job_list() or "").split(",")),
        "b_input": progress.get("b").input,
        "missing": progress.get("zzz"),
    }
    progress.remove("a")
    progress.remove("zzz")
    seen["after"] = progress.get_job_list()
    progress.remove({"id": "b"})
    seen["empty"] = progress.get_job_list()
    return seen


@probe
def download_helpers() -> Any:
    sizes = (0, 1024**2, 1024**2 + 1, 1024**3, 1024**3 + 1)
    headers = ({}, {"Content-Length": "12"}, {"Content-Length": "x"})
    return {
        "chunks": [rp_download.calculate_chunk_size(n) for n in sizes],
        "lengths": [rp_download.parse_content_length(h) for h in headers],
        "disposition": dict(
            rp_download.extract_disposition_params('attachment; filename="a.png"; Size=3')
        ),
        "headers": rp_download.HEADERS,
    }


@probe
def validator() -> Any:
    names = sorted(n for n in dir(rp_validator) if n.endswith("_ERROR"))
    errors = rp_validator.validate({"x": 1}, {"y": {"type": int, "required": True}})
    return {
        "constants": {n: getattr(rp_validator, n) for n in names},
        "errors": errors,
        "formatted": [
            rp_validator.UNEXPECTED_INPUT_ERROR.format("x"),
            rp_validator.MISSING_REQUIRED_ERROR.format("y"),
        ],
    }


@probe
def boto_without_credentials() -> Any:
    client, transfer = rp_upload.get_boto_client()
    return [client, type(transfer).__name__]


@probe
def cuda() -> Any:
    return rp_cuda.is_available()


@probe
def too_many_requests() -> Any:
    from runpod.http_client import TooManyRequests

    error = TooManyRequests(None, (), status=429, message="slow down")
    return [issubclass(TooManyRequests, Exception), error.status, error.message]


@probe
def logger_identity() -> Any:
    from runpod.serverless.modules.rp_logger import RunPodLogger

    return [runpod.RunPodLogger is RunPodLogger, RunPodLogger() is runpod.RunPodLogger()]


@probe
def versions() -> Any:
    import runpod.version

    return [runpod.__version__, runpod.version.get_version(), runpod.serverless.runpod_version]


@probe
def top_level() -> Any:
    import runpod.endpoint

    return {
        "all": sorted(runpod.__all__),
        "endpoint_all": runpod.endpoint.__all__,
        "serverless_all": runpod.serverless.__all__,
        "api_key": runpod.api_key,
        "profile": runpod.profile,
        "ssh": os.path.expanduser("~/.runpod/ssh") == runpod.SSH_KEY_PATH,
        "base": runpod.endpoint_url_base,
    }


@probe
def settings_from_env() -> Any:
    from runpod.serverless.modules import rp_gpu_fitness, rp_ping, rp_system_fitness

    beat = rp_ping.Heartbeat()
    return {
        "worker_id": worker_state.WORKER_ID,
        "local": worker_state.IS_LOCAL_TEST,
        "done": rp_http.JOB_DONE_URL,
        "stream": rp_http.JOB_STREAM_URL,
        "take": rp_job.JOB_GET_URL,
        "ping": [beat.PING_URL, beat.PING_INTERVAL],
        "fitness": [
            rp_system_fitness.MIN_MEMORY_GB,
            rp_system_fitness.MIN_CUDA_VERSION,
            rp_gpu_fitness.TIMEOUT_SECONDS,
        ],
    }


async def _wire(base: str) -> Any:
    from runpod.http_client import AsyncClientSession

    rp_job.JOB_GET_URL = f"{base}/v2/ep/job-take/w1?gpu=x"
    rp_http.JOB_DONE_URL = f"{base}/v2/ep/job-done/w1/$ID?gpu=x"
    rp_http.JOB_STREAM_URL = f"{base}/v2/ep/job-stream/w1/$ID?gpu=x"
    async with AsyncClientSession() as session:
        jobs = await rp_job.get_job(session, 1)
        job = jobs[0]
        await rp_http.stream_result(session, {"output": "chunk"}, job)
        await rp_http.send_result(session, {"output": {"done": True}}, job)
        stops = await rp_job.get_stop_signals(session)
        config = {"handler": lambda j: {"doubled": j["input"]["x"] * 2}, "rp_args": {}}
        await rp_job.handle_job(session, config, {"id": "h1", "input": {"x": 4}})
    return {"jobs": jobs, "stops": stops}


def main() -> None:
    results = {name: fn() for name, fn in PROBES.items()}
    base = os.environ.get("PROBE_PLATFORM")
    if base:
        results["wire"] = asyncio.run(_wire(base))
    sys.stdout.flush()
    print("PROBE-RESULT " + json.dumps(results, default=repr), flush=True)


if __name__ == "__main__":
    main()
