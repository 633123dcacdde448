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
    │   ├── IdempotencyConflict  409 an Idempotency-Key reused with a different submission
    │   ├── PayloadTooLarge      413 body over the configured limit
    │   ├── QueueFull            429 queue over its bound (``retry_after`` seconds)
    │   └── ServerError          500 anything unexpected on the server (5xx)
    │       └── Unavailable      503 nothing was done: retry after ``retry_after`` seconds
    │           └── StoreUnavailable  the store is down, full or read-only (a StorageError)
    ├── TransportError           the server could not be reached (connection, timeout)
    ├── JobError                 a job ended badly, raised by clients
    │   ├── JobFailed            FAILED (``error`` holds the worker's error string)
    │   ├── JobCancelled         CANCELLED
    │   └── JobTimedOut          TIMED_OUT
    ├── WaitTimeout              a client stopped waiting before the job finished
    ├── WebhookVerificationError a webhook delivery's signature or timestamp did not check out
    ├── StorageError             the store failed or answered something impossible
    │   └── StoreUnavailable     (see above) a transient outage: nothing was written
    ├── RunPodError              ``runpod.error.RunPodError`` (the official SDK's root)
    │   ├── AuthenticationError  ``runpod.error.AuthenticationError``
    │   └── QueryError           ``runpod.error.QueryError`` (``query`` attribute)
    ├── TooManyRequests          ``runpod.http_client.TooManyRequests``: a 429 answer
    └── UnsupportedOperation     an official SDK function pitstop does not provide
        └── CloudApiUnavailable  a RunPod cloud-management call (also a ``RunPodError``)

The server turns an ``ApiError`` into ``{"error": {"code": ..., "message": ...}}`` with
``status``; the client turns such a response back into the same class with
:func:`error_for_status`. Both sides use :data:`STATUS_CLASSES`, so the mapping lives here only.
Errors with a ``retry_after`` attribute (429, 503) are answered with a ``Retry-After`` header.
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


class IdempotencyConflict(ApiError):
    """409: an ``Idempotency-Key`` already names a job submitted with a different body."""

    status = 409
    code = "idempotency_conflict"


class PayloadTooLarge(ApiError):
    """413: the request body is over the configured limit."""

    status = 413
    code = "payload_too_large"


class _RetryLater(ApiError):
    """An error that tells the caller when to try again (``Retry-After``, seconds)."""

    def __init__(self, message: str, *, retry_after: float = 1.0, details: Any = None) -> None:
        super().__init__(message, details=details)
        self.retry_after = retry_after


class QueueFull(_RetryLater):
    """429: the endpoint's queue is over its configured bound; retry after ``retry_after`` s."""

    status = 429
    code = "queue_full"


class ServerError(ApiError):
    """500: an unexpected failure on the server."""

    status = 500
    code = "internal_error"


class Unavailable(_RetryLater, ServerError):
    """503: the server cannot take this request now (too many connections or bytes in flight);
    nothing was done, so any request may be sent again after ``retry_after`` seconds."""

    status = 503
    code = "unavailable"


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


class RunPodError(PitstopError):
    """The official SDK's ``runpod.error.RunPodError``: ``message`` is the text (or None)."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message or super().__str__()


class AuthenticationError(RunPodError):
    """The official SDK's ``runpod.error.AuthenticationError``."""


class QueryError(RunPodError):
    """The official SDK's ``runpod.error.QueryError``; ``query`` is the failed query."""

    def __init__(self, message: str | None = None, query: str | None = None) -> None:
        super().__init__(message)
        self.query = query


class TooManyRequests(PitstopError):
    """A 429 answer to an official-SDK style job-take or job-stop call.

    ``runpod.http_client.TooManyRequests``. The official class is an aiohttp
    ``ClientResponseError``; this one takes the same arguments and keeps ``status``,
    ``message``, ``request_info``, ``history`` and ``headers``, without needing aiohttp.
    """

    def __init__(
        self,
        request_info: Any = None,
        history: Any = (),
        *,
        code: int | None = None,
        status: int | None = None,
        message: str = "",
        headers: Any = None,
    ) -> None:
        self.request_info = request_info
        self.history = tuple(history or ())
        self.status = status or code or 429
        self.message = message
        self.headers = headers
        super().__init__(f"{self.status}, message={message!r}")


class UnsupportedOperation(PitstopError, NotImplementedError):
    """An official SDK name that exists for imports but whose job pitstop does differently.

    The message names the function and what to use instead.
    """


class CloudApiUnavailable(UnsupportedOperation, RunPodError):
    """A ``runpod.api`` cloud-management call (pods, endpoints, templates, GPUs, users).

    pitstop runs workers and serves RunPod's job API; it does not manage RunPod cloud
    resources, so these calls fail at once, with no network request and no made-up result.
    """

    def __init__(self, operation: str) -> None:
        super().__init__(
            f"runpod.{operation}(): pitstop does not manage RunPod cloud resources (pods, "
            "endpoints, templates, GPUs, users, registry auth); nothing was sent. Use the "
            "official runpod SDK or the RunPod console for cloud management."
        )
        self.operation = operation


class StoreUnavailable(Unavailable, StorageError):
    """503: the store is unreachable, timing out, full or read-only.

    Raised only when the failed operation wrote nothing (a refused or rolled-back write), so
    the request is safe to repeat after ``retry_after`` seconds, a submit included.
    """

    code = "store_unavailable"


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
        Unavailable,
    )
}
CODE_CLASSES: dict[str, type[ApiError]] = {
    StoreUnavailable.code: StoreUnavailable,
    IdempotencyConflict.code: IdempotencyConflict,
}
"""Classes told apart by ``code`` where one status has several (503)."""


def error_for_status(
    status: int, message: str, details: Any = None, code: str | None = None
) -> ApiError:
    """Build the ``ApiError`` subclass for an HTTP status and error ``code`` (500 family for
    anything unknown)."""
    cls = CODE_CLASSES.get(code or "") or STATUS_CLASSES.get(status, ServerError)
    if cls.status != status:
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


class WebhookVerificationError(PitstopError):
    """A webhook delivery's signature did not match, or its timestamp is out of tolerance."""
