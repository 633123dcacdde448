"""``runpod.serverless.modules.rp_fastapi``: the local API server, on pitstop's.

``WorkerAPI(config).start_uvicorn(host, port)`` serves pitstop's local API server (the job
server with an in-process worker; extra ``pitstop[server]``), which is what
``--rp_serve_api`` runs. The request and response dataclasses have the official fields.
The official OpenAPI texts (``TITLE``, ``DESCRIPTION``, ...) are not reproduced: pitstop's
server documents its own routes at ``/docs``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from pitstop.lazy import attach
from pitstop.serverless.jobs_progress import JobsProgress, PingJobMirror
from pitstop.serverless.sdk.jobs import is_generator, run_job, run_job_generator
from pitstop.serverless.sdk.runner import Heartbeat, WorkerAPI
from pitstop.serverless.version import SDK_VERSION as runpod_version

RUNPOD_ENDPOINT_ID = os.environ.get("RUNPOD_ENDPOINT_ID", None)

job_list = JobsProgress()
heartbeat = Heartbeat()


@dataclass
class Job:
    """A job of the local API (``id``, ``input``)."""

    id: str
    input: Any


@dataclass
class TestJob:
    """A test job (every field optional)."""

    id: str | None = None
    input: Any = None
    webhook: str | None = None


@dataclass
class DefaultRequest:
    """A ``/run`` or ``/runsync`` request body."""

    input: dict[str, Any]
    webhook: str | None = None


@dataclass
class JobOutput:
    """A job's answer (``id``, ``status``, ``output`` or ``error``)."""

    id: str
    status: str
    output: Any = None
    error: str | None = None


@dataclass
class StreamOutput:
    """A ``/stream`` answer."""

    id: str
    status: str = "IN_PROGRESS"
    stream: Any = None
    error: str | None = None


__all__ = [
    "RUNPOD_ENDPOINT_ID",
    "DefaultRequest",
    "Heartbeat",
    "Job",
    "JobOutput",
    "JobsProgress",
    "PingJobMirror",
    "StreamOutput",
    "TestJob",
    "WorkerAPI",
    "heartbeat",
    "is_generator",
    "job_list",
    "run_job",
    "run_job_generator",
    "runpod_version",
]

__getattr__, __dir__ = attach(__name__, names={"SyncClientSession": "runpod.http_client"})
