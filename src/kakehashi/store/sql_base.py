"""The connection seam both SQL backends implement, and what the SQL mixins share."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

__all__ = ["Cursor", "SqlBackend", "placeholders"]


class Cursor(Protocol):
    """The slice of DB-API both sqlite3 and psycopg cursors provide."""

    def execute(self, sql: str, params: Sequence[Any] = ...) -> Any: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    @property
    def rowcount(self) -> int: ...


def placeholders(count: int) -> str:
    """``?,?,?`` for ``count`` parameters."""
    return ",".join("?" * count)


class SqlBackend(ABC):
    """Connections, as a backend provides them."""

    # PostgreSQL appends " FOR UPDATE" so that concurrent audit appends take turns.
    _lock_suffix = ""

    # -- what a backend provides ---------------------------------------------------------

    @abstractmethod
    def _read(self) -> AbstractContextManager[Cursor]:
        """A cursor for one consistent read."""

    @abstractmethod
    def _write(self, collection_id: str) -> AbstractContextManager[tuple[Cursor, int]]:
        """A cursor in a write transaction holding the collection's clock lock, and the
        collection's last ``date_added``; the transaction commits durably on exit."""

    @abstractmethod
    def _audit_write(self) -> AbstractContextManager[Cursor]:
        """A cursor in a short transaction for appending release records. It commits
        without waiting for the disk: a record survives a crash of the hub; the next
        durable write makes it survive a power cut too."""
