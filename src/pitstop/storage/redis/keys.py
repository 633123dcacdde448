"""Key layout and record codec of the Redis backend (:mod:`pitstop.storage.redis`).

Every key starts with the store's prefix ``P`` so several pitstop installations (or test
runs) share one Redis without seeing each other::

    P:job:{id}        hash    one job (fields below, all strings)
    P:chunks:{id}     list    stream chunks as JSON text, index = sequence number
    P:logs:{id}       list    log lines "seq|at|stream|text", capped per job
    P:q:{ep}          zset    claimable normal jobs, score = created_at, member = qm
    P:qlow:{ep}       zset    claimable lowPriority jobs, same shape
    P:recent:{ep}     zset    every retained job of the endpoint (score created_at, member qm)
    P:recent          zset    every retained job
    P:counts:{ep}     hash    jobs per status plus ``retried`` (kept by the scripts)
    P:leases          zset    IN_PROGRESS job id -> lease expiry
    P:runs            zset    IN_PROGRESS job id -> execution deadline
    P:ttl             zset    IN_QUEUE job id -> queue deadline
    P:retain          zset    terminal job id -> end of retention
    P:stops:{worker}  list    job ids the worker must stop
    P:workers:{ep}    hash    worker id -> JSON list of the job ids it last reported
    P:wver:{ep}       hash    worker id -> version it last reported
    P:wmeta:{ep}      hash    worker id -> its process details (JSON)
    P:wgpus:{ep}      hash    worker id -> its latest GPU sample (JSON)
    P:wseen:{ep}      zset    worker id -> last_seen
    P:endpoints       set     endpoint names
    P:wh:{did}        hash    one webhook delivery
    P:whjob:{id}      list    delivery ids of a job
    P:whdue           zset    pending delivery id -> next_at
    P:seq             string  enqueue counter (FIFO tie-break)
    P:whseq           string  webhook delivery counter (delivery ids)
    P:wake:{key}      channel pub/sub wakeups for :mod:`pitstop.storage.base` keys

``qm`` ("queue member") is ``%016d:{id}`` with the enqueue counter, so jobs created at the
same instant still come out in submission order. Floats are stored with 17 significant
digits (Python ``repr`` or Lua ``%.17g``) so they round-trip exactly.
"""

from __future__ import annotations

from typing import Any

from pitstop.errors import BadRequest
from pitstop.models import Job, JobStatus, Policy, WebhookDelivery
from pitstop.storage.jsontext import dumps, loads

QM_PREFIX_LEN = 17
"""Length of the ``%016d:`` part of a queue member."""


def encode_value(value: Any, what: str) -> str:
    """JSON text for a value a client or worker sent; unencodable values are a 400."""
    try:
        return dumps(value)
    except (TypeError, ValueError) as exc:
        raise BadRequest(f"{what} is not JSON-serialisable: {exc}") from exc


def script_arg(value: Any) -> str:
    """A script argument as text: exact floats, 1/0 booleans."""
    if type(value) is str:  # most arguments, first
        return value
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return fnum(value)
    return str(value)


def attempt_arg(attempt: int | None) -> str:
    """The fencing attempt as a script argument ("" when the worker did not name one)."""
    return "" if attempt is None else str(int(attempt))


def flat(mapping: dict[str, str]) -> list[str]:
    """A hash as ``HGETALL``'s flat ``[field, value, ...]`` list."""
    return [item for pair in mapping.items() for item in pair]


def fnum(value: float) -> str:
    """A float as text that parses back to the same float."""
    return repr(float(value))


def pairs(flat: list[str]) -> dict[str, str]:
    """``HGETALL``'s flat ``[field, value, ...]`` reply as a dict."""
    return dict(zip(flat[::2], flat[1::2], strict=True))


def new_job_fields(
    job_id: str,
    endpoint: str,
    input_text: str,
    webhook: str | None,
    policy: Policy,
    s3_text: str | None,
    sync: bool,
    created_at: float,
) -> dict[str, str]:
    """The hash fields of a freshly enqueued job (JSON values already encoded)."""
    fields = {
        "id": job_id,
        "ep": endpoint,
        "in": input_text,
        "plow": "1" if policy.low_priority else "0",
        "sync": "1" if sync else "0",
        "att": "0",
        "ret": "0",
        "cr": fnum(created_at),
        "nch": "0",
        "cur": "0",
    }
    if webhook is not None:
        fields["wh"] = webhook
    if policy.execution_timeout_ms is not None:
        fields["pexec"] = str(int(policy.execution_timeout_ms))
    if policy.ttl_ms is not None:
        fields["pttl"] = str(int(policy.ttl_ms))
        fields["qdl"] = fnum(created_at + policy.ttl_ms / 1000.0)
    if s3_text is not None:
        fields["s3"] = s3_text
    return fields


def _opt_float(raw: str | None) -> float | None:
    return None if raw is None else float(raw)


def _opt_int(raw: str | None) -> int | None:
    return None if raw is None else int(raw)


def _opt_json(raw: str | None) -> Any:
    return None if raw is None else loads(raw)


def decode_job(h: dict[str, str]) -> Job:
    """Build a :class:`Job` from its hash fields."""
    status = JobStatus(h["st"])
    expires = h.get("exp") if status.is_terminal else h.get("qdl")
    return Job(
        id=h["id"],
        endpoint=h["ep"],
        status=status,
        input=loads(h["in"]),
        webhook=h.get("wh"),
        policy=Policy(
            execution_timeout_ms=_opt_int(h.get("pexec")),
            ttl_ms=_opt_int(h.get("pttl")),
            low_priority=h.get("plow") == "1",
        ),
        s3_config=_opt_json(h.get("s3")),
        sync=h.get("sync") == "1",
        attempt=int(h.get("att", "0")),
        retries=int(h.get("ret", "0")),
        worker_id=h.get("wk"),
        lease_expires_at=_opt_float(h.get("lease")),
        created_at=float(h["cr"]),
        started_at=_opt_float(h.get("sa")),
        finished_at=_opt_float(h.get("fa")),
        output=_opt_json(h.get("out")),
        has_output=h.get("hout") == "1",
        error=h.get("err"),
        progress=_opt_json(h.get("prog")),
        has_progress=h.get("hprog") == "1",
        stop_pod=h.get("spod") == "1",
        chunk_count=int(h.get("nch", "0")),
        expires_at=_opt_float(expires),
    )


def decode_flat_job(flat: list[str]) -> Job | None:
    """A job from an ``HGETALL`` reply (None when the hash is gone)."""
    return decode_job(pairs(flat)) if flat else None


def decode_delivery(flat: list[str]) -> WebhookDelivery:
    """A webhook outbox entry from its hash."""
    h = pairs(flat)
    return WebhookDelivery(
        id=h["id"],
        job_id=h["job"],
        url=h["url"],
        payload_json=h["payload"],
        attempts=int(h.get("att", "0")),
        next_at=float(h.get("next", "0")),
        delivered=h.get("dlv") == "1",
        last_error=h.get("err"),
        failed=h.get("gave") == "1",
    )
