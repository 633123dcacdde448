"""API keys: client keys for the client API, worker keys for the worker API.

Keys travel in ``Authorization`` as ``Bearer KEY`` (RunPod's clients) or bare ``KEY``
(RunPod's worker SDK and some docs). Policy, chosen so that a key baked into a worker
container cannot read or submit jobs:

* client routes (``run``, ``status``, ..., ``/pitstop/v1``, ``/metrics``) accept client keys;
* worker routes (``job-take``, ``job-done``, ``ping``, ...) accept worker keys **and** client
  keys (a client key is the operator's key; it can already see everything);
* with no key of a kind configured, that kind of route is open. With no keys at all the
  server refuses a non-loopback bind unless ``allow_public_without_keys`` (see the runner).
"""

from __future__ import annotations

import hmac

from starlette.requests import Request

from pitstop.config import ServerConfig
from pitstop.errors import Unauthorized


def presented_key(request: Request) -> str | None:
    """The key in the ``Authorization`` header (``Bearer`` prefix optional), or None."""
    raw = request.headers.get("authorization")
    if not raw:
        return None
    raw = raw.strip()
    if raw[:7].lower() == "bearer ":
        raw = raw[7:].strip()
    return raw or None


def _matches(key: str, keys: frozenset[str]) -> bool:
    if key in keys:
        return True
    # Constant-time comparison against each key, for the (rare) mismatch path only.
    return any(hmac.compare_digest(key, k) for k in keys)


class Auth:
    """Checks a request's key against the configured client and worker keys."""

    def __init__(self, config: ServerConfig) -> None:
        self.client_keys = frozenset(config.client_keys)
        self.worker_keys = frozenset(config.worker_keys) | self.client_keys
        self.open_client = not self.client_keys
        self.open_worker = not config.worker_keys and not config.client_keys

    def client(self, request: Request) -> None:
        """Raise 401 unless the request carries a client key (or no client key is set)."""
        if self.open_client:
            return
        self._check(request, self.client_keys, "client")

    def worker(self, request: Request) -> None:
        """Raise 401 unless the request carries a worker or client key (or none is set)."""
        if self.open_worker:
            return
        self._check(request, self.worker_keys, "worker")

    @staticmethod
    def _check(request: Request, keys: frozenset[str], kind: str) -> None:
        key = presented_key(request)
        if key is None:
            raise Unauthorized(f"missing API key: send 'Authorization: Bearer <{kind} key>'")
        if not _matches(key, keys):
            raise Unauthorized(f"invalid {kind} API key")
