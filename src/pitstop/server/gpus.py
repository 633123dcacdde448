"""GPU telemetry: supervisors report their workers' GPU readings; the APIs show them.

A pitstop supervisor with NVML reads each of its workers' devices every
``gpu_telemetry_interval`` seconds and posts the readings here (worker-key auth, like the
worker routes; the worker runtime itself never loads NVML)::

    POST /pitstop/v1/endpoints/{endpoint_id}/gpus
    {"intervalMs": 5000,
     "workers": {"WORKER_ID": [{"index": "0", "name": "NVIDIA H100", "utilization": 37,
                                "memoryUsed": 1073741824, "memoryTotal": 85899345920,
                                "temperature": 61}]}}

The latest sample of each worker is stored with its registry entry (SQLite row, Redis hash),
so every server sharing the store shows it; a worker the server has not seen is skipped and
named in the answer's ``unknown``. A sample older than a few of its intervals is stale: the
APIs then show the worker's devices (from its ``CUDA_VISIBLE_DEVICES``) without readings,
as they do for workers whose supervisor has no NVML.

Shown in ``/v2/{ep}/health`` (``gpus``, one row per device with its ``workerId``; present
when the endpoint's workers have GPUs), in the workers lists (``gpuDevices`` per worker), the
dashboard's workers tables and ``/metrics`` (``pitstop_gpu_*`` gauges per endpoint, worker
and device).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

from pitstop.errors import BadRequest
from pitstop.models import JSON, GpuSample, WorkerInfo
from pitstop.server.bodies import json_response, read_json
from pitstop.server.errors import ERROR_RESPONSES
from pitstop.server.limits import ID_RULE, check_id, valid_id

if TYPE_CHECKING:
    from pitstop.server.state import ServerState

MIN_INTERVAL_MS = 10
MAX_INTERVAL_MS = 3_600_000
MAX_WORKERS = 256
"""Workers in one report (one supervisor reports one endpoint's workers)."""
MAX_DEVICES = 64
"""Devices of one worker in one report."""
MAX_NAME = 255
MAX_BYTES = 2**53 - 1
MAX_TEMPERATURE = 1000
MAX_BODY = 4 * 1024 * 1024
INDEX_PATTERN = r"[0-9]{1,6}"
NAME_PATTERN = r"[ -~]*"
"""Device names are printable ASCII (as NVML gives them)."""
_INDEX = re.compile(INDEX_PATTERN)
_NAME = re.compile(NAME_PATTERN)
_NUMBERS = {
    "utilization": 100,
    "memoryUsed": MAX_BYTES,
    "memoryTotal": MAX_BYTES,
    "temperature": MAX_TEMPERATURE,
}
"""Device fields that are whole numbers from 0 to the bound (or null: NVML did not say)."""
DEVICE_FIELDS = ("index", "name", *_NUMBERS)
_SHAPE = '{"intervalMs": ms, "workers": {"worker id": [devices]}}'


# -- the report ------------------------------------------------------------------------------


def parse_report(body: Any) -> tuple[float, dict[str, tuple[dict[str, JSON], ...]]]:
    """The sample interval (seconds) and each worker's device readings; 400 naming the field
    for anything out of shape or bounds. A device listed twice keeps its last reading."""
    if not isinstance(body, dict):
        raise BadRequest(f"GPU report body must be {_SHAPE}")
    _only(body, ("intervalMs", "workers"), "body")
    interval = _whole(body.get("intervalMs"))
    if interval is None or not MIN_INTERVAL_MS <= interval <= MAX_INTERVAL_MS:
        raise BadRequest(
            f"intervalMs must be an integer from {MIN_INTERVAL_MS} to {MAX_INTERVAL_MS}"
        )
    workers = body.get("workers")
    if not isinstance(workers, dict) or len(workers) > MAX_WORKERS:
        raise BadRequest(f"workers must be an object of at most {MAX_WORKERS} worker ids")
    parsed: dict[str, tuple[dict[str, JSON], ...]] = {}
    for worker_id, devices in workers.items():
        if not valid_id(worker_id):
            raise BadRequest(f"workers: {worker_id[:140]!r} is not a valid worker id: {ID_RULE}")
        where = f"workers.{worker_id}"
        if not isinstance(devices, list) or len(devices) > MAX_DEVICES:
            raise BadRequest(f"{where} must be a list of at most {MAX_DEVICES} devices")
        by_index = {}
        for number, raw in enumerate(devices):
            device = _device(raw, f"{where}[{number}]")
            by_index[device["index"]] = device
        parsed[worker_id] = tuple(by_index.values())
    return interval / 1000, parsed


def _device(raw: Any, where: str) -> dict[str, JSON]:
    if not isinstance(raw, dict):
        raise BadRequest(f"{where} must be an object")
    _only(raw, DEVICE_FIELDS, where)
    index = raw.get("index")
    if not isinstance(index, str) or not _INDEX.fullmatch(index):
        raise BadRequest(f"{where}.index must be a device index (a string of 1-6 digits)")
    name = raw.get("name")
    if name is not None and not (
        isinstance(name, str) and len(name) <= MAX_NAME and _NAME.fullmatch(name)
    ):
        raise BadRequest(f"{where}.name must be printable ASCII, at most {MAX_NAME} characters")
    device: dict[str, JSON] = {"index": index, "name": name}
    for field, bound in _NUMBERS.items():
        value = raw.get(field)
        number = _whole(value)
        if value is not None and (number is None or not 0 <= number <= bound):
            raise BadRequest(f"{where}.{field} must be null or an integer from 0 to {bound}")
        device[field] = number
    return device


def _only(body: dict[str, Any], allowed: Iterable[str], where: str) -> None:
    extra = sorted(set(body) - set(allowed))
    if extra:
        raise BadRequest(f"{where}: unknown field {extra[0][:64]!r}")


def _whole(value: Any) -> int | None:
    """An integral JSON number as an int (``5.0`` counts, as in JSON Schema); else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


async def report_gpus(request: Request, endpoint_id: str) -> Response:
    """Record the latest GPU readings of the endpoint's workers (pitstop supervisors)."""
    state: ServerState = request.app.state.pitstop
    state.auth.worker(request)
    check_id(endpoint_id, "endpoint id")
    interval, workers = parse_report(await read_json(request, MAX_BODY, "GPU report body"))
    now = state.now()
    samples = {wid: GpuSample(now, interval, devices) for wid, devices in workers.items()}
    recorded = await state.store.record_gpus(endpoint_id, samples)
    unknown = sorted(set(samples) - set(recorded))
    return json_response({"recorded": sorted(recorded), "unknown": unknown})


def add_gpu_routes(app: FastAPI) -> None:
    """Mount the report route (documented in :mod:`pitstop.server.openapi`)."""
    app.add_api_route(
        "/pitstop/v1/endpoints/{endpoint_id}/gpus",
        report_gpus,
        methods=["POST"],
        tags=["pitstop"],
        responses=ERROR_RESPONSES,
        summary=(report_gpus.__doc__ or "").split("\n")[0],
        name="pitstop_report_gpus",
    )


# -- what the APIs show ----------------------------------------------------------------------


def device_rows(worker: WorkerInfo, now: float) -> list[dict[str, JSON]]:
    """The worker's devices: those it was given (``CUDA_VISIBLE_DEVICES``), with the readings
    of a current sample (``sampledAt``); without one, only their indices."""
    sample = worker.gpus if worker.gpus is not None and worker.gpus.current(now) else None
    readings = {str(d["index"]): d for d in sample.devices} if sample is not None else {}
    assigned = worker.meta.gpus if worker.meta is not None and worker.meta.gpus else ""
    indices = dict.fromkeys([i for i in assigned.split(",") if i] + list(readings))
    rows: list[dict[str, JSON]] = []
    for index in indices:
        reading = readings.get(index)
        row: dict[str, JSON] = {field: None for field in DEVICE_FIELDS}
        row.update(reading or {"index": index})
        row["sampledAt"] = sample.at if reading is not None and sample is not None else None
        rows.append(row)
    return rows


def health_gpus(workers: Iterable[WorkerInfo], now: float) -> list[dict[str, JSON]]:
    """``/health``'s ``gpus``: every device of the endpoint's live workers, by worker."""
    return [
        {"workerId": worker.id, **row} for worker in workers for row in device_rows(worker, now)
    ]
