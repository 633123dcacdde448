"""Typed configuration objects, one per component, each with defaults and ``from_env()``.

Worker variables are RunPod's (``RUNPOD_WEBHOOK_GET_JOB``, ...); pitstop's own are
``PITSTOP_*``. Every interval is a field (seconds, float) so tests run them in milliseconds.
Standard library only: the worker runtime imports this module.
"""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from pitstop.errors import ConfigError
from pitstop.models import MAX_POLICY_MS

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    """Parse a boolean variable (1/true/yes/on, 0/false/no/off); raise ConfigError otherwise."""
    raw = env.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean (use true or false)")


def env_float(env: Mapping[str, str], name: str, default: float, *, scale: float = 1.0) -> float:
    """Parse a number variable, multiplied by ``scale`` (e.g. 0.001 for milliseconds)."""
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw) * scale
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number") from None


def env_int(env: Mapping[str, str], name: str, default: int) -> int:
    """Parse an integer variable."""
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not an integer") from None


@dataclass
class WorkerConfig:
    """The worker runtime's settings: RunPod's environment plus pitstop's intervals."""

    job_take_url: str | None = None
    """``RUNPOD_WEBHOOK_GET_JOB`` (``$ID`` = worker id). None means local test mode."""
    job_done_url: str = "JOB_DONE_URL"
    job_stream_url: str = "JOB_STREAM_URL"
    ping_url: str = "PING_NOT_SET"
    api_key: str = ""
    worker_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    worker_id_from_env: bool = False
    """True when ``RUNPOD_POD_ID`` was set (the heartbeat only runs then, as RunPod's)."""
    hostname: str = "unknown"
    endpoint_id: str | None = None
    ping_interval: float = 10.0
    take_timeout: float = 90.0
    """Client-side bound on one job-take long-poll."""
    stop_poll_floor: float = 1.0
    """Pause after an empty job-stop answer (RunPod's 1 s floor)."""
    backoff_base: float = 0.1
    backoff_max: float = 10.0
    rate_limit_wait: float = 5.0
    """Wait after a 429 from job-take (RunPod's 5 s)."""
    result_attempts: int = 5
    result_backoff: float = 0.5
    unavailable_wait: float = 120.0
    """How long result POSTs wait out 503 answers (``Retry-After``) before giving up."""
    shutdown_grace: float = 30.0
    """How long in-flight jobs may run after SIGTERM before the worker gives up on them."""
    concurrency: int = 1
    """Starting concurrency (``PITSTOP_CONCURRENCY``, set by the supervisor); a handler's
    ``concurrency_modifier`` still decides from there."""
    log_level: str = "DEBUG"
    skip_gpu_check: bool = False
    skip_system_checks: bool = False
    http_client: str = "auto"
    """Job-traffic HTTP client (``PITSTOP_WORKER_HTTP_CLIENT``): ``auto`` uses pitstop's light
    client for http:// platforms and httpx for https://; ``httpx`` always uses httpx."""
    restarts: int | None = None
    """Workers the supervisor replaced before starting this one (``PITSTOP_WORKER_RESTARTS``);
    reported in pings for the dashboard."""
    gpus: str | None = None
    """``CUDA_VISIBLE_DEVICES`` as the worker started, reported in pings for the dashboard."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> WorkerConfig:
        """Read RunPod's worker variables (and ``PITSTOP_WORKER_*`` intervals)."""
        env = os.environ if env is None else env
        pod_id = env.get("RUNPOD_POD_ID") or ""
        worker_id = pod_id or str(uuid.uuid4())
        cfg = cls(
            job_take_url=env.get("RUNPOD_WEBHOOK_GET_JOB"),
            job_done_url=env.get("RUNPOD_WEBHOOK_POST_OUTPUT", "JOB_DONE_URL"),
            job_stream_url=env.get("RUNPOD_WEBHOOK_POST_STREAM", "JOB_STREAM_URL"),
            ping_url=env.get("RUNPOD_WEBHOOK_PING", "PING_NOT_SET"),
            api_key=env.get("RUNPOD_AI_API_KEY", ""),
            worker_id=worker_id,
            worker_id_from_env=bool(pod_id),
            hostname=env.get("RUNPOD_POD_HOSTNAME", "unknown"),
            endpoint_id=env.get("RUNPOD_ENDPOINT_ID") or None,
            ping_interval=env_float(env, "RUNPOD_PING_INTERVAL", 10000.0, scale=0.001),
            take_timeout=env_float(env, "PITSTOP_WORKER_TAKE_TIMEOUT", 90.0),
            stop_poll_floor=env_float(env, "PITSTOP_WORKER_STOP_POLL_FLOOR", 1.0),
            backoff_base=env_float(env, "PITSTOP_WORKER_BACKOFF_BASE", 0.1),
            backoff_max=env_float(env, "PITSTOP_WORKER_BACKOFF_MAX", 10.0),
            rate_limit_wait=env_float(env, "PITSTOP_WORKER_RATE_LIMIT_WAIT", 5.0),
            result_attempts=env_int(env, "PITSTOP_WORKER_RESULT_ATTEMPTS", 5),
            result_backoff=env_float(env, "PITSTOP_WORKER_RESULT_BACKOFF", 0.5),
            unavailable_wait=env_float(env, "PITSTOP_WORKER_UNAVAILABLE_WAIT", 120.0),
            shutdown_grace=env_float(env, "PITSTOP_WORKER_SHUTDOWN_GRACE", 30.0),
            concurrency=max(1, env_int(env, "PITSTOP_CONCURRENCY", 1)),
            log_level=env.get("RUNPOD_LOG_LEVEL") or env.get("RUNPOD_DEBUG_LEVEL") or "DEBUG",
            skip_gpu_check=env_bool(env, "RUNPOD_SKIP_GPU_CHECK", False),
            skip_system_checks=env_bool(env, "RUNPOD_SKIP_AUTO_SYSTEM_CHECKS", False),
            http_client=env.get("PITSTOP_WORKER_HTTP_CLIENT") or "auto",
            restarts=env_int(env, "PITSTOP_WORKER_RESTARTS", 0)
            if env.get("PITSTOP_WORKER_RESTARTS")
            else None,
            gpus=env.get("CUDA_VISIBLE_DEVICES") or None,
        )
        return cfg


@functools.lru_cache(maxsize=16)
def endpoint_timeouts(entries: tuple[str, ...]) -> Mapping[str, int]:
    """``ENDPOINT=MS`` entries as endpoint -> milliseconds (read once per tuple: a submit
    asks on every call); ConfigError for a malformed entry."""
    found: dict[str, int] = {}
    for entry in entries:
        endpoint, sep, raw = entry.partition("=")
        try:
            ms = int(raw.strip())
        except ValueError:
            ms = 0
        if not sep or not endpoint.strip() or not 0 < ms <= MAX_POLICY_MS:
            raise ConfigError(
                f"endpoint execution timeout {entry!r}: use ENDPOINT=MS "
                f"(MS from 1 to {MAX_POLICY_MS})"
            )
        found[endpoint.strip()] = ms
    return MappingProxyType(found)


@dataclass
class ServerConfig:
    """The job server's settings (``PITSTOP_*`` variables, ``pitstop server`` flags)."""

    host: str = "127.0.0.1"
    port: int = 8000
    store_url: str = "sqlite:///pitstop-data/pitstop.db"
    client_keys: tuple[str, ...] = ()
    worker_keys: tuple[str, ...] = ()
    endpoint_keys: tuple[str, ...] = ()
    """``ENDPOINT=KEY`` entries: client keys valid for one endpoint's routes only."""
    api_key_file: str | None = None
    """File of client keys, one a line (keeps them out of ``ps``); added to ``client_keys``."""
    worker_key_file: str | None = None
    endpoint_key_file: str | None = None
    """File of ``ENDPOINT=KEY`` lines."""
    allow_public_without_keys: bool = False
    lease_s: float = 30.0
    """How long a taken job stays leased without a ping renewing it."""
    max_attempts: int = 3
    """Claims per job before a lost lease makes it FAILED instead of re-queued."""
    sweep_interval: float = 1.0
    take_wait: float = 30.0
    """How long ``job-take`` holds an idle long-poll before answering 204."""
    stop_wait: float = 30.0
    runsync_wait: float = 90.0
    retention_run_s: float = 1800.0
    retention_sync_s: float = 60.0
    default_execution_timeout_ms: int = 600_000
    endpoint_execution_timeouts: tuple[str, ...] = ()
    """``ENDPOINT=MS`` entries: the execution timeout of one endpoint's jobs that set none, in
    place of ``default_execution_timeout_ms`` (``execution_timeout_ms`` of a ``pitstop.toml``
    endpoint; a later entry for an endpoint wins)."""
    default_ttl_ms: int = 86_400_000
    max_run_body: int = 10 * 1024 * 1024
    max_runsync_body: int = 20 * 1024 * 1024
    max_worker_body: int = 64 * 1024 * 1024
    max_queue: int | None = None
    """Bound on ``IN_QUEUE`` jobs per endpoint; over it ``run`` answers 429."""
    max_inflight_bytes: int = 128 * 1024 * 1024
    """Request body bytes held at once over all requests; past it requests answer 503."""
    header_timeout: float = 10.0
    """A connection whose request head is not complete this long after it began is closed."""
    keep_alive_timeout: float = 75.0
    """An idle kept-alive connection is closed after this long (longer than any client's
    pause between requests, so a reused connection is not closed under a busy client)."""
    max_connections: int | None = None
    """Open connections at once (None: the file descriptor limit minus a reserve); beyond
    it a new connection is answered 503 and closed."""
    worker_seen_s: float = 60.0
    """A worker counts in ``/health`` while its last ping or take is this recent."""
    webhook_timeout: float = 10.0
    webhook_attempts: int = 3
    """Attempts per webhook (each failure of any kind counts) before it is marked failed."""
    webhook_backoff: float = 10.0
    webhook_allow: tuple[str, ...] = ()
    """Hosts and CIDR ranges webhooks may reach although they are not public addresses."""
    webhook_secret: str | None = None
    """``whsec_...``: every delivery is signed (Standard Webhooks headers; pitstop.webhooks)."""
    sse_heartbeat: float = 15.0
    """Seconds between keep-alive comments on a Server-Sent-Events stream of a running job."""
    log_level: str = "info"
    dashboard: bool = True
    """Serve the web dashboard under ``/dashboard/`` (``/`` redirects there)."""

    def execution_timeout_ms(self, endpoint: str) -> int:
        """The execution timeout of a job of ``endpoint`` whose policy sets none."""
        own = endpoint_timeouts(self.endpoint_execution_timeouts)
        return own.get(endpoint, self.default_execution_timeout_ms)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ServerConfig:
        """Read ``PITSTOP_*`` variables; unset ones keep their defaults."""
        env = os.environ if env is None else env
        d = cls()

        def keys(name: str) -> tuple[str, ...]:
            return tuple(k.strip() for k in env.get(name, "").split(",") if k.strip())

        return cls(
            host=env.get("PITSTOP_HOST", d.host),
            port=env_int(env, "PITSTOP_PORT", d.port),
            store_url=env.get("PITSTOP_STORE", d.store_url),
            client_keys=keys("PITSTOP_API_KEYS"),
            worker_keys=keys("PITSTOP_WORKER_KEYS"),
            endpoint_keys=keys("PITSTOP_ENDPOINT_KEYS"),
            api_key_file=env.get("PITSTOP_API_KEY_FILE") or None,
            worker_key_file=env.get("PITSTOP_WORKER_KEY_FILE") or None,
            endpoint_key_file=env.get("PITSTOP_ENDPOINT_KEY_FILE") or None,
            allow_public_without_keys=env_bool(env, "PITSTOP_ALLOW_NO_AUTH", False),
            lease_s=env_float(env, "PITSTOP_LEASE", d.lease_s),
            max_attempts=env_int(env, "PITSTOP_MAX_ATTEMPTS", d.max_attempts),
            sweep_interval=env_float(env, "PITSTOP_SWEEP_INTERVAL", d.sweep_interval),
            take_wait=env_float(env, "PITSTOP_TAKE_WAIT", d.take_wait),
            stop_wait=env_float(env, "PITSTOP_STOP_WAIT", d.stop_wait),
            runsync_wait=env_float(env, "PITSTOP_RUNSYNC_WAIT", d.runsync_wait),
            retention_run_s=env_float(env, "PITSTOP_RETENTION_RUN", d.retention_run_s),
            retention_sync_s=env_float(env, "PITSTOP_RETENTION_SYNC", d.retention_sync_s),
            max_run_body=env_int(env, "PITSTOP_MAX_RUN_BODY", d.max_run_body),
            max_runsync_body=env_int(env, "PITSTOP_MAX_RUNSYNC_BODY", d.max_runsync_body),
            max_queue=env_int(env, "PITSTOP_MAX_QUEUE", 0) or None,
            max_inflight_bytes=env_int(env, "PITSTOP_MAX_INFLIGHT_BYTES", d.max_inflight_bytes),
            header_timeout=env_float(env, "PITSTOP_HEADER_TIMEOUT", d.header_timeout),
            keep_alive_timeout=env_float(env, "PITSTOP_KEEP_ALIVE_TIMEOUT", d.keep_alive_timeout),
            max_connections=env_int(env, "PITSTOP_MAX_CONNECTIONS", 0) or None,
            webhook_timeout=env_float(env, "PITSTOP_WEBHOOK_TIMEOUT", d.webhook_timeout),
            webhook_attempts=env_int(env, "PITSTOP_WEBHOOK_ATTEMPTS", d.webhook_attempts),
            webhook_backoff=env_float(env, "PITSTOP_WEBHOOK_BACKOFF", d.webhook_backoff),
            webhook_allow=keys("PITSTOP_WEBHOOK_ALLOW"),
            webhook_secret=env.get("PITSTOP_WEBHOOK_SECRET") or None,
            sse_heartbeat=env_float(env, "PITSTOP_SSE_HEARTBEAT", d.sse_heartbeat),
            log_level=env.get("PITSTOP_LOG_LEVEL", d.log_level),
            dashboard=env_bool(env, "PITSTOP_DASHBOARD", d.dashboard),
        )


@dataclass
class SupervisorConfig:
    """``pitstop serve`` / ``pitstop worker``: how many worker processes and how they restart."""

    handler_path: str = ""
    handler_args: tuple[str, ...] = ()
    """Arguments after ``--``: every worker process gets them as ``sys.argv[1:]``."""
    endpoint_id: str = ""
    server_url: str | None = None
    """Remote server for ``pitstop worker``; None means start one in-process."""
    worker_key: str = ""
    min_workers: int = 1
    max_workers: int = 1
    concurrency: int = 1
    idle_timeout: float = 60.0
    scale_interval: float = 0.5
    restart_backoff_base: float = 0.5
    restart_backoff_max: float = 30.0
    """Cap on the wait before restarting a worker that keeps crashing."""
    crash_loop_threshold: int = 5
    stable_after: float = 10.0
    """A worker that ran this long before crashing starts a new crash streak (no backoff)."""
    drain_timeout: float = 30.0
    """How long a stopping worker (and what its process group still runs) may take before
    SIGKILL: on Ctrl-C, scale-down, reload, and for what an exited worker left behind."""
    reload: bool = False
    data_dir: str = "pitstop-data"
    handler_env: tuple[str, ...] = ()
    """``NAME=VALUE`` entries added to every worker process's environment."""
    gpus: str = "all"
    """``all`` (the GPUs NVML reports; none without the NVIDIA driver), ``none``, or a comma
    list of device indices (``0,1,2,3``, no NVML needed). With several endpoints a list
    reserves those devices for this endpoint; ``all`` shares the devices nobody reserved."""
    gpus_per_worker: int = 1
    """Devices each worker process gets (``CUDA_VISIBLE_DEVICES``), never shared."""
    gpu_telemetry_interval: float = 5.0
    """Seconds between readings of the workers' GPUs (with NVML), reported to the server."""
    execution_timeout_ms: int | None = None
    """``pitstop serve``: the execution timeout of this endpoint's jobs that set no
    ``policy.executionTimeout`` (None: the server's ``default_execution_timeout_ms``)."""
