"""Idempotency keys for submits, and whether the server honours them.

Every submit of :mod:`pitstop.client` carries an ``Idempotency-Key`` (a fresh uuid4 per
logical submission, or the caller's own), the same on each resend. A pitstop server returns
the first job for a repeated key; RunPod's (and an older pitstop) ignores the header,
so resending there after a lost answer would make a second job. :class:`KeyTrust` therefore
allows such a resend only once the server is known to be pitstop: any of its answers carried
``X-Pitstop-Server``. When nothing is known yet (a first submit lost its answer), the client
asks once with a cheap read (:meth:`pitstop.client._calls.Calls.probe`) and remembers.
"""

from __future__ import annotations

import uuid

import httpx

from pitstop.client._core import SERVER_HEADER


def key_for(given: str | None, enabled: bool) -> str | None:
    """The key of one logical submission: the caller's, else a fresh uuid4 (None when the
    client sends no keys, as RunPod's does)."""
    return given if given is not None or not enabled else str(uuid.uuid4())


class KeyTrust:
    """What the client knows about the server: honours keys (True), not (False), or unknown."""

    def __init__(self) -> None:
        self.known: bool | None = None

    def saw(self, response: httpx.Response) -> None:
        """Learn from any answer: ``X-Pitstop-Server`` means a pitstop server."""
        if response.headers.get(SERVER_HEADER):
            self.known = True

    def probed(self, response: httpx.Response) -> bool:
        """Learn from the probe's answer (any status): absent header means no pitstop."""
        self.known = bool(response.headers.get(SERVER_HEADER))
        return self.known
