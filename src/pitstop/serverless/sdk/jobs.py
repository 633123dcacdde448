"""One job, run the official way: ``rp_job.run_job``, ``run_job_generator``, ``handle_job``.

The handler is invoked by pitstop (:mod:`pitstop.serverless.handler`: sync handlers run in
a thread instead of blocking the event loop) and the results have the official shapes:

* ``run_job`` returns the job-done body: ``{"output": ...}`` (``error``, ``stopPod`` as the
  handler asked), or ``{"error": "<json string>"}`` when the handler raised;
* ``run_job_generator`` yields ``{"output": partial}`` per item and, when the generator
  raises, one last ``{"error": "handler: ... \\ntraceback: ..."}``;
* ``handle_job`` runs a job and sends its chunks and result with :mod:`.wire`, to the URLs
  the caller passes (the facade passes ``rp_http.JOB_DONE_URL`` and ``JOB_STREAM_URL``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any

from pitstop.config import WorkerConfig
from pitstop.serverless.handler import Kind, Stream, call, classify
from pitstop.serverless.handler_error import error_body
from pitstop.serverless.logger import get_logger
from pitstop.serverless.result import generator_error, shape_return
from pitstop.serverless.version import runpod_version

RETURN_SIZE_TIP_MB = 20


def is_generator(handler: Callable[..., Any]) -> bool:
    """True for a generator or async-generator handler (``rp_handler.is_generator``)."""
    return callable(handler) and classify(handler).streams


def check_return_size(return_body: Any) -> None:
    """Suggest uploading outputs over 20 MB (``rp_tips.check_return_size``).

    Measures like the official SDK, with ``sys.getsizeof`` of the outer object.
    """
    size_mb = round(sys.getsizeof(return_body) / 1_000_000, 2)
    if size_mb > RETURN_SIZE_TIP_MB:
        get_logger().tip(
            f"Your return body is {size_mb} MB which exceeds the 20 MB limit. "
            "Consider using S3 upload and returning the object's URL instead."
        )


async def run_job(handler: Callable[..., Any], job: dict[str, Any]) -> dict[str, Any]:
    """Run ``handler(job)`` and return the job-done body (never raises for handler errors)."""
    log = get_logger()
    job_id = str(job["id"])
    log.info("Started.", job_id)
    result: dict[str, Any] = {}
    try:
        value = await call(handler, classify(handler), job)
        log.debug(f"Handler output: {value}", job_id)
        result = shape_return(value).body
        check_return_size(result)
    except Exception as exc:
        result = error_body(exc, WorkerConfig.from_env(), runpod_version)
        log.error("Captured Handler Exception", job_id)
        log.error(json.dumps(json.loads(result["error"]), indent=4))
    finally:
        log.debug(f"run_job return: {result}", job_id)
    return result


async def run_job_generator(
    handler: Callable[..., Any], job: dict[str, Any]
) -> AsyncIterator[dict[str, Any]]:
    """Yield ``{"output": partial}`` for each item the generator handler yields."""
    log = get_logger()
    job_id = str(job["id"])
    kind = classify(handler) if callable(handler) else Kind.FUNCTION
    async_gen = kind is Kind.ASYNC_GENERATOR
    log.debug("Using Async Generator" if async_gen else "Using Standard Generator", job_id)
    stream = Stream(handler, kind, job)
    try:
        if not kind.streams:
            raise TypeError(f"handler is a {kind.value}, not a generator")
        await stream.open()
        async for partial in stream:
            log.debug(f"{'Async ' if async_gen else ''}Generator output: {partial}", job_id)
            yield {"output": partial}
    except Exception as exc:
        log.error(exc, job_id)
        yield generator_error(exc)
    finally:
        await stream.close()
        log.info("Finished running generator.", job_id)


async def _streamed_result(
    session: Any, config: dict[str, Any], job: dict[str, Any], stream_url: str
) -> dict[str, Any]:
    """Run a generator handler, sending each chunk; the final body (aggregate or error)."""
    from pitstop.serverless.sdk.wire import stream_result

    result: dict[str, Any] = {"output": []}
    async for chunk in run_job_generator(config["handler"], job):
        get_logger().debug(f"Stream output: {chunk}", str(job["id"]))
        output = chunk.get("output")
        if isinstance(output, dict) and output.get("error"):
            chunk = {"error": str(output["error"])}
        if chunk.get("error"):
            return chunk
        if config.get("return_aggregate_stream", False):
            result["output"].append(chunk["output"])
        await stream_result(session, chunk, job, url_template=stream_url)
    return result


async def handle_job(
    session: Any,
    config: dict[str, Any],
    job: dict[str, Any],
    *,
    done_url: str,
    stream_url: str,
) -> None:
    """Run one job and send its result (``rp_job.handle_job``)."""
    from pitstop.serverless.job_loop import attach_debugger
    from pitstop.serverless.sdk.wire import send_result

    streaming = is_generator(config["handler"])
    if streaming:
        result = await _streamed_result(session, config, job, stream_url)
    else:
        result = await run_job(config["handler"], job)
    if config.get("refresh_worker", False):
        get_logger().info("refresh_worker flag set, stopping pod after job.", str(job["id"]))
        result["stopPod"] = True
    attach_debugger(config, result)
    await send_result(session, result, job, url_template=done_url, is_stream=streaming)
