"""Job states and the named types that cross module and wire boundaries.

Standard library only: the worker runtime imports this module, so it must stay light.
Times are UNIX seconds (``float``) inside pitstop and milliseconds (``int``) on RunPod's wire.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from typing import Any

JSON = Any
"""Any value that ``json.dumps`` accepts (kept as an alias so signatures say what they mean)."""


class JobStatus(str, enum.Enum):
    """RunPod's job states. ``str`` valued so they serialise as the wire strings."""

    IN_QUEUE = "IN_QUEUE"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    TIMED_OUT = "TIMED_OUT"

    @property
    def is_terminal(self) -> bool:
        """True for the four states a job never leaves."""
        return self in TERMINAL_STATES

    def __str__(self) -> str:
        return self.value


TERMINAL_STATES: frozenset[JobStatus] = frozenset(
    {JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.TIMED_OUT}
)
ACTIVE_STATES: frozenset[JobStatus] = frozenset({JobStatus.IN_QUEUE, JobStatus.IN_PROGRESS})
RETRYABLE_STATES: frozenset[JobStatus] = frozenset({JobStatus.FAILED, JobStatus.TIMED_OUT})


MAX_POLICY_MS = 2**53 - 1
"""Largest ``executionTimeout`` / ``ttl`` accepted (exact as a float; about 285,000 years)."""


@dataclass(frozen=True)
class Policy:
    """Per-job limits from the submit body's ``policy`` (RunPod's names, in milliseconds)."""

    execution_timeout_ms: int | None = None
    ttl_ms: int | None = None
    low_priority: bool = False


@dataclass(frozen=True)
class Idempotency:
    """A submission's ``Idempotency-Key`` and a fingerprint of what was submitted with it."""

    key: str
    fingerprint: str


@dataclass
class NewJob:
    """What a client submitted, validated, before the store assigns it a state."""

    id: str
    endpoint: str
    input: JSON
    webhook: str | None = None
    policy: Policy = field(default_factory=Policy)
    s3_config: dict[str, Any] | None = None
    sync: bool = False
    """Submitted through ``/runsync``: shorter result retention (RunPod: 1 min vs 30 min)."""
    created_at: float = 0.0
    idempotency: Idempotency | None = None
    """With a key: a job of the same endpoint already holding it is returned instead."""

    @property
    def queue_deadline(self) -> float | None:
        """When the job's queue TTL runs out (``created_at + policy.ttl``), if it has one."""
        ttl = self.policy.ttl_ms
        return None if ttl is None else self.created_at + ttl / 1000

    def queued(self) -> Job:
        """The job as a store holds it right after ``enqueue``: ``IN_QUEUE``, never run."""
        return Job(
            id=self.id,
            endpoint=self.endpoint,
            status=JobStatus.IN_QUEUE,
            input=self.input,
            webhook=self.webhook,
            policy=self.policy,
            s3_config=self.s3_config,
            sync=self.sync,
            created_at=self.created_at,
            expires_at=self.queue_deadline,
        )


@dataclass
class Job:
    """A job as the store holds it. Backends fill every field; ``None`` means "not yet"."""

    id: str
    endpoint: str
    status: JobStatus
    input: JSON
    webhook: str | None = None
    policy: Policy = field(default_factory=Policy)
    s3_config: dict[str, Any] | None = None
    sync: bool = False
    attempt: int = 0
    """How many times a worker has claimed the job (0 while it never ran)."""
    retries: int = 0
    """Times the job went back to the queue (lease expiry) or was retried by a client."""
    worker_id: str | None = None
    lease_expires_at: float | None = None
    created_at: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None
    output: JSON = None
    has_output: bool = False
    """Distinguishes ``output: null`` from no output at all."""
    error: str | None = None
    progress: JSON = None
    has_progress: bool = False
    stop_pod: bool = False
    chunk_count: int = 0
    expires_at: float | None = None
    """When a finished job's record may be deleted (result retention), or the queue TTL."""

    @property
    def delay_ms(self) -> int | None:
        """Time in queue before a worker started the job (RunPod's ``delayTime``)."""
        if self.started_at is None:
            return None
        return max(0, round((self.started_at - self.created_at) * 1000))

    @property
    def execution_ms(self) -> int | None:
        """Processing time once finished (RunPod's ``executionTime``)."""
        if self.started_at is None or self.finished_at is None:
            return None
        return max(0, round((self.finished_at - self.started_at) * 1000))

    def worker_payload(self) -> dict[str, Any]:
        """The job object a worker receives from ``job-take`` (RunPod's shape)."""
        payload: dict[str, Any] = {"id": self.id, "input": self.input}
        if self.webhook is not None:
            payload["webhook"] = self.webhook
        if self.s3_config is not None:
            payload["s3Config"] = self.s3_config
        if self.policy.execution_timeout_ms is not None:
            payload["executionTimeout"] = self.policy.execution_timeout_ms
        payload["attempt"] = self.attempt
        return payload


@dataclass(frozen=True)
class Result:
    """A worker's final report for one attempt of a job (the ``job-done`` body, decoded)."""

    output: JSON = None
    has_output: bool = False
    error: str | None = None
    stop_pod: bool = False

    @property
    def status(self) -> JobStatus:
        """FAILED when the worker reported an error, COMPLETED otherwise."""
        return JobStatus.FAILED if self.error else JobStatus.COMPLETED


@dataclass(frozen=True, slots=True)
class Finish:
    """One item of :meth:`~pitstop.storage.base.Store.finish_many`: what one ``finish``
    call would be given, the common ``now`` aside."""

    job_id: str
    worker_id: str
    attempt: int | None
    result: Result
    retention_s: float


class Outcome(str, enum.Enum):
    """What a fenced worker write (``finish``, ``append_chunk``, ``set_progress``) did."""

    ACCEPTED = "accepted"
    """The write took effect (for ``finish``: the job moved to its terminal state now)."""
    DUPLICATE = "duplicate"
    """The same attempt had already finished it; nothing changed (idempotent repeat)."""
    IGNORED = "ignored"
    """The job was already terminal for another reason (cancelled, timed out)."""
    STALE = "stale"
    """The reporting worker/attempt no longer owns the job: refuse (HTTP 409)."""
    UNKNOWN = "unknown"
    """No such job (never existed or already swept)."""


@dataclass(frozen=True)
class Fence:
    """Who may write to a running job: the worker holding it, on ``attempt`` (None: the
    current one), through ``endpoint`` (None: any)."""

    worker_id: str
    attempt: int | None = None
    endpoint: str | None = None


@dataclass(frozen=True)
class Chunk:
    """One streamed partial output, numbered from 0 in yield order."""

    seq: int
    output: JSON


@dataclass(frozen=True)
class WorkerMeta:
    """What a pitstop worker says about its process in its pings (official workers: none)."""

    pid: int | None = None
    host: str | None = None
    started_at: float | None = None
    restarts: int | None = None
    """Worker processes the supervisor had to replace before starting this one."""
    gpus: str | None = None
    """The GPUs assigned to the process (``CUDA_VISIBLE_DEVICES``), once a supervisor does."""


STALE_SAMPLES = 3
"""A GPU sample older than this many of its supervisor's intervals is no longer current."""
MIN_FRESH_S = 1.0
"""...and no sample goes stale sooner than this (short test intervals, a slow scrape)."""


@dataclass(frozen=True)
class GpuSample:
    """The latest readings of a worker's GPUs, as its supervisor last reported them."""

    at: float
    """When the server received them (its clock, UNIX seconds)."""
    interval: float
    """Seconds between the supervisor's samples: how soon a newer one is due."""
    devices: tuple[dict[str, JSON], ...]
    """One reading per device: ``index``, ``name``, ``utilization`` (percent),
    ``memoryUsed``, ``memoryTotal`` (bytes), ``temperature`` (Celsius); None where unknown."""

    def current(self, now: float) -> bool:
        """False once the supervisor missed a few samples (stopped, lost, or the worker gone)."""
        return now - self.at <= max(STALE_SAMPLES * self.interval, MIN_FRESH_S)


@dataclass(frozen=True)
class WorkerInfo:
    """What the server knows about a worker from its pings and takes."""

    id: str
    endpoint: str
    last_seen: float
    job_ids: tuple[str, ...] = ()
    version: str | None = None
    meta: WorkerMeta | None = None
    gpus: GpuSample | None = None
    """Its supervisor's latest GPU telemetry (pitstop supervisors with NVML only)."""


@dataclass(frozen=True)
class WebhookDelivery:
    """One pending or finished webhook call from the durable outbox."""

    id: str
    job_id: str
    url: str
    payload_json: str
    """The body as stored with the terminal transition (sent if the job is gone by then);
    kept as text so one unreadable payload cannot break reading the others."""
    attempts: int = 0
    next_at: float = 0.0
    delivered: bool = False
    last_error: str | None = None
    failed: bool = False
    """Given up after the configured number of attempts."""

    @property
    def payload(self) -> Any:
        """The stored body, decoded."""
        return json.loads(self.payload_json)

    @property
    def state(self) -> str:
        """``pending``, ``delivered`` or ``failed``."""
        return "delivered" if self.delivered else "failed" if self.failed else "pending"


@dataclass(frozen=True)
class SweepReport:
    """What one sweeper pass changed; each list holds the affected job ids."""

    requeued: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    timed_out: list[str] = field(default_factory=list)
    deleted: int = 0


@dataclass(frozen=True)
class LogLine:
    """One line a handler printed or logged while running a job."""

    seq: int
    at: float
    stream: str
    text: str


class EventKind(str, enum.Enum):
    """What happened to a job, one :class:`JobEvent` each (the dashboard's timeline)."""

    SUBMITTED = "submitted"
    TAKEN = "taken"
    """A worker claimed the job (``worker_id``, ``attempt``)."""
    PROGRESS = "progress"
    """A ``progress_update`` (``detail``: the value as JSON text, shortened)."""
    FIRST_CHUNK = "first_chunk"
    REQUEUED = "requeued"
    """The worker's lease was lost (or released); the job went back to the queue."""
    LOST = "lost"
    """The lease was lost with no attempt left: the job FAILED."""
    CANCELLED = "cancelled"
    """Cancel requested (``detail`` ``purged`` for a purge); a running job gets a stop."""
    TIMED_OUT = "timed_out"
    FINISHED = "finished"
    """The worker's result (``detail``: COMPLETED or FAILED)."""
    RETRIED = "retried"
    WEBHOOK = "webhook"
    """One webhook call (``attempt``: call number; ``detail``: delivered, or the error)."""

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class JobEvent:
    """One entry of a job's timeline, numbered from 0 in the order the store wrote them."""

    seq: int
    at: float
    kind: EventKind
    worker_id: str | None = None
    attempt: int | None = None
    detail: str | None = None


@dataclass(frozen=True)
class JobSummary:
    """A job as job lists show it: no input, output or error (cheap to read in pages)."""

    seq: int
    """The store's insertion number: job lists are newest first by it (keyset cursor)."""
    id: str
    endpoint: str
    status: JobStatus
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    worker_id: str | None = None
    attempt: int = 0
    retries: int = 0


@dataclass(frozen=True)
class JobPage:
    """One page of a job list; the cursors are ``seq`` values to pass back."""

    jobs: list[JobSummary]
    older: int | None = None
    """Pass as ``before`` for the next older page (None: this page reaches the oldest)."""
    newer: int | None = None
    """Pass as ``after`` for the next newer page (None: this page starts at the newest)."""


@dataclass(frozen=True)
class StatBucket:
    """Jobs of one endpoint that ended in one minute (see :mod:`pitstop.storage.stats`)."""

    minute: int
    """Start of the minute, UNIX seconds (a multiple of 60)."""
    ended: dict[str, int] = field(default_factory=dict)
    """Terminal status value -> jobs that ended with it."""
    delay: dict[int, int] = field(default_factory=dict)
    """Histogram of queue delays: :func:`pitstop.storage.stats.ms_bin` -> jobs."""
    execution: dict[int, int] = field(default_factory=dict)
    """Histogram of execution times, same bins."""
