"""The SQLite store's single writer thread: serial execution with group commit.

Every store operation is a plain function ``fn(tx, *args)`` run on one connection owned by
one thread, so operations are serial (claims can never interleave) and the event loop never
blocks on disk. The thread drains whatever operations are queued (up to ``max_batch``) and
runs them in ONE transaction (a failing operation is rolled back alone, see
:meth:`Writer._run_batch`); a single ``COMMIT`` then makes the whole batch durable. Only after that commit
are the callers' futures resolved and the wakeup keys notified, so "returned" always means
"durable" and a woken waiter always sees the new state.

Outages (disk full, a read-only or failing filesystem, a database locked by another process)
fail the batch with :class:`~pitstop.errors.StoreUnavailable` after rolling it back, so
nothing of it was written; the thread lives on and reopens its connection before the next
batch (a connection SQLite opened read-only stays read-only until reopened), so the store
recovers by itself once the disk has room or is writable again.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import sqlite3
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future as ThreadFuture
from typing import Any, TypeVar

from pitstop.errors import StorageError, StoreUnavailable
from pitstop.storage.sqlite.schema import configure, migrate

T = TypeVar("T")

_STOP = object()

RETRY_AFTER_S = 1.0
"""``Retry-After`` of a request refused because the store is unavailable."""

_OUTAGE_CODES = {
    5: "SQLITE_BUSY",
    8: "SQLITE_READONLY",
    10: "SQLITE_IOERR",
    13: "SQLITE_FULL",
    14: "SQLITE_CANTOPEN",
    15: "SQLITE_PROTOCOL",
    22: "SQLITE_NOLFS",
}
"""Primary result codes that mean "the disk or file cannot be written now", not a bug."""
_OUTAGE_TEXTS = (
    "disk is full",
    "readonly database",
    "disk i/o error",
    "unable to open",
    "database is locked",
)
"""The same, by message, for Python 3.10 (no ``sqlite_errorcode``)."""


class _OperationFailed(Exception):
    """An operation raised during an optimistic (savepoint-free) batch run."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


class Deferred:
    """Writes put off to the end of the batch: rows per statement (``executemany``), and
    tallies (a statement run once per distinct key with how often the key was counted).

    Timeline events and per-minute counters are written by nearly every operation: the
    events go in one ``executemany`` per batch, the counters as one upsert per distinct key
    (instead of three per finished job). They still commit in the same transaction as the
    operations that caused them.
    """

    __slots__ = ("rows", "tallies")

    def __init__(self) -> None:
        self.rows: dict[str, list[Sequence[Any]]] = {}
        self.tallies: dict[str, dict[tuple[Any, ...], int]] = {}

    def __bool__(self) -> bool:
        return bool(self.rows or self.tallies)

    def merge(self, other: Deferred) -> None:
        """Take over ``other``'s writes after this one's."""
        for sql, rows in other.rows.items():
            self.rows.setdefault(sql, []).extend(rows)
        for sql, counts in other.tallies.items():
            mine = self.tallies.setdefault(sql, {})
            for key, n in counts.items():
                mine[key] = mine.get(key, 0) + n

    def run(self, conn: sqlite3.Connection) -> None:
        """Execute everything in order (rows, then tallies) and forget it."""
        for sql, rows in self.rows.items():
            conn.executemany(sql, rows)
        for sql, counts in self.tallies.items():
            conn.executemany(sql, [(*key, n) for key, n in counts.items()])
        self.rows = {}
        self.tallies = {}


class Tx:
    """What an operation gets: the connection, a place to put keys to notify on commit, and
    writes it defers to the end of the batch (:meth:`defer`, :meth:`tally`)."""

    __slots__ = ("_batch", "conn", "deferred", "keys")

    def __init__(self, conn: sqlite3.Connection, batch: Deferred | None = None) -> None:
        self.conn = conn
        self.keys: set[str] = set()
        self.deferred = Deferred()
        self._batch = batch

    def notify(self, *keys: str) -> None:
        """Wake the watchers of ``keys`` once this operation's transaction has committed."""
        self.keys.update(keys)

    def one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """The first row of a query, or None."""
        return self.conn.execute(sql, params).fetchone()

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """Every row of a query."""
        return self.conn.execute(sql, params).fetchall()

    def defer(self, sql: str, params: Sequence[Any]) -> None:
        """Run ``sql`` with ``params`` before the batch commits (after earlier deferred rows
        of the same statement). Dropped with the operation if it fails."""
        self.deferred.rows.setdefault(sql, []).append(params)

    def tally(self, sql: str, key: tuple[Any, ...], n: int = 1) -> None:
        """Count ``key`` ``n`` times; before the commit ``sql`` runs once per key with the
        key's values followed by its count (so ten jobs ending in one minute are one upsert)."""
        counts = self.deferred.tallies.setdefault(sql, {})
        counts[key] = counts.get(key, 0) + n

    def flush(self) -> None:
        """Write what this batch deferred so far (before reading or deleting those tables)."""
        if self._batch:
            self._batch.run(self.conn)
        if self.deferred:
            self.deferred.run(self.conn)


_Item = tuple[Callable[..., Any], tuple[Any, ...], "asyncio.Future[Any]", asyncio.AbstractEventLoop]
_Settled = tuple["asyncio.Future[Any]", Any, BaseException | None]


class Writer:
    """Owns the connection and the thread; :meth:`submit` is the only way to run SQL."""

    def __init__(
        self, path: str, on_commit: Callable[[set[str]], None], max_batch: int = 256
    ) -> None:
        self.path = path
        self._on_commit = on_commit
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._reopen = False

    async def start(self) -> int:
        """Start the thread, open the database and migrate it; return the schema version."""
        started: ThreadFuture[int] = ThreadFuture()
        self._thread = threading.Thread(
            target=self._main, args=(started,), name=f"pitstop-sqlite:{self.path}", daemon=True
        )
        self._thread.start()
        return await asyncio.wrap_future(started)

    def submit(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        """Queue ``fn(tx, *args)``; the future resolves after the transaction commits."""
        if self._closed:
            raise StorageError("the SQLite store is closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put((fn, args, future, loop))
        return future

    async def stop(self) -> None:
        """Finish the queued operations, then close the connection and end the thread."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        thread = self._thread
        if thread is not None:
            await asyncio.to_thread(thread.join)

    # -- the thread ------------------------------------------------------------------------

    def _main(self, started: ThreadFuture[int]) -> None:
        try:
            conn = self._connect()
        except Exception as exc:
            self._closed = True
            started.set_exception(_storage_error(exc, f"cannot open SQLite database {self.path}"))
            return
        try:
            started.set_result(migrate(conn))
        except Exception as exc:
            self._closed = True
            conn.close()
            started.set_exception(_storage_error(exc))
            return
        final: sqlite3.Connection | None = conn
        try:
            final = self._serve(conn)
        finally:
            if final is not None:
                final.close()
            self._fail_leftovers()

    def _connect(self) -> sqlite3.Connection:
        if self.path != ":memory:":
            parent = os.path.dirname(os.path.abspath(self.path))
            os.makedirs(parent, exist_ok=True)
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        configure(conn)
        return conn

    def _serve(self, conn: sqlite3.Connection | None) -> sqlite3.Connection | None:
        """Run batches until stopped; return the connection in use then (to be closed)."""
        while True:
            item = self._queue.get()
            if item is _STOP:
                return conn
            batch: list[_Item] = [item]
            stopping = False
            while len(batch) < self._max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stopping = True
                    break
                batch.append(item)
            if self._reopen or conn is None:
                conn = self._reconnect(conn, batch)
            if conn is not None:
                try:
                    self._run_batch(conn, batch)
                except Exception as exc:  # a bug must not kill the thread and hang every caller
                    self._fail_batch(conn, batch, exc)
            if stopping:
                return conn

    def _reconnect(
        self, conn: sqlite3.Connection | None, batch: list[_Item]
    ) -> sqlite3.Connection | None:
        """A fresh connection after an outage, or None (and ``batch`` failed as unavailable)
        while the file cannot be opened yet. The old one is closed first: SQLite shares an
        open file between connections of a process, so one opened next to it would inherit
        its read-only state."""
        if conn is not None:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
        try:
            fresh = self._connect()
        except Exception as exc:
            error = _storage_error(exc, f"cannot open SQLite database {self.path}")
            self._deliver(batch, [(item[2], None, error) for item in batch])
            return None
        self._reopen = False
        return fresh

    def _run_batch(self, conn: sqlite3.Connection, batch: list[_Item]) -> None:
        """Run a batch in one transaction and commit once.

        Optimistic: operations run back to back without savepoints. An operation that
        raises before changing anything (a full queue, a duplicate id) simply fails. If one
        raises after writing, the transaction is rolled back and the batch re-run with a
        savepoint around each operation, so only the failing one is undone (operations are
        functions of the database state, so re-running them is safe).
        """
        try:
            settled, keys = self._execute(conn, batch, isolate=False)
        except _OperationFailed as failure:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            if len(batch) == 1:
                self._deliver(batch, [(batch[0][2], None, failure.error)])
                return
            try:
                settled, keys = self._execute(conn, batch, isolate=True)
            except sqlite3.Error as exc:
                self._fail_batch(conn, batch, exc)
                return
        except sqlite3.Error as exc:  # BEGIN or a savepoint statement failed
            self._fail_batch(conn, batch, exc)
            return
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._fail_batch(conn, batch, exc)
            return
        self._deliver(batch, settled, keys)

    @staticmethod
    def _execute(
        conn: sqlite3.Connection, batch: list[_Item], *, isolate: bool
    ) -> tuple[list[_Settled], set[str]]:
        """Run every operation, then the writes they deferred; return outcomes and keys.

        With ``isolate`` each operation runs in a savepoint, and what earlier operations
        deferred is written before it (a rolled-back savepoint must not take their writes
        along)."""
        settled: list[_Settled] = []
        keys: set[str] = set()
        pending = Deferred()
        conn.execute("BEGIN IMMEDIATE")
        for fn, args, future, _loop in batch:
            tx = Tx(conn, pending)
            if isolate:
                pending.run(conn)
                conn.execute("SAVEPOINT op")
            before = conn.total_changes
            try:
                result = fn(tx, *args)
                if isolate:
                    tx.deferred.run(conn)
            except Exception as exc:
                if not isolate:
                    if conn.total_changes == before:  # refused before writing: nothing to undo
                        settled.append((future, None, _storage_error(exc)))
                        continue
                    raise _OperationFailed(_storage_error(exc)) from exc
                conn.execute("ROLLBACK TO op")
                conn.execute("RELEASE op")
                settled.append((future, None, _storage_error(exc)))
                continue
            if isolate:
                conn.execute("RELEASE op")
            else:
                pending.merge(tx.deferred)
            keys |= tx.keys
            settled.append((future, result, None))
        try:
            pending.run(conn)
        except Exception as exc:
            raise _OperationFailed(_storage_error(exc)) from exc
        return settled, keys

    def _fail_batch(self, conn: sqlite3.Connection, batch: list[_Item], exc: Exception) -> None:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        error = _storage_error(exc, "SQLite transaction failed")
        self._deliver(batch, [(item[2], None, error) for item in batch])

    def _deliver(
        self, batch: list[_Item], settled: list[_Settled], keys: set[str] | None = None
    ) -> None:
        """Resolve the callers' futures in their loops and notify ``keys``.

        One ``call_soon_threadsafe`` per loop and batch: the wakeup notification rides
        along with the first loop's results (the hub fires that loop's watches directly and
        forwards to any other loop), which halves the cross-thread wakeups per batch.
        """
        by_loop: dict[asyncio.AbstractEventLoop, list[_Settled]] = {}
        for (_fn, _args, _future, loop), outcome in zip(batch, settled, strict=True):
            by_loop.setdefault(loop, []).append(outcome)
            if isinstance(outcome[2], StoreUnavailable) and self.path != ":memory:":
                self._reopen = True  # (a new in-memory database would be an empty one)
        pending = keys or None
        for loop, outcomes in by_loop.items():
            try:
                loop.call_soon_threadsafe(_settle, outcomes, self._on_commit, pending)
            except RuntimeError:  # loop closed: nobody awaits these
                continue
            pending = None
        if pending:
            self._on_commit(pending)

    def _fail_leftovers(self) -> None:
        leftovers: list[_Item] = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not _STOP:
                leftovers.append(item)
        error = StorageError("the SQLite store is closed")
        self._deliver(leftovers, [(future, None, error) for _f, _a, future, _l in leftovers])


def _settle(
    outcomes: list[_Settled],
    notify: Callable[[set[str]], None],
    keys: set[str] | None,
) -> None:
    if keys:
        notify(keys)
    for future, result, error in outcomes:
        if future.done():
            continue
        if error is None:
            future.set_result(result)
        else:
            future.set_exception(error)


def _is_outage(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in _OUTAGE_CODES
    text = str(exc).lower()
    return any(part in text for part in _OUTAGE_TEXTS)


def _storage_error(exc: Exception, what: str = "SQLite error") -> Exception:
    """Keep pitstop's own errors (QueueFull, StorageError...); wrap SQLite's: an outage
    (:data:`_OUTAGE_CODES`) as :class:`StoreUnavailable`, anything else as StorageError."""
    if isinstance(exc, sqlite3.Error):
        if _is_outage(exc):
            return StoreUnavailable(
                f"the SQLite store is unavailable ({what}: {exc})", retry_after=RETRY_AFTER_S
            )
        return StorageError(f"{what}: {exc}")
    if isinstance(exc, OSError):  # creating the folder of the database file
        return StoreUnavailable(f"{what}: {exc}", retry_after=RETRY_AFTER_S)
    return exc
