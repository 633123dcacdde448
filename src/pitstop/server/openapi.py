"""The OpenAPI description of every route, as the server really answers (``/openapi.json``).

The handlers read their query parameters and bodies themselves (no pydantic models on the
hot path), so FastAPI alone would describe every answer as a string and know no parameter
but the path's. :func:`describe` completes the generated document from the tables below:
each parameter, header and body with the constraints the server enforces (no tighter, no
looser), every success answer (``204`` of the long-polls included, ``/metrics`` as text) and
the error shape. A test runs Schemathesis over the result with every check.
"""

from __future__ import annotations

from typing import Any

from pitstop.models import MAX_POLICY_MS, JobStatus
from pitstop.server import gpus
from pitstop.server.limits import ID_PATTERN
from pitstop.server.results import MAX_ATTEMPT, MAX_JOB_ID, MAX_RESULTS
from pitstop.server.submit import MAX_IDEMPOTENCY_KEY, MAX_WEBHOOK_URL

Schema = dict[str, Any]

_ANY: Schema = {}
_STR: Schema = {"type": "string"}
_INT: Schema = {"type": "integer"}
_NUM: Schema = {"type": "number"}


def _obj(required: tuple[str, ...] = (), **properties: Schema) -> Schema:
    schema: Schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


ID: Schema = {"type": "string", "pattern": f"^{ID_PATTERN.pattern}$", "maxLength": 128}
JOB_ID: Schema = {"type": "string", "minLength": 1}

_WEBHOOK_PATTERN = (
    r"^([hH][tT][tT][pP][sS]?://[A-Za-z0-9!$&'()*+,;=._~%-]+(:[0-9]{1,4})?([/?#][!-~]*)?)?$"
)
_POLICY_MS: Schema = {"type": ["number", "null"], "exclusiveMinimum": 0, "maximum": MAX_POLICY_MS}
SUBMIT: Schema = {
    **_obj(
        ("input",),
        input={"description": "Anything the handler expects (nested at most 128 levels)."},
        webhook={
            "type": ["string", "null"],
            "pattern": _WEBHOOK_PATTERN,
            "maxLength": MAX_WEBHOOK_URL,
            "description": "http(s) URL with a host, POSTed when the job ends.",
        },
        policy={
            **_obj(
                executionTimeout={**_POLICY_MS, "description": "ms"},
                ttl={**_POLICY_MS, "description": "ms from submission"},
                lowPriority={"type": ["boolean", "null"]},
            ),
            "type": ["object", "null"],
        },
        s3Config={"type": ["object", "null"], "description": "Handed to the worker."},
    ),
}

STATUS: Schema = _obj(
    ("id", "status", "retries"),
    id=_STR,
    status=_STR,
    delayTime=_INT,
    executionTime=_INT,
    workerId=_STR,
    output=_ANY,
    error=_STR,
    retries=_INT,
)
STREAM: Schema = _obj(
    ("id", "status", "stream"),
    id=_STR,
    status=_STR,
    delayTime=_INT,
    error=_STR,
    stream={"type": "array", "items": _obj(("output",), output=_ANY)},
)
ID_STATUS: Schema = _obj(("id", "status"), id=_STR, status=_STR)
COUNTERS: Schema = {"type": "object", "additionalProperties": _INT}
JOB_PAYLOAD: Schema = _obj(
    ("id", "input", "attempt"),
    id=_STR,
    input=_ANY,
    webhook=_STR,
    s3Config={"type": "object"},
    executionTimeout=_INT,
    attempt=_INT,
)
OUTCOME: Schema = _obj(("id", "outcome"), id=_STR, outcome=_STR)
OK: Schema = _obj(("status",), status=_STR)
LOG_LINE: Schema = _obj(("text",), text=_STR, stream={"type": ["string", "null"]})
LOG_LINES: Schema = _obj(
    ("id", "lines"),
    id=_STR,
    lines={
        "type": "array",
        "items": _obj(("seq", "at", "stream", "text"), seq=_INT, at=_NUM, stream=_STR, text=_STR),
    },
)


_GPU_NUMBERS: Schema = {"type": ["integer", "null"], "minimum": 0}
GPU_DEVICE: Schema = {
    **_obj(
        ("index",),
        index={"type": "string", "pattern": f"^{gpus.INDEX_PATTERN}$"},
        name={
            "type": ["string", "null"],
            "pattern": f"^{gpus.NAME_PATTERN}$",
            "maxLength": gpus.MAX_NAME,
        },
        utilization={**_GPU_NUMBERS, "maximum": 100, "description": "percent"},
        memoryUsed={**_GPU_NUMBERS, "maximum": gpus.MAX_BYTES, "description": "bytes"},
        memoryTotal={**_GPU_NUMBERS, "maximum": gpus.MAX_BYTES, "description": "bytes"},
        temperature={**_GPU_NUMBERS, "maximum": gpus.MAX_TEMPERATURE, "description": "Celsius"},
    ),
    "additionalProperties": False,
}
GPU_REPORT: Schema = {
    **_obj(
        ("intervalMs", "workers"),
        intervalMs={
            "type": "integer",
            "minimum": gpus.MIN_INTERVAL_MS,
            "maximum": gpus.MAX_INTERVAL_MS,
            "description": "How often the supervisor samples (a sample is stale after a few).",
        },
        workers={
            "type": "object",
            "maxProperties": gpus.MAX_WORKERS,
            "propertyNames": {"pattern": f"^{ID_PATTERN.pattern}$", "maxLength": 128},
            "additionalProperties": {
                "type": "array",
                "maxItems": gpus.MAX_DEVICES,
                "items": GPU_DEVICE,
            },
            "description": "Worker id -> the readings of its devices.",
        },
    ),
    "additionalProperties": False,
}
GPU_ROW: Schema = _obj(
    ("index", "sampledAt"),
    index=_STR,
    name={"type": ["string", "null"]},
    utilization={"type": ["integer", "null"]},
    memoryUsed={"type": ["integer", "null"]},
    memoryTotal={"type": ["integer", "null"]},
    temperature={"type": ["integer", "null"]},
    sampledAt={"type": ["number", "null"], "description": "null: no current reading"},
)


def _query(name: str, schema: Schema, description: str = "") -> Schema:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


def _ms(name: str, what: str) -> Schema:
    return _query(name, _NUM, f"{what}, in milliseconds (a finite number)")


_IN_PROGRESS = _query("job_in_progress", _STR, "1 when the worker runs jobs already")
_STATES = ["", *(state.value for state in JobStatus)]

QUERIES: dict[str, list[Schema]] = {
    "runsync": [_ms("wait", "How long to wait for the result (clamped to 1000-300000)")],
    "status": [_ms("ttl", "Keep the record this long from now (clamped to ten years)")],
    "status-sync": [_ms("wait", "How long to wait for a terminal state (1000-300000)")],
    "stream": [_ms("wait", "How long to wait for a chunk (clamped to 0-300000)")],
    "job-take": [_IN_PROGRESS],
    "job-take-batch": [_query("batch_size", _INT, "Most jobs (clamped to 1-256)"), _IN_PROGRESS],
    "ping": [
        _query("job_id", _STR, "Comma-separated ids of the jobs the worker runs"),
        _query("runpod_version", _STR),
        _query("status", _STR, "`unhealthy` marks the worker unhealthy"),
        _query("check", _STR),
        _query("reason", _STR),
        _query("exit_code", _STR, "pitstop supervisors: the crashed worker's exit code"),
        _query("error", _STR, "pitstop supervisors: the crashed worker's error line"),
    ],
    "job-logs": [_query("after", _INT, "Only lines with a larger sequence number")],
    "job-chunks": [_query("from", _INT, "First chunk number to return")],
    "endpoint-jobs": [
        _query("status", {"type": "string", "enum": _STATES}),
        _query("before", _INT, "Keyset cursor: jobs older than this position"),
        _query("after", _INT, "Keyset cursor: jobs newer than this position"),
        _query("limit", _INT, "Most jobs on the page"),
    ],
    "endpoint-stats": [_query("window", {"type": "string", "enum": ["", "hour", "day"]})],
    "workers": [
        _query("endpoint", {"type": "string", "pattern": f"^({ID_PATTERN.pattern})?$"}),
    ],
    "jobs": [
        _query("endpoint", {"type": "string", "pattern": f"^({ID_PATTERN.pattern})?$"}),
        _query("status", {"type": "string", "enum": _STATES}),
        _query("limit", _INT, "Most jobs to list (clamped to 1-1000)"),
    ],
}
"""Query parameters by operation (the path segment naming it)."""

_ATTEMPT: Schema = {
    "name": "X-Pitstop-Attempt",
    "in": "header",
    "required": False,
    "schema": {"type": "integer", "minimum": 0, "maximum": MAX_ATTEMPT},
    "description": "The attempt the worker was given (fencing; pitstop's worker sends it).",
}
_IDEMPOTENCY: Schema = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {
        "type": "string",
        "pattern": "^[!-~]+$",
        "minLength": 1,
        "maxLength": MAX_IDEMPOTENCY_KEY,
    },
    "description": "The same key (and body) within the job's retention returns the same job.",
}
_LAST_EVENT: Schema = {
    "name": "Last-Event-ID",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "pattern": "^[0-9]{1,18}$"},
    "description": "With `Accept: text/event-stream`: resume after this chunk number.",
}
HEADERS: dict[str, list[Schema]] = {
    **{op: [_ATTEMPT] for op in ("job-done", "job-stream", "job-log")},
    "run": [_IDEMPOTENCY],
    "runsync": [_IDEMPOTENCY],
    "stream": [_LAST_EVENT],
}

RESULT: Schema = {
    "type": ["object", "null"],
    "description": "A result `{output, error, stopPod}` or progress "
    '`{"status": "IN_PROGRESS", "output": value}` (values nested at most 128 levels).',
}
CHUNKS: Schema = {
    "type": "object",
    "anyOf": [
        {"required": ["output"]},
        {"required": ["outputs"], "properties": {"outputs": {"type": "array"}}},
    ],
    "description": 'RunPod\'s `{"output": value}` or pitstop\'s `{"outputs": [values]}`.',
}
LOG_BODY: Schema = _obj(("lines",), lines={"type": "array", "items": LOG_LINE})
DONE_BATCH: Schema = _obj(
    ("results",),
    results={
        "type": "array",
        "maxItems": MAX_RESULTS,
        "items": {
            "type": "object",
            "required": ["id", "result"],
            "properties": {
                "id": {"type": "string", "pattern": "^[!-~]+$", "maxLength": MAX_JOB_ID},
                "attempt": {"type": ["integer", "null"], "minimum": 0, "maximum": MAX_ATTEMPT},
                "result": RESULT,
            },
        },
    },
)
DONE_BATCH["description"] = (
    "pitstop: final results of several jobs; each item is handled as its own `job-done` "
    "(with `attempt` as `X-Pitstop-Attempt`); ids must differ."
)

BODIES: dict[str, tuple[Schema, bool]] = {
    "run": (SUBMIT, True),
    "runsync": (SUBMIT, True),
    "job-done": (RESULT, False),
    "job-stream": (CHUNKS, True),
    "job-log": (LOG_BODY, True),
    "endpoint-gpus": (GPU_REPORT, True),
    "job-done-batch": (DONE_BATCH, True),
    "job-release": (
        {
            "type": ["object", "null"],
            "properties": {"ids": {"type": ["array", "null"], "items": _STR}},
        },
        False,
    ),
}
"""Request bodies by operation: (schema, required)."""

SUCCESS: dict[str, Schema] = {
    "run": ID_STATUS,
    "runsync": STATUS,
    "status": STATUS,
    "status-sync": STATUS,
    "stream": STREAM,
    "cancel": ID_STATUS,
    "retry": ID_STATUS,
    "purge-queue": _obj(("removed", "status"), removed=_INT, status=_STR),
    "health": _obj(
        ("jobs", "workers"),
        jobs=COUNTERS,
        workers=COUNTERS,
        gpus={
            "type": "array",
            "items": _obj(
                ("workerId", *GPU_ROW["required"]), workerId=_STR, **GPU_ROW["properties"]
            ),
            "description": "pitstop: the workers' GPUs (present when they have any).",
        },
    ),
    "job-take": JOB_PAYLOAD,
    "job-take-batch": {"type": "array", "items": JOB_PAYLOAD},
    "job-done": OUTCOME,
    "job-done-batch": _obj(
        ("results",),
        results={
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "status"],
                "description": "The item's status as its own job-done would have answered "
                "(200 with `outcome`, or the error body's `error`).",
            },
        },
    ),
    "job-stream": OUTCOME,
    "job-stop": _obj(("jobsToStop",), jobsToStop={"type": "array", "items": _STR}),
    "ping": OK,
    "job-log": OK,
    "job-release": _obj(("released",), released={"type": "array", "items": _STR}),
    "endpoint-workers": _obj(
        ("endpoint", "workers"), endpoint=_STR, workers={"type": "array", "items": _obj()}
    ),
    "workers": _obj(("workers",), workers={"type": "array", "items": _obj()}),
    "endpoint-gpus": _obj(
        ("recorded", "unknown"),
        recorded={"type": "array", "items": _STR},
        unknown={
            "type": "array",
            "items": _STR,
            "description": "Workers the server has not seen: their readings were not kept.",
        },
    ),
    "job": {"type": "object", "description": "The full stored record."},
    "job-logs": LOG_LINES,
    "job-timeline": _obj(
        ("id", "status", "events"),
        id=_STR,
        status=_STR,
        events={"type": "array", "items": _obj()},
    ),
    "job-chunks": _obj(("id", "status", "chunks"), id=_STR, status=_STR, chunks={"type": "array"}),
    "job-input": _ANY,
    "job-output": _ANY,
    "overview": _obj(("endpoints",), endpoints={"type": "array", "items": _obj()}),
    "endpoint": _obj(),
    "endpoint-jobs": _obj(("jobs",), jobs={"type": "array", "items": _obj()}),
    "endpoint-stats": _obj(),
    "jobs": _obj(("jobs",), jobs={"type": "array", "items": {"type": "object"}}),
    "endpoints": _obj(("endpoints",), endpoints={"type": "array", "items": _STR}),
}
"""The 200 body of each operation (``metrics`` answers text)."""

NO_CONTENT = {
    "job-take": "No job arrived within the take wait.",
    "job-take-batch": "No job arrived within the take wait.",
    "job-stop": "No stop request arrived within the stop wait.",
}
_PATH_PARAMS = {"endpoint_id": ID, "worker_id": ID, "job_id": JOB_ID}


def operation_of(path: str) -> str:
    """The operation a path template serves: ``/v2/{endpoint_id}/run`` -> ``run``,
    ``/status/{job_id}`` -> ``status``, ``/pitstop/v1/jobs/{job_id}/logs`` -> ``logs``."""
    parts = [part for part in path.split("/") if part]
    if parts[:2] == ["pitstop", "v1"]:
        rest = parts[2:]  # e.g. ["endpoints", "{endpoint_id}", "workers"]
        if len(rest) == 1:
            return rest[0]
        kind = rest[0].removesuffix("s")
        return kind if len(rest) == 2 else f"{kind}-{rest[2]}"
    return parts[2] if parts[0] == "v2" else parts[0]


def _parameters(path: str, op: str) -> list[Schema]:
    names = [part[1:-1] for part in path.split("/") if part.startswith("{")]
    params = [
        {"name": name, "in": "path", "required": True, "schema": _PATH_PARAMS[name]}
        for name in names
    ]
    return params + QUERIES.get(op, []) + HEADERS.get(op, [])


def _success(op: str) -> Schema:
    if op == "metrics":
        return {
            "description": "Prometheus text exposition format.",
            "content": {"text/plain": {"schema": _STR}},
        }
    content: Schema = {"application/json": {"schema": SUCCESS[op]}}
    if op == "stream":
        content["text/event-stream"] = {
            "schema": _STR,
            "description": "With `Accept: text/event-stream`: chunks as Server-Sent Events.",
        }
    return {"description": "OK", "content": content}


def describe(schema: Schema) -> None:
    """Complete FastAPI's generated document in place (see the module docstring)."""
    for path, item in schema.get("paths", {}).items():
        op = operation_of(path)
        for operation in item.values():
            operation["parameters"] = _parameters(path, op)
            if op in BODIES:
                body, required = BODIES[op]
                operation["requestBody"] = {
                    "required": required,
                    "content": {"application/json": {"schema": body}},
                }
            responses = operation["responses"]
            responses.pop("422", None)  # pitstop answers 400 instead
            responses["200"] = _success(op)
            if op in NO_CONTENT:
                responses["204"] = {"description": NO_CONTENT[op]}
    for name in ("HTTPValidationError", "ValidationError"):
        schema.get("components", {}).get("schemas", {}).pop(name, None)
