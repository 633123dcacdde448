"""SQLite-only guarantees: durability across reopen and SIGKILL, URLs, schema, batching."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from storage_support import LEASE, RETAIN, T0, new_job, ok

from pitstop.errors import BadRequest, ConfigError, StorageError
from pitstop.models import GpuSample, JobStatus
from pitstop.storage import make_store, queue_key
from pitstop.storage.notify import Hub
from pitstop.storage.sqlite import SqliteStore, path_from_url, schema
from pitstop.storage.sqlite import ops as sqlite_ops
from pitstop.storage.sqlite import sweep as sqlite_sweep
from pitstop.storage.sqlite.schema import SCHEMA_VERSION
from pitstop.storage.sqlite.writer import Tx


async def opened(path: Path) -> SqliteStore:
    store = SqliteStore(str(path))
    await store.open()
    return store


def test_url_forms() -> None:
    assert path_from_url("sqlite:///data/p.db") == "data/p.db"
    assert path_from_url("sqlite:////abs/p.db") == "/abs/p.db"
    assert path_from_url("sqlite://:memory:") == ":memory:"
    assert path_from_url("sqlite:///:memory:") == ":memory:"
    for bad in ("sqlite://", "sqlite://host/p.db", "postgres:///x", "sqlite:p.db"):
        with pytest.raises(ConfigError):
            path_from_url(bad)


def test_make_store_builds_sqlite_and_rejects_unknown_options(tmp_path: Path) -> None:
    store = make_store(f"sqlite:///{tmp_path}/a.db", retention_run_s=5)
    assert isinstance(store, SqliteStore) and store.path == f"{tmp_path}/a.db"
    with pytest.raises(ConfigError, match="unknown SQLite store option"):
        make_store(f"sqlite:///{tmp_path}/a.db", bogus=1)


async def test_open_creates_parent_dirs_and_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "p.db"
    store = await opened(path)
    await store.open()
    assert path.exists() and store.schema_version == SCHEMA_VERSION
    await store.close()
    await store.close()


async def test_unopenable_path_is_a_storage_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    store = SqliteStore(str(tmp_path / "file" / "p.db"))
    with pytest.raises(StorageError, match="cannot open"):
        await store.open()
    with pytest.raises(StorageError, match="not open"):
        await store.get("x")


async def test_memory_database(tmp_path: Path) -> None:
    store = SqliteStore(":memory:")
    await store.open()
    job = await store.enqueue(new_job())
    assert (await store.get(job.id)) is not None
    await store.close()


async def test_wal_and_schema_version(tmp_path: Path) -> None:
    store = await opened(tmp_path / "p.db")
    await store.close()
    conn = sqlite3.connect(tmp_path / "p.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    assert int(row[0]) == SCHEMA_VERSION
    conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (SCHEMA_VERSION + 1,))
    conn.commit()
    conn.close()
    with pytest.raises(StorageError, match="newer"):
        await opened(tmp_path / "p.db")


async def test_a_version_3_database_gains_gpu_samples(tmp_path: Path) -> None:
    path = tmp_path / "p.db"
    conn = sqlite3.connect(path, isolation_level=None)
    for version in (1, 2, 3):
        schema._apply(conn, version)
    conn.execute(
        "INSERT INTO workers (endpoint, id, last_seen, job_ids) VALUES ('ep', 'w1', ?, '[]')",
        (T0,),
    )
    conn.close()
    store = await opened(path)
    try:
        assert store.schema_version == SCHEMA_VERSION == 4
        (before,) = await store.workers("ep", T0)
        assert before.gpus is None
        sample = GpuSample(T0 + 1, 5.0, ({"index": "0"},))
        assert await store.record_gpus("ep", {"w1": sample}) == ["w1"]
        (after,) = await store.workers("ep", T0)
        assert after.gpus == sample
    finally:
        await store.close()


async def test_unopened_and_closed_store_raise(tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "p.db"))
    with pytest.raises(StorageError, match="not open"):
        await store.get("x")
    await store.open()
    await store.close()
    with pytest.raises(StorageError):
        await store.get("x")


async def test_state_survives_close_and_reopen(tmp_path: Path) -> None:
    store = await opened(tmp_path / "p.db")
    queued = await store.enqueue(new_job(input={"keep": [1, 2]}, webhook="http://h/"))
    running = await store.enqueue(new_job(created_at=T0 - 1))
    await store.claim("ep", "w1", 1, LEASE, T0)
    await store.append_chunk(running.id, "w1", 1, "c0")
    await store.close()

    store = await opened(tmp_path / "p.db")
    again = await store.get(queued.id)
    assert again is not None and again.status is JobStatus.IN_QUEUE
    assert again.input == {"keep": [1, 2]} and again.webhook == "http://h/"
    still = await store.get(running.id)
    assert still is not None and still.status is JobStatus.IN_PROGRESS and still.chunk_count == 1
    await store.finish(running.id, "w1", 1, ok(), T0 + 1, RETAIN)
    assert [j.id for j in await store.claim("ep", "w2", 5, LEASE, T0 + 2)] == [queued.id]
    await store.close()


_CHILD = textwrap.dedent(
    """
    import asyncio, sys, uuid
    from pitstop.models import NewJob
    from pitstop.storage.sqlite import SqliteStore

    async def one(store, i):
        job = NewJob(id=f"k-{i}-{uuid.uuid4().hex}", endpoint="ep", input={"i": i})
        await store.enqueue(job)
        sys.stdout.write(job.id + "\\n")
        sys.stdout.flush()

    async def main():
        store = SqliteStore(sys.argv[1])
        await store.open()
        i = 0
        while True:  # until SIGKILLed: bursts of concurrent enqueues (group commits)
            await asyncio.gather(*(one(store, i + k) for k in range(16)))
            i += 16

    asyncio.run(main())
    """
)


def test_every_reported_enqueue_survives_sigkill(tmp_path: Path) -> None:
    path = tmp_path / "killed.db"
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(path)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    reported: list[str] = []
    try:
        assert child.stdout is not None
        deadline = time.monotonic() + 20
        while len(reported) < 300 and time.monotonic() < deadline:
            line = child.stdout.readline()
            if not line:
                break
            reported.append(line.strip())
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    assert len(reported) >= 300, "the child stopped reporting enqueues"
    conn = sqlite3.connect(path)
    stored = {row[0] for row in conn.execute("SELECT id FROM jobs")}
    conn.close()
    missing = [job_id for job_id in reported if job_id not in stored]
    assert missing == []


async def test_failing_operation_in_a_batch_rolls_back_alone(tmp_path: Path) -> None:
    store = await opened(tmp_path / "p.db")
    existing = await store.enqueue(new_job())
    first, second = new_job(), new_job()
    gate = threading.Event()
    assert store._writer is not None
    blocker = store._writer.submit(lambda tx: gate.wait(5.0))  # hold the writer thread
    pending = asyncio.gather(
        store.enqueue(first),
        store.enqueue(new_job(job_id=existing.id)),
        store.enqueue(second),
        return_exceptions=True,
    )
    await asyncio.sleep(0.01)  # the three enqueues queue up behind the blocker: one batch
    gate.set()
    assert await blocker is True
    results = await pending
    assert isinstance(results[1], StorageError)
    assert await store.get(first.id) is not None
    assert await store.get(second.id) is not None
    assert (await store.counts("ep"))["IN_QUEUE"] == 3
    await store.close()


async def test_close_runs_what_was_submitted_before_it(tmp_path: Path) -> None:
    store = await opened(tmp_path / "p.db")
    jobs = [new_job() for _ in range(3)]
    pending = [asyncio.ensure_future(store.enqueue(job)) for job in jobs]
    await asyncio.sleep(0)  # the enqueues have been submitted, none has committed yet
    await store.close()
    assert [t.result().id for t in pending] == [job.id for job in jobs]
    store = await opened(tmp_path / "p.db")
    assert all([await store.get(job.id) is not None for job in jobs])
    await store.close()


async def test_operation_failing_after_writing_is_undone_alone(tmp_path: Path) -> None:
    store = await opened(tmp_path / "p.db")
    first, doomed, second = new_job(), new_job(), new_job()

    def write_then_fail(tx: Tx) -> None:
        sqlite_ops.enqueue(tx, doomed, "{}", None, None)
        raise RuntimeError("failed after writing")

    gate = threading.Event()
    assert store._writer is not None
    blocker = store._writer.submit(lambda tx: gate.wait(5.0))
    pending = asyncio.gather(
        store.enqueue(first),
        store._writer.submit(write_then_fail),
        store.enqueue(second),
        return_exceptions=True,
    )
    await asyncio.sleep(0.01)
    gate.set()
    await blocker
    results = await pending
    assert isinstance(results[1], RuntimeError)
    assert await store.get(doomed.id) is None
    assert await store.get(first.id) is not None and await store.get(second.id) is not None
    assert (await store.counts("ep"))["IN_QUEUE"] == 2
    await store.close()


async def test_unencodable_input_is_bad_request_and_stores_nothing(tmp_path: Path) -> None:
    store = await opened(tmp_path / "p.db")
    job = new_job(input={"bytes": b"raw"})
    with pytest.raises(BadRequest):
        await store.enqueue(job)
    assert await store.get(job.id) is None
    await store.close()


async def test_lone_surrogates_survive(tmp_path: Path) -> None:
    store = await opened(tmp_path / "p.db")
    job = await store.enqueue(new_job(input={"s": "a\ud800b"}))
    got = await store.get(job.id)
    assert got is not None and got.input == {"s": "a\ud800b"}
    await store.close()


async def test_hub_delivers_notifications_from_another_thread() -> None:
    hub = Hub()
    async with hub.watch(queue_key("ep")) as watch:
        thread = threading.Thread(target=hub.notify, args=([queue_key("ep")],))
        thread.start()
        assert await watch.wait(5.0) is True
        thread.join()
        assert await watch.wait(0.01) is False
    hub.close()
    async with hub.watch("k") as watch:
        assert await watch.wait(5.0) is False  # closed: returns at once


async def test_delete_expired_works_off_a_backlog_in_bounded_passes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_sweep, "DELETE_BATCH", 2)
    store = await opened(tmp_path / "p.db")
    for i in range(5):
        job = await store.enqueue(new_job(created_at=T0 + i))
        await store.cancel(job.id, T0 + 10)
    passes = [await store.delete_expired(T0 + 100_000) for _ in range(4)]
    assert passes == [2, 2, 1, 0]
    assert await store.recent() == []
    await store.close()


async def test_pending_webhook_outlives_its_deleted_job(tmp_path: Path) -> None:
    store = await opened(tmp_path / "p.db")
    job = await store.enqueue(new_job(webhook="http://127.0.0.1:9/h"))
    await store.claim("ep", "w1", 1, LEASE, T0)
    await store.finish(job.id, "w1", 1, ok(), T0 + 1, 1.0)
    assert await store.delete_expired(T0 + 5) == 1
    due = await store.due_webhooks(T0 + 5, 10)
    assert [d.job_id for d in due] == [job.id]
    await store.webhook_attempted(due[0].id, True, None, None)
    assert await store.webhook_deliveries(job.id) == []  # settled and orphaned: removed
    await store.close()
