"""PostgreSQL backend (psycopg 3): a connection pool, row locks for the collection clock.

Writers to one collection serialise on that collection's ``collection_clock`` row
(``SELECT … FOR UPDATE``), held until commit: a ``date_added`` handed out later is never
visible before an earlier one, so ``added_after`` paging never skips, even with several
hub processes on one database.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from kakehashi.errors import StoreError, StoreUnavailable
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

__all__ = ["PostgresStore"]

_PLACEHOLDER = re.compile(r"\?")
# A fixed key for the migration advisory lock, so two processes never migrate at once.
_MIGRATION_LOCK_KEY = 0x6B616B65


class _QmarkCursor:
    """Adapts our ``?`` placeholders to psycopg's ``%s``."""

    def __init__(self, cursor: psycopg.Cursor[Any]) -> None:
        self._cursor = cursor

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._cursor.execute(_PLACEHOLDER.sub("%s", sql), params)

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    def insert_returning(self, sql: str, rows: Sequence[Sequence[Any]]) -> list[bool]:
        """Run an ``INSERT … RETURNING`` per row in one pipelined round trip; for each
        row, whether it returned something (was inserted)."""
        if not rows:
            return []
        self._cursor.executemany(_PLACEHOLDER.sub("%s", sql), rows, returning=True)
        flags: list[bool] = []
        while True:
            flags.append(self._cursor.fetchone() is not None)
            if not self._cursor.nextset():
                return flags

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self._cursor.executemany(_PLACEHOLDER.sub("%s", sql), rows)


@contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except (psycopg.OperationalError, PoolTimeout) as exc:
        raise StoreUnavailable(f"PostgreSQL: {type(exc).__name__}") from exc
    except psycopg.Error as exc:
        raise StoreError(f"PostgreSQL: {type(exc).__name__}: {exc.diag.message_primary}") from exc


def _configure_session(conn: psycopg.Connection[Any]) -> None:
    """Session settings of every pooled connection.

    ``jit = off``: a page query is a walk of the primary key under a LIMIT, estimated at
    the cost of the whole collection, so above ``jit_above_cost`` PostgreSQL compiled it
    with LLVM first: 360 ms of JIT for a query that ran in 1 ms (the first page at 100,000
    objects, measured with EXPLAIN ANALYZE). Nothing this store sends runs long enough for
    JIT to pay back.
    """
    conn.execute("SET jit = off")
    conn.commit()


class PostgresStore(SqlStore):
    """A store in a PostgreSQL database.

    Args:
        dsn: a libpq connection string or URL; never logged (it may hold a password).
        pool_size: the most connections this process opens.
    """

    # The audit head row is locked so concurrent appends take turns.
    _lock_suffix = " FOR UPDATE"

    def __init__(
        self,
        dsn: str,
        *,
        pool_size: int = 10,
        status_retention_us: int = DEFAULT_STATUS_RETENTION_US,
    ) -> None:
        super().__init__(status_retention_us=status_retention_us)
        self._dsn = dsn
        self._pool_size = pool_size
        self._pool: ConnectionPool[psycopg.Connection[Any]] | None = None

    def open(self) -> None:
        with _translated():
            pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
                self._dsn,
                min_size=1,
                max_size=self._pool_size,
                open=False,
                timeout=30.0,
                configure=_configure_session,
            )
            pool.open(wait=True, timeout=30.0)
            self._pool = pool
            self._migrate()

    def _migrate(self) -> None:
        with self._connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK_KEY,))
            apply_migrations(conn.execute, bigint="BIGINT", placeholder="%s")

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        if self._pool is None:
            raise StoreUnavailable("the PostgreSQL store is not open")
        with self._pool.connection() as conn:
            yield conn

    @contextmanager
    def _read(self) -> Iterator[Cursor]:
        with _translated(), self._connection() as conn, conn.cursor() as cur:
            yield _QmarkCursor(cur)

    @contextmanager
    def _transaction(self) -> Iterator[_QmarkCursor]:
        """A cursor in one transaction on a pooled connection: committed on exit, rolled
        back on an exception."""
        with (
            _translated(),
            self._connection() as conn,
            conn.transaction(),
            conn.cursor() as raw_cursor,
        ):
            yield _QmarkCursor(raw_cursor)

    @contextmanager
    def _write(self, collection_id: str) -> Iterator[tuple[Cursor, int]]:
        with self._transaction() as cur:
            cur.execute(
                "INSERT INTO collection_clock (collection_id, last_added_us) VALUES (?, 0)"
                " ON CONFLICT (collection_id) DO NOTHING",
                (collection_id,),
            )
            cur.execute(
                "SELECT last_added_us FROM collection_clock WHERE collection_id = ? FOR UPDATE",
                (collection_id,),
            )
            yield cur, int(cur.fetchone()[0])

    def _insert_rows(self, cur: Cursor, collection_id: str, rows: list[WriteRow]) -> list[bool]:
        # One pipelined batch instead of a round trip per object (ten times faster here).
        assert isinstance(cur, _QmarkCursor)
        flags = cur.insert_returning(
            INSERT_OBJECT + " RETURNING date_added_us",
            [row_params(collection_id, row) for row in rows],
        )
        cur.executemany(
            INSERT_RECIPIENT,
            [
                (collection_id, row.date_added_us, identity)
                for row, new in zip(rows, flags, strict=True)
                if new
                for identity in row.obj.recipients
            ],
        )
        return flags

    @contextmanager
    def _audit_write(self) -> Iterator[Cursor]:
        with self._transaction() as cur:
            # A release record need not wait for the disk; see SqlStore._audit_write.
            cur.execute("SET LOCAL synchronous_commit TO OFF")
            yield cur
