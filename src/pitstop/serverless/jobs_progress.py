"""The process-wide set of jobs in progress: RunPod's ``worker_state.JobsProgress``.

Worker code reads it (``JobsProgress().get_job_count()`` in a ``concurrency_modifier``,
``get_job_list()`` for logging), so pitstop's job loop keeps it current: a job is added when
its take returns it and removed once its result is delivered (or it is stopped or
abandoned), as in the official SDK. :class:`PingJobMirror` is the official snapshot holder
for the ping process; pitstop pings from the worker's own event loop, so here it is a plain
in-process holder with the same methods.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from pitstop.serverless.logger import get_logger

PING_MIRROR_CAPACITY = 65536
"""Bytes a job-id snapshot may take (RunPod's limit; longer lists are cut at a comma)."""


class Job:
    """A job in progress: ``id`` plus every other key of the job dict as an attribute."""

    def __init__(
        self, id: str, input: Any = None, webhook: str | None = None, **kwargs: Any
    ) -> None:
        self.id = id
        self.input = input
        self.webhook = webhook
        for key, value in kwargs.items():
            setattr(self, key, value)

    @classmethod
    def from_dict(cls, job: Mapping[str, Any]) -> Job:
        """A Job from a job dict (any keys, even ones that are not identifiers)."""
        made = cls(str(job["id"]))
        for key, value in job.items():
            if key != "id" and not str(key).startswith("__"):
                setattr(made, str(key), value)
        return made

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Job) and self.id == other.id

    def __hash__(self) -> int:
        return hash(self.id)

    def __str__(self) -> str:
        return self.id


def as_job(element: Any) -> Job:
    """A Job from a Job, a job id or a job dict; TypeError for anything else."""
    if isinstance(element, str):
        return Job(element)
    if isinstance(element, Mapping):
        return Job.from_dict(element)
    if isinstance(element, Job):
        return element
    raise TypeError("Only Job objects can be added to JobsProgress.")


class JobsProgress(set[Job]):
    """The singleton set of jobs in progress (``JobsProgress() is JobsProgress()``)."""

    _instance: JobsProgress | None = None
    _mirror: Any = None

    def __new__(cls) -> JobsProgress:
        if JobsProgress._instance is None:
            JobsProgress._instance = set.__new__(cls)
        return JobsProgress._instance

    def __init__(self) -> None:
        """Nothing: the singleton is never re-initialised (that would empty it)."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>: {self.get_job_list()}"

    def set_mirror(self, mirror: Any) -> None:
        """Keep ``mirror`` (anything with ``set(job_list)``) updated on every change."""
        self._mirror = mirror
        self._notify()

    def _notify(self) -> None:
        if self._mirror is not None:
            self._mirror.set(self.get_job_list())

    def add(self, element: Any) -> None:
        """Add a job (a Job, a job id or a job dict)."""
        super().add(as_job(element))
        self._notify()

    def remove(self, element: Any) -> None:
        """Remove a job if present (the official SDK never raises here either)."""
        super().discard(as_job(element))
        self._notify()

    def clear(self) -> None:
        super().clear()
        self._notify()

    def get(self, element: Any) -> Job | None:
        """The tracked Job equal to ``element`` (a Job or a job id), or None."""
        if not isinstance(element, (str, Job)):
            raise TypeError("Only Job objects can be retrieved from JobsProgress.")
        wanted = as_job(element)
        return next((job for job in self if job == wanted), None)

    def get_job_list(self) -> str | None:
        """The job ids joined by commas, or None when no job is in progress."""
        return ",".join(str(job) for job in self) if self else None

    def get_job_count(self) -> int:
        """How many jobs are in progress."""
        return len(self)


def jobs_in_progress() -> JobsProgress:
    """The singleton (what pitstop's job loop updates)."""
    return JobsProgress()


class PingJobMirror:
    """A job-id snapshot for the heartbeat (RunPod's shared-memory mirror, in-process here)."""

    def __init__(self, capacity: int = PING_MIRROR_CAPACITY, ctx: Any = None) -> None:
        self._capacity = capacity
        self._value = ""
        self._lock = threading.Lock()

    def set(self, job_ids: str | None) -> None:
        """Store the snapshot, cut at a comma when longer than the capacity."""
        data = (job_ids or "").encode("utf-8")
        limit = self._capacity - 1
        if len(data) > limit:
            data = data[:limit]
            cut = data.rfind(b",")
            data = data[:cut] if cut != -1 else data
            get_logger().warn(f"PingJobMirror: job-id snapshot exceeded {limit} bytes; truncated")
        with self._lock:
            self._value = data.decode("utf-8", "ignore")

    def get(self) -> str | None:
        """The snapshot, or None when empty."""
        with self._lock:
            return self._value or None
