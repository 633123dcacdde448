"""One exception tree for all of pitstop, and the HTTP status table shared by server and client.

::

    PitstopError
    ├── ConfigError              invalid configuration or environment
    │   └── MissingExtraError    an optional dependency is not installed (names the pip command)
    ├── ApiError                 anything with an HTTP status on the wire (``status`` attribute)
    │   ├── BadRequest           400 malformed JSON, wrong field types, bad parameters
    │   ├── Unauthorized         401 bad or missing key
    │   ├── Forbidden            403 refused as cross-site (the dashboard's CSRF checks)
    │   ├── NotFound             404 unknown endpoint, job or route
    │   ├── StaleAttempt         409 a worker reported on an attempt it no longer owns
    │   ├── PayloadTooLarge      413 body over the configured limit
    │   ├── QueueFull            429 queue over its bound (``retry_after`` seconds)
    │   └── ServerError          500 anything unexpected on the server
    ├── TransportError           the server could not be reached (connection, timeout)
    ├── JobError                 a job ended badly, raised by clients
    │   ├── JobFailed            FAILED (``error`` holds the worker's error string)
    │   ├── JobCancelled         CANCELLED
    │   └── JobTimedOut          TIMED_OUT
    ├── WaitTimeout              a client stopped waiting before the job finished
    └── StorageError             the store failed or answered something impossible

The server turns an ``ApiError`` into ``{"error": {"code": ..., "message": ...}}`` with
``status``; the client turns such a response back into the same class with
:func:`error_for_status`. Both sides use :data:`STATUS_CLASSES`, so the mapping lives here only.
"""

from __future__ import annotations

from typing import Any


class PitstopError(Exception):
    """Root of every exception pitstop raises on purpose."""


class ConfigError(PitstopError):
    """A configuration value or environment variable is invalid."""


class MissingExtraError(ConfigError, ImportError):
    """An optional dependency is missing; the message names the ``pip install`` that fixes it."""

    def __init__(self, extra: str, module: str) -> None:
        super().__init__(
            f"{module!r} is not installed; install it with: pip install 'pitstop[{extra}]'"
        )
        self.extra = extra
        self.module = module


class ApiError(PitstopError):
    """An error with an HTTP status; ``code`` is a stable machine-readable name."""

    status: int = 500
    code: str = "internal_error"

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_body(self) -> dict[str, Any]:
        """The JSON body the server sends for this error (one shape for every error)."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return {"error": body}


class BadRequest(ApiError):
    """400: the request is malformed (JSON, field types, parameters)."""

    status = 400
    code = "bad_request"


class Unauthorized(ApiError):
    """401: the API key is missing or wrong."""

    status = 401
    code = "unauthorized"


class Forbidden(ApiError):
    """403: the request was refused whatever its key (a dashboard action without its CSRF
    token, or sent from another site)."""

    status = 403
    code = "forbidden"


class NotFound(ApiError):
    """404: unknown endpoint, job or route (or a job whose retention has expired)."""

    status = 404
    code = "not_found"


class StaleAttempt(ApiError):
    """409: a worker reported on a job attempt it no longer holds (fencing)."""

    status = 409
    code = "stale_attempt"


class PayloadTooLarge(ApiError):
    """413: the request body is over the configured limit."""

    status = 413
    code = "payload_too_large"


class QueueFull(ApiError):
    """429: the endpoint's queue is over its configured bound; retry after ``retry_after`` s."""

    status = 429
    code = "queue_full"

    def __init__(self, message: str, *, retry_after: float = 1.0, details: Any = None) -> None:
        super().__init__(message, details=details)
        self.retry_after = retry_after


class ServerError(ApiError):
    """500: an unexpected failure on the server."""

    status = 500
    code = "internal_error"


class TransportError(PitstopError):
    """The server could not be reached or did not answer in time."""


class JobError(PitstopError):
    """A job reached a terminal state other than COMPLETED."""

    def __init__(self, job_id: str, status: str, error: str | None = None) -> None:
        super().__init__(f"job {job_id} ended {status}" + (f": {error}" if error else ""))
        self.job_id = job_id
        self.status = status
        self.error = error


class JobFailed(JobError):
    """The job is FAILED; ``error`` holds the worker's error string."""


class JobCancelled(JobError):
    """The job was CANCELLED."""


class JobTimedOut(JobError):
    """The job TIMED_OUT (queue TTL or execution timeout)."""


class WaitTimeout(PitstopError, TimeoutError):
    """A client gave up waiting for a job; the job itself may still finish."""


class StorageError(PitstopError):
    """The store failed or returned an impossible answer."""


STATUS_CLASSES: dict[int, type[ApiError]] = {
    cls.status: cls
    for cls in (
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        StaleAttempt,
        PayloadTooLarge,
        QueueFull,
    )
}


def error_for_status(status: int, message: str, details: Any = None) -> ApiError:
    """Build the ``ApiError`` subclass for an HTTP status (500 family for anything unknown)."""
    cls = STATUS_CLASSES.get(status, ServerError)
    error = cls(message, details=details)
    if status not in STATUS_CLASSES:
        error.status = status
    return error


JOB_ERRORS: dict[str, type[JobError]] = {
    "FAILED": JobFailed,
    "CANCELLED": JobCancelled,
    "TIMED_OUT": JobTimedOut,
}
