"""SQLite backend: WAL, one writer at a time, a reader connection per thread.

Writes take ``BEGIN IMMEDIATE`` (the pattern of datasette's ``_execute_writes``), so the
collection clock is read and advanced under SQLite's single write lock, also across
several hub processes sharing one file. ``synchronous=FULL`` makes a commit durable
before the hub acknowledges it.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kakehashi.errors import StoreError, StoreUnavailable
from kakehashi.store.schema import apply_migrations
from kakehashi.store.sql import DEFAULT_STATUS_RETENTION_US, Cursor, SqlStore

__all__ = ["SqliteStore"]

_BUSY_TIMEOUT_S = 30.0


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
    """

    def __init__(
        self, path: Path, *, status_retention_us: int = DEFAULT_STATUS_RETENTION_US
    ) -> None:
        super().__init__(status_retention_us=status_retention_us)
        self.path = path
        self._write_lock = threading.Lock()
        self._writer: sqlite3.Connection | None = None
        self._local = threading.local()
        self._all_readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, timeout=_BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
        conn.execute("PRAGMA synchronous = FULL")
        return conn

    def open(self) -> None:
        with _translated():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            writer = self._connect()
            mode = writer.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode != "wal":
                raise StoreUnavailable(f"SQLite: cannot use WAL on {self.path} (got {mode})")
            self._writer = writer
            self._migrate(writer)
            # Keep the planner's statistics current (cheap; analyses only what needs it).
            writer.execute("PRAGMA optimize")

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

    @contextmanager
    def _write(self, collection_id: str) -> Iterator[tuple[Cursor, int]]:
        writer = self._writer
        if writer is None:
            raise StoreUnavailable("the SQLite store is not open")
        with self._write_lock, _translated():
            writer.execute("BEGIN IMMEDIATE")
            try:
                cur = writer.cursor()
                cur.execute(
                    "INSERT INTO collection_clock (collection_id, last_added_us) VALUES (?, 0)"
                    " ON CONFLICT (collection_id) DO NOTHING",
                    (collection_id,),
                )
                cur.execute(
                    "SELECT last_added_us FROM collection_clock WHERE collection_id = ?",
                    (collection_id,),
                )
                last = int(cur.fetchone()[0])
                yield cur, last
            except BaseException:
                writer.execute("ROLLBACK")
                raise
            writer.execute("COMMIT")

    @contextmanager
    def _audit_write(self) -> Iterator[Cursor]:
        writer = self._writer
        if writer is None:
            raise StoreUnavailable("the SQLite store is not open")
        with self._write_lock, _translated():
            # WAL with synchronous=NORMAL: the commit survives a crash of the hub without
            # an fsync per read; the next FULL commit makes it survive a power cut too.
            writer.execute("PRAGMA synchronous = NORMAL")
            try:
                writer.execute("BEGIN IMMEDIATE")
                try:
                    yield writer.cursor()
                except BaseException:
                    writer.execute("ROLLBACK")
                    raise
                writer.execute("COMMIT")
            finally:
                writer.execute("PRAGMA synchronous = FULL")
