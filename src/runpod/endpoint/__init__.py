"""RunPod's client classes (``runpod.Endpoint``, ``runpod.AsyncioEndpoint``) on pitstop's client.

The signatures are RunPod SDK 1.12.0's, so existing client code runs unchanged; every
request goes through :mod:`pitstop.client` (no HTTP logic here). ``runpod.api_key`` and
``runpod.endpoint_url_base`` (env ``RUNPOD_ENDPOINT_BASE_URL``) are read when an object is
constructed, as in the official SDK. The sync classes are in :mod:`.runner`, the asyncio
ones in :mod:`.asyncio.asyncio_runner`.

Like the official client, and unlike :mod:`pitstop.client`, submits carry no
``Idempotency-Key`` (so a submit whose answer was lost is not sent again) and ``stream()``
polls the JSON ``/stream`` route (no Server-Sent Events).

Deliberate differences from the official client (its bugs are not reproduced):

* ``Endpoint.run_sync`` and ``Job.output`` never drop errors: a FAILED job raises
  ``pitstop.errors.JobFailed`` carrying the worker's error string (CANCELLED raises
  ``JobCancelled``, TIMED_OUT ``JobTimedOut``); the official client returns ``None``.
* ``Job.stream`` ends on every terminal state, CANCELLED included (the official one loops
  for ever on a cancelled job). Waiting uses long-polls, not a 1 s polling loop.
* ``AsyncioJob.output()`` with the default ``timeout=0`` waits until the job ends (the
  official one raises ``TimeoutError`` at once).
* ``AsyncioEndpoint.run`` accepts ``{"input": ..., "webhook": ..., "policy": ...}`` like the
  sync ``run`` (the official one always wraps, so it cannot send a webhook or policy).
* ``{"input": <falsy value>, ...}`` passes through as a submit body (the official client
  wraps it a second time).
* HTTP errors raise ``pitstop.errors`` classes (``Unauthorized`` for 401, ``NotFound``,
  ``QueueFull``...) instead of ``RuntimeError`` / ``requests.HTTPError``; waiting too long
  raises ``pitstop.errors.WaitTimeout``, a ``TimeoutError`` as in the official client.
* No API key is accepted (a pitstop server may run without keys): requests then carry no
  ``Authorization`` header instead of failing with ``RuntimeError``.
* ``AsyncioEndpoint(endpoint_id, session)`` takes the session for signature compatibility.
  A :class:`runpod.http_client.AsyncClientSession` is used as the connection pool; any other
  session (e.g. aiohttp's) is ignored and the endpoint uses its own httpx pool, closed by
  ``await endpoint.close()`` (or ``async with``).
"""

from runpod.endpoint.asyncio.asyncio_runner import Endpoint as AsyncioEndpoint
from runpod.endpoint.asyncio.asyncio_runner import Job as AsyncioJob
from runpod.endpoint.runner import Endpoint, Job

__all__ = ["AsyncioEndpoint", "AsyncioJob", "Endpoint", "Job"]
