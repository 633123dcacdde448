"""RunPod's realtime route, ``POST /{endpoint_id}/realtime``, for ``RUNPOD_REALTIME_PORT`` mode.

The official SDK runs the handler inside the request and answers with its raw internal
result (``{"output": ...}``, plus ``error`` when there is one). pitstop routes the call
through the real queue instead, so the in-process worker runs it like any other job, and
answers with the same raw shape once the job is terminal.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

from pitstop.errors import BadRequest, NotFound
from pitstop.models import Job, NewJob
from pitstop.server.bodies import json_response, read_json
from pitstop.server.state import ServerState
from pitstop.server.submit import parse_policy
from pitstop.storage.base import job_key


def raw_result(job: Job) -> dict[str, Any]:
    """The worker's result as RunPod's realtime route returns it (not the status body)."""
    body: dict[str, Any] = {}
    if job.has_output:
        body["output"] = job.output
    if job.error is not None:
        body["error"] = job.error
    if not job.status.is_terminal:
        body["status"] = job.status.value
    return body


def _new_job(body: Any, endpoint: str, state: ServerState) -> NewJob:
    if not isinstance(body, dict) or not isinstance(body.get("id"), str) or not body["id"]:
        raise BadRequest('realtime body must be {"id": "<string>", "input": ...}')
    return NewJob(
        id=body["id"],
        endpoint=endpoint,
        input=body.get("input"),
        policy=parse_policy(None, state.config, endpoint),
        sync=True,
        created_at=state.now(),
    )


def add_realtime_route(app: FastAPI, endpoint: str) -> None:
    """Mount ``POST /{endpoint}/realtime`` for one endpoint."""

    async def realtime(request: Request) -> Response:
        state: ServerState = request.app.state.pitstop
        state.auth.client(request, endpoint)
        body = await read_json(request, state.config.max_runsync_body)
        new = _new_job(body, endpoint, state)
        deadline = time.monotonic() + state.config.runsync_wait
        async with state.store.watch(job_key(new.id)) as watch:
            job: Job | None = await state.store.enqueue(new)
            while job is not None and not job.status.is_terminal:
                woken = await state.wait_until(watch, deadline)
                job = await state.store.get(new.id)
                if woken is not True:
                    break
        if job is None:
            raise NotFound(f"job {new.id!r} was deleted before it finished")
        return json_response(raw_result(job))

    app.add_api_route(f"/{endpoint}/realtime", realtime, methods=["POST"])
