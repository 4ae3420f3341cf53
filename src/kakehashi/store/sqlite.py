"""SQLite backend: WAL, one writer at a time, a reader connection per thread.

Writes take ``BEGIN IMMEDIATE`` (the pattern of datasette's ``_execute_writes``), so the
collection clock is read and advanced under SQLite's single write lock, also across
several hub processes sharing one file. ``synchronous=FULL`` makes a commit durable
before the hub acknowledges it.

Envelopes are written with *group commit*: a thread that wants to store an envelope
queues it and waits for the write lock; whoever gets the lock first takes every envelope
queued by then and writes them in one transaction, each inside its own SAVEPOINT (with its
own status resource and audit record), commits once (one fsync for all), then hands each
waiting thread its result. A lone writer pays exactly what it paid before; concurrent
writers share the fsync. Nobody is answered before the commit that holds their envelope,
and an envelope that fails is rolled back to its savepoint without touching the others.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kakehashi.errors import StoreError, StoreUnavailable
from kakehashi.store.base import AddResult, WriteRequest
from kakehashi.store.schema import apply_migrations
from kakehashi.store.sql import (
    DEFAULT_STATUS_RETENTION_US,
    INSERT_OBJECT,
    INSERT_RECIPIENT,
    Cursor,
    SqlStore,
    WriteRow,
    row_params,
)
from kakehashi.store.sql_base import placeholders

__all__ = ["SYNCHRONOUS_MODES", "SqliteStore"]

_BUSY_TIMEOUT_S = 30.0
# What ``synchronous`` may be. FULL (the default) fsyncs the WAL at every commit: an
# acknowledged write survives a power cut. NORMAL fsyncs only at checkpoints: an
# acknowledged write survives a crash of the hub (SIGKILL), not a power cut.
SYNCHRONOUS_MODES = ("FULL", "EXTRA", "NORMAL")
# A group commit takes at most this many objects; the rest wait for the next one.
_BATCH_OBJECTS = 20_000
# How many date_added values one lookup of refused rows names.
_LOOKUP_CHUNK = 500


class _Pending:
    """One envelope waiting for the group commit that will hold it."""

    __slots__ = ("done", "error", "request", "result")

    def __init__(self, request: WriteRequest) -> None:
        self.request = request
        self.result: AddResult | None = None
        self.error: BaseException | None = None
        self.done = False

    def outcome(self) -> AddResult:
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result


def _translate(exc: BaseException) -> BaseException:
    """The store error a sqlite3 error stands for (anything else as it is)."""
    if isinstance(exc, sqlite3.OperationalError):
        translated: BaseException = StoreUnavailable(f"SQLite: {exc}")
    elif isinstance(exc, sqlite3.Error):
        translated = StoreError(f"SQLite: {exc}")
    else:
        return exc
    translated.__cause__ = exc
    return translated


@contextmanager
def _translated() -> Iterator[None]:
    """Turn sqlite3 errors into store errors at the seam."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        raise StoreUnavailable(f"SQLite: {exc}") from exc
    except sqlite3.Error as exc:
        raise StoreError(f"SQLite: {exc}") from exc


class SqliteStore(SqlStore):
    """A store in one SQLite file.

    Args:
        path: the database file; created with its parent folder if missing.
        status_retention_us: how long status resources are kept.

    :attr:`synchronous` (set before :meth:`open`) is SQLite's ``synchronous`` for object
    writes, one of :data:`SYNCHRONOUS_MODES`.
    """

    def __init__(
        self, path: Path, *, status_retention_us: int = DEFAULT_STATUS_RETENTION_US
    ) -> None:
        super().__init__(status_retention_us=status_retention_us)
        self.path = path
        self._synchronous = "FULL"
        self._write_lock = threading.Lock()
        self._writer: sqlite3.Connection | None = None
        self._local = threading.local()
        self._all_readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        # Envelopes waiting for a group commit (see the module docstring).
        self._queue: list[_Pending] = []
        self._queue_lock = threading.Lock()

    @property
    def synchronous(self) -> str:
        """``"FULL"`` (the default): an acknowledged write survives a power cut.
        ``"NORMAL"``, an explicit opt-in: it survives a crash of the hub (SIGKILL) but a
        power cut may lose the last acknowledged writes. Set before :meth:`open`."""
        return self._synchronous

    @synchronous.setter
    def synchronous(self, mode: str) -> None:
        wanted = mode.upper()
        if wanted not in SYNCHRONOUS_MODES:
            raise ValueError(
                f"synchronous must be one of {', '.join(SYNCHRONOUS_MODES)}, not {mode!r}"
            )
        if self._writer is not None:
            raise StoreError("set synchronous before the SQLite store is opened")
        self._synchronous = wanted

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, timeout=_BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
        conn.execute(f"PRAGMA synchronous = {self.synchronous}")
        return conn

    def open(self) -> None:
        with _translated():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            writer = self._connect()
            self._use_wal(writer)
            self._writer = writer
            self._migrate(writer)
            # Keep the planner's statistics current (cheap; analyses only what needs it).
            writer.execute("PRAGMA optimize")

    def _use_wal(self, writer: sqlite3.Connection) -> None:
        """Switch the database to WAL. SQLite answers "database is locked" at once, without
        waiting on the busy timeout, when another process is switching a new database at
        the same moment (two hubs started together): that is retried, for as long as the
        busy timeout, rather than failing the start."""
        deadline = time.monotonic() + _BUSY_TIMEOUT_S
        pause = 0.005
        while True:
            try:
                mode = writer.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            except sqlite3.OperationalError as error:
                busy = error.sqlite_errorcode in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
                if not busy or time.monotonic() > deadline:
                    raise
            else:
                if mode == "wal":
                    return
                raise StoreUnavailable(f"SQLite: cannot use WAL on {self.path} (got {mode})")
            time.sleep(pause)
            pause = min(pause * 2, 0.1)

    def _migrate(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            apply_migrations(conn.execute, bigint="INTEGER", placeholder="?")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        with self._readers_lock:
            for conn in self._all_readers:
                conn.close()
            self._all_readers.clear()
        self._local = threading.local()
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    @contextmanager
    def _read(self) -> Iterator[Cursor]:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            with _translated():
                conn = self._connect()
                conn.execute("PRAGMA query_only = ON")
            self._local.conn = conn
            with self._readers_lock:
                self._all_readers.append(conn)
        with _translated():
            # One statement per read: SQLite gives it a consistent snapshot by itself.
            yield conn.cursor()

    @staticmethod
    def _clock(cur: Cursor, collection_id: str) -> int:
        """The collection's last date_added (its clock row is created if missing)."""
        cur.execute(
            "INSERT INTO collection_clock (collection_id, last_added_us) VALUES (?, 0)"
            " ON CONFLICT (collection_id) DO NOTHING",
            (collection_id,),
        )
        cur.execute(
            "SELECT last_added_us FROM collection_clock WHERE collection_id = ?",
            (collection_id,),
        )
        return int(cur.fetchone()[0])

    @contextmanager
    def _transaction(self, *, synchronous: str = "") -> Iterator[sqlite3.Cursor]:
        """A cursor in one write transaction on the writer connection, under the write
        lock: committed on exit, rolled back on an exception. ``synchronous`` (e.g.
        ``NORMAL``) applies to this commit only."""
        writer = self._writer
        if writer is None:
            raise StoreUnavailable("the SQLite store is not open")
        with self._write_lock, _translated():
            if synchronous:
                writer.execute(f"PRAGMA synchronous = {synchronous}")
            try:
                writer.execute("BEGIN IMMEDIATE")
                try:
                    yield writer.cursor()
                except BaseException:
                    writer.execute("ROLLBACK")
                    raise
                writer.execute("COMMIT")
            finally:
                if synchronous:
                    writer.execute(f"PRAGMA synchronous = {self.synchronous}")

    @contextmanager
    def _write(self, collection_id: str) -> Iterator[tuple[Cursor, int]]:
        with self._transaction() as cur:
            yield cur, self._clock(cur, collection_id)

    # -- group commit --------------------------------------------------------------------

    def add_objects(self, request: WriteRequest) -> AddResult:
        if self._writer is None:
            raise StoreUnavailable("the SQLite store is not open")
        pending = _Pending(request)
        with self._queue_lock:
            self._queue.append(pending)
        while True:
            with self._write_lock:
                if not pending.done:
                    # The lock is ours and our envelope is still queued: we commit it,
                    # with everything queued beside it.
                    with self._queue_lock:
                        batch, self._queue = self._take_batch(self._queue)
                    self._commit_batch(batch)
            if pending.done:
                return pending.outcome()

    @staticmethod
    def _take_batch(queue: list[_Pending]) -> tuple[list[_Pending], list[_Pending]]:
        """The envelopes of the next group commit (at most about _BATCH_OBJECTS objects,
        at least one envelope), and those left for the one after."""
        objects = 0
        for index, pending in enumerate(queue):
            objects += len(pending.request.objects) + len(pending.request.definitions)
            if index and objects > _BATCH_OBJECTS:
                return queue[:index], queue[index:]
        return queue, []

    def _commit_batch(self, batch: list[_Pending]) -> None:
        """Write ``batch`` in one transaction, an envelope per savepoint, commit once, then
        settle every envelope: its result, or the error that kept it out. Holds the write
        lock."""
        writer = self._writer
        results: list[tuple[_Pending, AddResult]] = []
        try:
            if writer is None:
                raise StoreUnavailable("the SQLite store is not open")
            try:
                writer.execute("BEGIN IMMEDIATE")
            except BaseException as exc:
                raise _translate(exc) from None
            try:
                cur = writer.cursor()
                clocks: dict[str, int] = {}
                for pending in batch:
                    request = pending.request
                    writer.execute("SAVEPOINT envelope")
                    try:
                        last = clocks.get(request.collection_id)
                        if last is None:
                            last = self._clock(cur, request.collection_id)
                        result, clocks[request.collection_id] = self._add(
                            cur, request, last, prune=False
                        )
                    except Exception as exc:
                        # This envelope only: back to its savepoint, the others go on. (If
                        # SQLite has already rolled back the whole transaction, this
                        # fails and the batch fails below.)
                        writer.execute("ROLLBACK TO envelope")
                        writer.execute("RELEASE envelope")
                        pending.error = _translate(exc)
                        continue
                    writer.execute("RELEASE envelope")
                    results.append((pending, result))
                if results:
                    self._prune_statuses(cur, max(r.request.request_us for r, _ in results))
                writer.execute("COMMIT")
            except BaseException:
                if writer.in_transaction:
                    writer.execute("ROLLBACK")
                raise
        except BaseException as exc:
            # Nothing of this batch was committed: nobody in it may be acknowledged.
            error = _translate(exc)
            for pending in batch:
                pending.result = None
                pending.error = pending.error or error
                pending.done = True
            if not isinstance(exc, Exception):
                raise
            return
        for pending, result in results:
            pending.result = result
        for pending in batch:
            pending.done = True

    def _insert_rows(self, cur: Cursor, collection_id: str, rows: list[WriteRow]) -> list[bool]:
        # One executemany instead of a statement per object. Its row count says whether
        # every row went in (the usual case); if not, the refused rows are those whose
        # date_added (fresh, handed out under this lock) is not in the table.
        if not rows:
            return []
        assert isinstance(cur, sqlite3.Cursor)
        cur.executemany(INSERT_OBJECT, [row_params(collection_id, row) for row in rows])
        if cur.rowcount == len(rows):
            flags = [True] * len(rows)
        else:
            present: set[int] = set()
            dates = [row.date_added_us for row in rows]
            for start in range(0, len(dates), _LOOKUP_CHUNK):
                chunk = dates[start : start + _LOOKUP_CHUNK]
                cur.execute(
                    "SELECT date_added_us FROM objects WHERE collection_id = ?"
                    f" AND date_added_us IN ({placeholders(len(chunk))})",
                    (collection_id, *chunk),
                )
                present.update(int(found[0]) for found in cur.fetchall())
            flags = [row.date_added_us in present for row in rows]
        recipients = [
            (collection_id, row.date_added_us, identity)
            for row, new in zip(rows, flags, strict=True)
            if new
            for identity in row.obj.recipients
        ]
        if recipients:
            cur.executemany(INSERT_RECIPIENT, recipients)
        return flags

    @contextmanager
    def _audit_write(self) -> Iterator[Cursor]:
        # WAL with synchronous=NORMAL: the commit survives a crash of the hub without an
        # fsync per read; the next FULL commit makes it survive a power cut too.
        with self._transaction(synchronous="NORMAL") as cur:
            yield cur
