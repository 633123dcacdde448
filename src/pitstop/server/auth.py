"""API keys: global client keys, per-endpoint client keys, worker keys.

Keys travel in ``Authorization`` as ``Bearer KEY`` (RunPod's clients) or bare ``KEY``
(RunPod's worker SDK and some docs). Kinds, chosen so that a key baked into a worker
container cannot read or submit jobs and a key given to one team reaches one endpoint:

* client keys (``--api-key``, ``--api-key-file``) open every client route of every endpoint,
  pitstop's ``/pitstop/v1`` routes and ``/metrics``;
* endpoint keys (``--endpoint-key EP=KEY``, ``--endpoint-key-file``) open the client routes
  of their endpoint(s) only; on ``/pitstop/v1`` they see only those endpoints' jobs (others
  are 404, lists leave them out) and ``/metrics`` is closed to them;
* worker keys (``--worker-key``, ``--worker-key-file``) open the worker routes
  (``job-take``, ``job-done``, ``ping``, ...), which client keys open too (a client key is
  the operator's key; it can already see everything);
* with no client or endpoint key configured the client routes are open; with no key at
  all the worker routes are open too (the server then refuses a non-loopback bind unless
  ``allow_public_without_keys``, see the runner). Endpoint keys never open worker routes:
  give workers a worker key.

Key files hold one key a line (``EP=KEY`` for endpoint keys); blank lines and ``#`` comments
are skipped. They keep keys out of ``ps`` and shell history.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request

from pitstop.config import ServerConfig
from pitstop.errors import ConfigError, Unauthorized


def presented_key(request: Request) -> str | None:
    """The key in the ``Authorization`` header (``Bearer`` prefix optional), or None."""
    raw = request.headers.get("authorization")
    if not raw:
        return None
    raw = raw.strip()
    if raw[:7].lower() == "bearer ":
        raw = raw[7:].strip()
    return raw or None


def read_key_file(path: str) -> list[str]:
    """The keys in a key file (one a line; blank lines and ``#`` comments skipped)."""
    try:
        text = Path(path).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read key file {path}: {exc}") from exc
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def parse_endpoint_keys(entries: Iterable[str]) -> dict[str, frozenset[str]]:
    """``EP=KEY`` entries as key -> endpoints (a key may serve several endpoints)."""
    found: dict[str, set[str]] = {}
    for entry in entries:
        endpoint, sep, key = entry.partition("=")
        endpoint, key = endpoint.strip(), key.strip()
        if not sep or not endpoint or not key:
            raise ConfigError(f"endpoint key {entry.split('=')[0]!r}...: use ENDPOINT=KEY")
        found.setdefault(key, set()).add(endpoint)
    return {key: frozenset(endpoints) for key, endpoints in found.items()}


@dataclass(frozen=True)
class Keys:
    """Every configured key, from flags, environment and key files."""

    client: frozenset[str]
    worker: frozenset[str]
    endpoint: dict[str, frozenset[str]]

    @classmethod
    def of(cls, config: ServerConfig) -> Keys:
        client = list(config.client_keys)
        worker = list(config.worker_keys)
        endpoint = list(config.endpoint_keys)
        if config.api_key_file:
            client += read_key_file(config.api_key_file)
        if config.worker_key_file:
            worker += read_key_file(config.worker_key_file)
        if config.endpoint_key_file:
            endpoint += read_key_file(config.endpoint_key_file)
        return cls(frozenset(client), frozenset(worker), parse_endpoint_keys(endpoint))

    @property
    def any(self) -> bool:
        """True when at least one key of any kind is configured."""
        return bool(self.client or self.worker or self.endpoint)

    @property
    def any_client(self) -> bool:
        """True when client routes need a key (global or per endpoint)."""
        return bool(self.client or self.endpoint)


@dataclass(frozen=True)
class Access:
    """What a request's key may see: everything, or the listed endpoints."""

    everything: bool
    endpoints: frozenset[str] = frozenset()

    def allows(self, endpoint: str) -> bool:
        return self.everything or endpoint in self.endpoints


EVERYTHING = Access(everything=True)


def _matches(key: str, keys: Iterable[str]) -> bool:
    # Constant-time comparison against each key (the set lookups before are the fast path).
    return any(hmac.compare_digest(key.encode(), k.encode()) for k in keys)


class Auth:
    """Checks a request's key against the configured keys (see the module docstring)."""

    def __init__(self, config: ServerConfig) -> None:
        keys = Keys.of(config)
        self.client_keys = keys.client
        self.endpoint_keys = keys.endpoint
        self.worker_keys = keys.worker | keys.client
        self.open_client = not keys.any_client
        self.open_worker = not keys.any

    def client(self, request: Request, endpoint: str | None = None) -> Access:
        """What the request's client key opens; 401 without one, or for ``endpoint`` (a
        client route of that endpoint) when the key is another endpoint's."""
        if self.open_client:
            return EVERYTHING
        key = _presented(request, "client")
        if key in self.client_keys:
            return EVERYTHING
        endpoints = self.endpoint_keys.get(key)
        if endpoints is None:
            if _matches(key, self.client_keys):
                return EVERYTHING
            raise Unauthorized("invalid client API key")
        if endpoint is not None and endpoint not in endpoints:
            raise Unauthorized(f"this API key is not valid for endpoint {endpoint!r}")
        return Access(everything=False, endpoints=endpoints)

    def everything(self, request: Request) -> None:
        """Raise 401 unless the request carries a global client key (or no key is set)."""
        if not self.client(request).everything:
            raise Unauthorized("this route needs a client key valid for every endpoint")

    def worker(self, request: Request) -> None:
        """Raise 401 unless the request carries a worker or client key (or none is set)."""
        if self.open_worker:
            return
        key = _presented(request, "worker")
        if key not in self.worker_keys and not _matches(key, self.worker_keys):
            raise Unauthorized("invalid worker API key")


def _presented(request: Request, kind: str) -> str:
    key = presented_key(request)
    if key is None:
        raise Unauthorized(f"missing API key: send 'Authorization: Bearer <{kind} key>'")
    return key
