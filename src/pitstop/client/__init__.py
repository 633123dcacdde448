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
``WaitTimeout``. Reads are retried on connection errors and 429/502/503/504 (``Retry-After``
honoured) under a bounded :class:`RetryPolicy`; submits when the connection failed, and on
pitstop's 503 ``store_unavailable`` / ``unavailable`` (``StoreUnavailable``, ``Unavailable``),
which mean nothing was stored. A submit the server could not confirm (Redis stopped
answering mid-write: ``"stored": "unknown"``) is looked up by its job id first and only sent
again if it does not exist, so an outage never duplicates a job.
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
