"""The SQL shared by both backends: schema, the write transaction, TAXII reads.

Backends differ only in how they connect, lock and spell a few types; the queries are
written once here with ``?`` placeholders (the PostgreSQL backend rewrites them).
Every read is a single statement, so a page, its ``more`` flag and its headers always
come from the same snapshot.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from typing import Any, Protocol

from kakehashi.stix.model import ObjectVersion
from kakehashi.stix.timestamps import format_us, now_us
from kakehashi.store.base import (
    AddResult,
    ObjectQuery,
    Page,
    Status,
    StatusDetail,
    StoredVersion,
    VersionSelector,
    WriteRequest,
)

__all__ = ["Cursor", "SqlStore"]

# How long status resources are kept; TAXII clients poll them shortly after a POST, and the
# issue asks for at least 24 hours.
DEFAULT_STATUS_RETENTION_US = 7 * 24 * 3600 * 1_000_000


class Cursor(Protocol):
    """The slice of DB-API both sqlite3 and psycopg cursors provide."""

    def execute(self, sql: str, params: Sequence[Any] = ...) -> Any: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


def _placeholders(count: int) -> str:
    return ",".join("?" * count)


class SqlStore(ABC):
    """The backend-independent half of a store. Subclasses provide connections."""

    def __init__(self, *, status_retention_us: int = DEFAULT_STATUS_RETENTION_US) -> None:
        self._status_retention_us = status_retention_us

    # -- what a backend provides ---------------------------------------------------------

    @abstractmethod
    def _read(self) -> AbstractContextManager[Cursor]:
        """A cursor for one consistent read."""

    @abstractmethod
    def _write(self, collection_id: str) -> AbstractContextManager[tuple[Cursor, int]]:
        """A cursor in a write transaction holding the collection's clock lock, and the
        collection's last ``date_added``; the transaction commits durably on exit."""

    # -- writes --------------------------------------------------------------------------

    def add_objects(self, request: WriteRequest) -> AddResult:
        successes: list[StatusDetail] = []
        failures: list[StatusDetail] = list(request.rejected)
        stored = 0
        with self._write(request.collection_id) as (cur, last_added_us):
            next_added = max(now_us(), last_added_us + 1)
            for obj in request.objects:
                outcome = self._insert_one(cur, request, obj, next_added)
                if isinstance(outcome, StatusDetail):
                    failures.append(outcome)
                    continue
                detail, inserted = outcome
                successes.append(detail)
                if inserted:
                    stored += 1
                    next_added += 1
            if stored:
                cur.execute(
                    "UPDATE collection_clock SET last_added_us = ? WHERE collection_id = ?",
                    (next_added - 1, request.collection_id),
                )
            status = Status(
                id=request.status_id,
                owner=request.author,
                request_us=request.request_us,
                successes=tuple(successes),
                failures=tuple(failures),
            )
            cur.execute(
                "DELETE FROM statuses WHERE created_us < ?",
                (request.request_us - self._status_retention_us,),
            )
            cur.execute(
                "INSERT INTO statuses (id, owner, created_us, body) VALUES (?, ?, ?, ?)",
                (status.id, status.owner, request.request_us, status.dumps()),
            )
        return AddResult(status=status, stored=stored)

    def _insert_one(
        self, cur: Cursor, request: WriteRequest, obj: ObjectVersion, date_added_us: int
    ) -> tuple[StatusDetail, bool] | StatusDetail:
        """Insert one version; return (success, inserted?) or a failure."""
        if obj.version_us:
            cur.execute(
                "SELECT raw FROM objects WHERE collection_id = ? AND id = ? AND version_us = ?",
                (request.collection_id, obj.id, obj.version_us),
            )
            version_us, version = obj.version_us, obj.version
        else:
            # Unversioned objects (most SCOs): a new text is a new version, dated when added.
            cur.execute(
                "SELECT raw FROM objects WHERE collection_id = ? AND id = ?"
                " ORDER BY date_added_us DESC LIMIT 1",
                (request.collection_id, obj.id),
            )
            version_us, version = date_added_us, format_us(date_added_us)
        row = cur.fetchone()
        if row is not None:
            existing: str = row[0]
            if existing == obj.raw or json.loads(existing) == json.loads(obj.raw):
                shown = obj.version or "unversioned"
                return StatusDetail(obj.id, shown, "identical version already stored"), False
            if obj.version_us:
                return StatusDetail(
                    obj.id,
                    obj.version,
                    "a different object with this id and version is already stored;"
                    " a change must carry a new 'modified' timestamp",
                )
        cur.execute(
            "INSERT INTO objects (collection_id, date_added_us, id, type, spec_version,"
            " version, version_us, created_by_ref, author, raw)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                request.collection_id,
                date_added_us,
                obj.id,
                obj.type,
                obj.spec_version,
                version,
                version_us,
                obj.created_by_ref,
                request.author,
                obj.raw,
            ),
        )
        return StatusDetail(obj.id, version), True

    def delete_object(self, collection_id: str, object_id: str, query: ObjectQuery) -> int:
        where, params = self._where(collection_id, query, object_id=object_id)
        with self._write(collection_id) as (cur, _):
            cur.execute(
                f"SELECT date_added_us FROM objects o WHERE {where}",
                params,
            )
            doomed = [row[0] for row in cur.fetchall()]
            for start in range(0, len(doomed), 500):
                chunk = doomed[start : start + 500]
                cur.execute(
                    "DELETE FROM objects WHERE collection_id = ? AND date_added_us IN"
                    f" ({_placeholders(len(chunk))})",
                    (collection_id, *chunk),
                )
        return len(doomed)

    # -- reads ---------------------------------------------------------------------------

    def _where(
        self, collection_id: str, query: ObjectQuery, *, object_id: str | None = None
    ) -> tuple[str, list[Any]]:
        clauses = ["o.collection_id = ?"]
        params: list[Any] = [collection_id]
        ids = (object_id,) if object_id is not None else query.ids
        if ids:
            clauses.append(f"o.id IN ({_placeholders(len(ids))})")
            params.extend(ids)
        if query.types:
            clauses.append(f"o.type IN ({_placeholders(len(query.types))})")
            params.extend(query.types)
        if query.spec_versions:
            clauses.append(f"o.spec_version IN ({_placeholders(len(query.spec_versions))})")
            params.extend(query.spec_versions)
        if query.after_us is not None:
            clauses.append("o.date_added_us > ?")
            params.append(query.after_us)
        selector = query.versions
        if not selector.all:
            alternatives: list[str] = []
            for wanted, aggregate in ((selector.last, "MAX"), (selector.first, "MIN")):
                if wanted:
                    alternatives.append(
                        f"o.version_us = (SELECT {aggregate}(v.version_us) FROM objects v"
                        " WHERE v.collection_id = o.collection_id AND v.id = o.id)"
                    )
            if selector.timestamps:
                alternatives.append(f"o.version_us IN ({_placeholders(len(selector.timestamps))})")
                params.extend(selector.timestamps)
            clauses.append("(" + " OR ".join(alternatives or ["1 = 0"]) + ")")
        return " AND ".join(clauses), params

    def _page(
        self,
        collection_id: str,
        query: ObjectQuery,
        *,
        object_id: str | None = None,
        with_raw: bool = True,
    ) -> Page:
        where, params = self._where(collection_id, query, object_id=object_id)
        raw = "o.raw" if with_raw else "''"
        sql = (
            f"SELECT o.id, o.type, o.spec_version, o.version, o.date_added_us, {raw}"
            f" FROM objects o WHERE {where} ORDER BY o.date_added_us LIMIT ?"
        )
        with self._read() as cur:
            cur.execute(sql, (*params, query.limit + 1))
            rows = cur.fetchall()
        more = len(rows) > query.limit
        return Page(items=[StoredVersion(*row) for row in rows[: query.limit]], more=more)

    def get_objects(self, collection_id: str, query: ObjectQuery) -> Page:
        return self._page(collection_id, query)

    def get_object(self, collection_id: str, object_id: str, query: ObjectQuery) -> Page:
        return self._page(collection_id, query, object_id=object_id)

    def manifest(self, collection_id: str, query: ObjectQuery) -> Page:
        return self._page(collection_id, query, with_raw=False)

    def versions(self, collection_id: str, object_id: str, query: ObjectQuery) -> Page:
        every = replace(query, versions=VersionSelector.every(), ids=(), types=())
        return self._page(collection_id, every, object_id=object_id, with_raw=False)

    def object_exists(self, collection_id: str, object_id: str) -> bool:
        with self._read() as cur:
            cur.execute(
                "SELECT 1 FROM objects WHERE collection_id = ? AND id = ? LIMIT 1",
                (collection_id, object_id),
            )
            return cur.fetchone() is not None

    def count_objects(self, collection_id: str) -> int:
        with self._read() as cur:
            cur.execute("SELECT COUNT(*) FROM objects WHERE collection_id = ?", (collection_id,))
            row = cur.fetchone()
        return int(row[0])

    def get_status(self, status_id: str) -> Status | None:
        with self._read() as cur:
            cur.execute("SELECT body FROM statuses WHERE id = ?", (status_id,))
            row = cur.fetchone()
        return None if row is None else Status.loads(status_id, row[0])

    def iter_objects(self, collection_id: str, batch: int = 1000) -> Iterator[StoredVersion]:
        """Every stored version of a collection in ``date_added`` order (for export)."""
        after: int | None = None
        while True:
            page = self.get_objects(
                collection_id,
                ObjectQuery(limit=batch, versions=VersionSelector.every(), after_us=after),
            )
            yield from page.items
            if not page.more:
                return
            after = page.last_added_us
