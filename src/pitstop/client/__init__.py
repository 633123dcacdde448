"""Clients for a pitstop (or RunPod) server: :class:`Client` (blocking) and :class:`AsyncClient`.

::

    from pitstop.client import Client

    with Client("http://127.0.0.1:8000", api_key="KEY") as client:
        hello = client.endpoint("hello")
        print(hello.run_sync({"name": "pit"}))           # output, or JobFailed with its error
        job = hello.run({"n": 3})
        for chunk in job.stream():                        # ends on ANY terminal state
            print(chunk)

Errors are ``pitstop.errors`` classes: HTTP errors are ``ApiError`` subclasses
(``Unauthorized``, ``NotFound``, ``PayloadTooLarge``, ``QueueFull``, ...), an unreachable
server is ``TransportError``, a job that did not complete is a ``JobError``
(``JobFailed`` / ``JobCancelled`` / ``JobTimedOut``), and giving up on a wait is
``WaitTimeout``.

Retries are bounded (:class:`RetryPolicy`, ``Retry-After`` honoured). Reads and cancel are
retried on connection errors, timeouts and 429/502/503/504. Every submit (``run``,
``run_sync``) carries an ``Idempotency-Key``: a fresh uuid4 per logical submission, reused on
its retries, or your own (``run(input, idempotency_key="order-42")``). A pitstop server
returns the first job for a repeated key, so a submit is sent again with the same key when
its answer was lost (a timeout, a dropped connection) or on 500/502/503/504, including a
503 whose submit the server could not confirm (``"stored": "unknown"``). Only a server
known to honour the key gets such a resend: one whose answers carry ``X-Pitstop-Server``
(asked once with a cheap read if nothing is known yet); to any other (RunPod) a submit is
resent only when it cannot have arrived (connection refused, pitstop's "nothing stored"
503s), so no server ever gets a duplicate job.

``job.stream()`` follows a pitstop server's Server-Sent Events (``Accept:
text/event-stream``): chunks arrive as the worker posts them, and a dropped connection is
resumed with ``Last-Event-ID`` (nothing lost, nothing repeated). A server that answers JSON
instead is long-polled on RunPod's ``/stream``. ``Client(..., idempotency_keys=False,
sse=False)`` behaves as RunPod's client (``runpod.Endpoint`` does).
"""

from __future__ import annotations

from pitstop.client._core import NO_RETRY, RetryPolicy
from pitstop.client.aio import AsyncClient, AsyncEndpoint, AsyncJob
from pitstop.client.sync import Client, Endpoint, Job

__all__ = [
    "NO_RETRY",
    "AsyncClient",
    "AsyncEndpoint",
    "AsyncJob",
    "Client",
    "Endpoint",
    "Job",
    "RetryPolicy",
]
