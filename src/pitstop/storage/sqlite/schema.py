"""SQLite schema for :mod:`pitstop.storage.sqlite`, with a version number for later migrations.

The ``meta`` table holds ``schema_version``. :func:`migrate` creates a fresh database or
upgrades an older one step by step (each step one transaction); a database written by a
newer pitstop is refused rather than misread.

Indexes are few on purpose (each one costs every insert and transition): claim order, the
running set (lease expiry; execution deadlines are found by scanning it), queue deadlines,
retention, and ``(endpoint, rowid)`` / ``(endpoint, status, rowid)`` for job pages, which go
newest-first by insertion order.

Per-status job counts for ``/health`` are kept up to date by triggers in ``job_counts`` so
``counts`` stays O(1) however many finished jobs are retained.
"""

from __future__ import annotations

import sqlite3

from pitstop.errors import StorageError

SCHEMA_VERSION = 4

_V1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;

CREATE TABLE jobs (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    endpoint TEXT NOT NULL,
    status TEXT NOT NULL,
    input TEXT NOT NULL,
    webhook TEXT,
    exec_timeout_ms INTEGER,
    ttl_ms INTEGER,
    low_priority INTEGER NOT NULL DEFAULT 0,
    s3_config TEXT,
    sync INTEGER NOT NULL DEFAULT 0,
    attempt INTEGER NOT NULL DEFAULT 0,
    attempt_base INTEGER NOT NULL DEFAULT 0,
    retries INTEGER NOT NULL DEFAULT 0,
    worker_id TEXT,
    lease_expires_at REAL,
    created_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL,
    output TEXT,
    has_output INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    progress TEXT,
    has_progress INTEGER NOT NULL DEFAULT 0,
    stop_pod INTEGER NOT NULL DEFAULT 0,
    chunk_count INTEGER NOT NULL DEFAULT 0,
    stream_cursor INTEGER NOT NULL DEFAULT 0,
    log_count INTEGER NOT NULL DEFAULT 0,
    queue_deadline REAL,
    run_deadline REAL,
    retain_until REAL,
    end_reason TEXT
);
CREATE INDEX jobs_claim ON jobs (endpoint, low_priority, created_at, seq)
    WHERE status = 'IN_QUEUE';
CREATE INDEX jobs_running ON jobs (lease_expires_at) WHERE status = 'IN_PROGRESS';
CREATE INDEX jobs_queue_deadline ON jobs (queue_deadline)
    WHERE status = 'IN_QUEUE' AND queue_deadline IS NOT NULL;
CREATE INDEX jobs_retention ON jobs (retain_until)
    WHERE status IN ('COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT');
CREATE INDEX jobs_endpoint ON jobs (endpoint);

CREATE TABLE job_counts (
    endpoint TEXT NOT NULL,
    status TEXT NOT NULL,
    n INTEGER NOT NULL,
    retries INTEGER NOT NULL,
    PRIMARY KEY (endpoint, status)
) WITHOUT ROWID;

CREATE TRIGGER jobs_count_insert AFTER INSERT ON jobs BEGIN
    INSERT INTO job_counts (endpoint, status, n, retries)
        VALUES (NEW.endpoint, NEW.status, 1, NEW.retries)
        ON CONFLICT (endpoint, status)
        DO UPDATE SET n = n + 1, retries = retries + excluded.retries;
END;
CREATE TRIGGER jobs_count_delete AFTER DELETE ON jobs BEGIN
    UPDATE job_counts SET n = n - 1, retries = retries - OLD.retries
        WHERE endpoint = OLD.endpoint AND status = OLD.status;
END;
CREATE TRIGGER jobs_count_update AFTER UPDATE OF status, retries ON jobs
    WHEN OLD.status IS NOT NEW.status OR OLD.retries IS NOT NEW.retries
BEGIN
    UPDATE job_counts SET n = n - 1, retries = retries - OLD.retries
        WHERE endpoint = OLD.endpoint AND status = OLD.status;
    INSERT INTO job_counts (endpoint, status, n, retries)
        VALUES (NEW.endpoint, NEW.status, 1, NEW.retries)
        ON CONFLICT (endpoint, status)
        DO UPDATE SET n = n + 1, retries = retries + excluded.retries;
END;

CREATE TABLE chunks (
    job_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    output TEXT NOT NULL,
    PRIMARY KEY (job_id, seq)
) WITHOUT ROWID;

CREATE TABLE logs (
    job_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    at REAL NOT NULL,
    stream TEXT NOT NULL,
    text TEXT NOT NULL,
    PRIMARY KEY (job_id, seq)
) WITHOUT ROWID;

CREATE TABLE stops (
    worker_id TEXT NOT NULL,
    job_id TEXT NOT NULL,
    PRIMARY KEY (worker_id, job_id)
) WITHOUT ROWID;
CREATE INDEX stops_job ON stops (job_id);

CREATE TABLE workers (
    endpoint TEXT NOT NULL,
    id TEXT NOT NULL,
    last_seen REAL NOT NULL,
    job_ids TEXT NOT NULL,
    version TEXT,
    PRIMARY KEY (endpoint, id)
) WITHOUT ROWID;
CREATE INDEX workers_seen ON workers (last_seen);

CREATE TABLE webhooks (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    job_id TEXT NOT NULL,
    url TEXT NOT NULL,
    payload TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at REAL NOT NULL,
    pending INTEGER NOT NULL DEFAULT 1,
    delivered INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE INDEX webhooks_due ON webhooks (next_at, seq) WHERE pending = 1;
CREATE INDEX webhooks_job ON webhooks (job_id);
"""

_V2 = """
ALTER TABLE workers ADD COLUMN meta TEXT;

CREATE INDEX jobs_endpoint_status ON jobs (endpoint, status);

CREATE TABLE job_events (
    job_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    at REAL NOT NULL,
    kind TEXT NOT NULL,
    worker_id TEXT,
    attempt INTEGER,
    detail TEXT,
    PRIMARY KEY (job_id, seq)
) WITHOUT ROWID;

CREATE TABLE job_stats (
    endpoint TEXT NOT NULL,
    minute INTEGER NOT NULL,
    metric TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (endpoint, minute, metric)
) WITHOUT ROWID;
"""
"""Version 2: job timelines, per-minute statistics, worker process details, and the
``(endpoint, status)`` index behind status-filtered job pages (see
:mod:`pitstop.storage.sqlite.events`)."""

_V3 = """
CREATE TABLE idempotency (
    endpoint TEXT NOT NULL,
    key TEXT NOT NULL,
    job_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    PRIMARY KEY (endpoint, key)
) WITHOUT ROWID;
CREATE INDEX idempotency_job ON idempotency (job_id);
"""
"""Version 3: ``Idempotency-Key`` of submissions, forgotten with their job."""

_V4 = """
ALTER TABLE workers ADD COLUMN gpus TEXT;
"""
"""Version 4: each worker's latest GPU telemetry (JSON, see :func:`pitstop.storage.stats.encode_gpus`)."""

_MIGRATIONS: dict[int, str] = {1: _V1, 2: _V2, 3: _V3, 4: _V4}
"""Script that brings a database from version ``n - 1`` to ``n``."""


def configure(conn: sqlite3.Connection) -> None:
    """Connection settings: WAL (readers never block the writer) and ``synchronous=NORMAL``
    (a commit survives a crash of this process; only an OS crash may lose the last ones)."""
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=OFF")
    conn.execute("PRAGMA busy_timeout=10000")
    conn.execute("PRAGMA temp_store=MEMORY")
    conn.execute("PRAGMA cache_size=-32000")


def current_version(conn: sqlite3.Connection) -> int:
    """The database's schema version (0 for an empty database)."""
    has_meta = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
    ).fetchone()
    if not has_meta:
        return 0
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else 0


def migrate(conn: sqlite3.Connection) -> int:
    """Create or upgrade the schema to :data:`SCHEMA_VERSION`; return the version reached."""
    version = current_version(conn)
    if version > SCHEMA_VERSION:
        raise StorageError(
            f"database schema version {version} is newer than this pitstop supports "
            f"({SCHEMA_VERSION}); upgrade pitstop"
        )
    while version < SCHEMA_VERSION:
        version += 1
        _apply(conn, version)
    return version


def _apply(conn: sqlite3.Connection, version: int) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        for statement in _statements(_MIGRATIONS[version]):
            conn.execute(statement)
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('schema_version', ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (str(version),),
        )
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _statements(script: str) -> list[str]:
    """Split a script into statements (``executescript`` would commit our transaction)."""
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    return [s for s in statements if s]
