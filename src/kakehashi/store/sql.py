"""The SQL shared by both backends: the write transaction and the TAXII reads.

Backends differ only in how they connect, lock and spell a few types; the queries are
written once here with ``?`` placeholders (the PostgreSQL backend rewrites them).
Every read is a single statement with the viewer's :class:`Visibility` inside its WHERE
clause, so a page, its ``more`` flag, its headers and a 404 all come from the same
filtered snapshot.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from kakehashi.audit import AuditAction, AuditEntry
from kakehashi.stix.markings import Tlp, is_hub_definition
from kakehashi.stix.model import ObjectVersion
from kakehashi.stix.timestamps import format_us, now_us
from kakehashi.stix.visibility import Visibility
from kakehashi.store.base import (
    AddResult,
    ObjectQuery,
    Page,
    Provenance,
    Status,
    StatusDetail,
    StoredVersion,
    VersionSelector,
    WriteRequest,
)
from kakehashi.store.sql_base import Cursor, placeholders
from kakehashi.store.sql_ledger import LedgerSql

__all__ = [
    "DEFAULT_STATUS_RETENTION_US",
    "INSERT_OBJECT",
    "INSERT_RECIPIENT",
    "Cursor",
    "SqlStore",
    "WriteRow",
    "row_params",
    "visibility_sql",
]


# How long status resources are kept; TAXII clients poll them shortly after a POST, and the
# issue asks for at least 24 hours.
DEFAULT_STATUS_RETENTION_US = 7 * 24 * 3600 * 1_000_000
# Who "wrote" the marking and extension definitions the hub adds to a collection.
HUB_AUTHOR = ""


def visibility_sql(alias: str, visibility: Visibility) -> tuple[str, list[Any]]:
    """The predicate that keeps only the rows of ``alias`` the viewer may see.

    Local objects follow the agreement and their TLP; objects received from a peer follow
    the re-share rules from the receiving organisation's point of view (AMBER: receiver and
    its constituents; AMBER+STRICT: the receiver only). An object that names recipients
    (always so at RED) is seen by those recipients, within their ceiling, and nobody else.
    """
    if visibility.everything:
        return "1 = 1", []
    level = f"COALESCE({alias}.tlp, {int(visibility.default_tlp)})"
    local = f"{alias}.origin = ''"
    params: list[Any] = []
    lineage = visibility.lineage or (visibility.organization,)
    in_lineage = f"{alias}.received_by IN ({placeholders(len(lineage))})"
    recipients_of_row = (
        f"SELECT 1 FROM object_recipients r WHERE r.collection_id = {alias}.collection_id"
        f" AND r.date_added_us = {alias}.date_added_us"
    )
    # Without named recipients: the agreement and the TLP decide (RED needs recipients).
    by_tlp = [f"({level} <= {min(int(visibility.open_level), int(Tlp.GREEN))})"]
    if visibility.open_level >= Tlp.AMBER:
        by_tlp.append(f"({level} = {int(Tlp.AMBER)} AND ({local} OR {in_lineage}))")
        params.extend(lineage)
    if visibility.strict:
        by_tlp.append(
            f"({level} = {int(Tlp.AMBER_STRICT)} AND ({local} OR {alias}.received_by = ?))"
        )
        params.append(visibility.organization)
    alternatives = [
        f"{alias}.author = ?",
        f"(NOT EXISTS ({recipients_of_row}) AND ({' OR '.join(by_tlp)}))",
        # Named recipients narrow the audience at every level: only they (within their
        # ceiling) see the object.
        f"({level} <= {int(visibility.recipient_level)}"
        f" AND EXISTS ({recipients_of_row} AND r.identity = ?))",
    ]
    params = [visibility.organization, *params, visibility.identity]
    predicate = "(" + " OR ".join(alternatives) + ")"
    if visibility.onward_peer:
        # Pushing to a peer: nothing goes back where it came from or to its author, and
        # what this hub received itself goes onward only at GREEN or below.
        predicate += (
            f" AND {alias}.author <> ? AND {alias}.origin <> ?"
            f" AND ({local} OR {level} <= {int(Tlp.GREEN)})"
        )
        params.extend([visibility.onward_author, visibility.onward_peer])
    return predicate, params


@dataclass(frozen=True, slots=True, eq=False)
class WriteRow:
    """One version about to be written: by whom, when, from where."""

    author: str
    obj: ObjectVersion
    provenance: Provenance | None
    date_added_us: int
    definition: bool = False


INSERT_OBJECT = (
    "INSERT INTO objects (collection_id, date_added_us, id, type, spec_version,"
    " version, version_us, created_by_ref, author, tlp, raw, origin,"
    " origin_collection, received_by)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT DO NOTHING"
)
INSERT_RECIPIENT = (
    "INSERT INTO object_recipients (collection_id, date_added_us, identity) VALUES (?, ?, ?)"
)


def row_params(collection_id: str, row: WriteRow, version: str | None = None) -> tuple[Any, ...]:
    """The parameters of INSERT_OBJECT; ``version`` is given for unversioned objects,
    whose version is their date_added."""
    obj, provenance = row.obj, row.provenance
    return (
        collection_id,
        row.date_added_us,
        obj.id,
        obj.type,
        obj.spec_version,
        obj.version if version is None else version,
        obj.version_us if version is None else row.date_added_us,
        obj.created_by_ref,
        row.author,
        None if obj.tlp is None else int(obj.tlp),
        obj.raw,
        provenance.peer if provenance else "",
        provenance.remote_collection if provenance else "",
        provenance.received_by if provenance else "",
    )


def _dates_after(first: int, count: int) -> list[int]:
    """``count`` strictly increasing date_added values from ``first``, in random steps of
    1 to 32 µs: with a fixed step, the gap between two versions a reader sees would count
    the versions between them that it may not see."""
    dates: list[int] = []
    current = first
    for noise in os.urandom(count):
        dates.append(current)
        current += (noise & 31) + 1
    return dates


class SqlStore(LedgerSql):
    """The backend-independent half of a store. Subclasses provide connections."""

    def __init__(self, *, status_retention_us: int = DEFAULT_STATUS_RETENTION_US) -> None:
        self._status_retention_us = status_retention_us

    # -- writes --------------------------------------------------------------------------

    def add_objects(self, request: WriteRequest) -> AddResult:
        with self._write(request.collection_id) as (cur, last_added_us):
            result, _ = self._add(cur, request, last_added_us)
        return result

    def _prune_statuses(self, cur: Cursor, request_us: int) -> None:
        """Drop the status resources older than the retention period."""
        cur.execute(
            "DELETE FROM statuses WHERE created_us < ?",
            (request_us - self._status_retention_us,),
        )

    def _add(
        self, cur: Cursor, request: WriteRequest, last_added_us: int, *, prune: bool = True
    ) -> tuple[AddResult, int]:
        """Write one envelope inside the caller's transaction, which holds the collection's
        write lock and knows its ``last_added_us``: the rows, the clock, the status
        resource, the sync cursor and the audit record. Returns the result and the
        collection's new ``last_added_us``. ``prune`` also drops expired statuses (a
        batch of envelopes does that once)."""
        successes: list[StatusDetail] = []
        failures: list[StatusDetail] = list(request.rejected)
        stored = 0
        # Every candidate gets its date_added up front (duplicates leave gaps, which
        # paging never minds); the definitions the objects rely on come first.
        dates = _dates_after(
            max(now_us(), last_added_us + 1),
            len(request.definitions) + len(request.objects),
        )
        authors = request.authors or [request.author] * len(request.objects)
        rows: list[WriteRow] = [
            WriteRow(HUB_AUTHOR, definition, None, dates[i], definition=True)
            for i, definition in enumerate(request.definitions)
        ]
        for obj, obj_author in zip(request.objects, authors, strict=True):
            # The OASIS TLP definitions and the recipients extension definition belong to
            # the hub: whoever posts them, one copy is kept, and nobody may change it.
            author = HUB_AUTHOR if is_hub_definition(obj.id) else obj_author
            rows.append(WriteRow(author, obj, request.provenance, dates[len(rows)]))
        # Most versions are new: insert them all first (one round trip or one batched
        # statement where the backend can), then look closer only at what the unique
        # index refused.
        versioned = [row for row in rows if row.obj.version_us]
        inserted = self._insert_rows(cur, request.collection_id, versioned)
        refused = {id(row) for row, new in zip(versioned, inserted, strict=True) if not new}
        for row in rows:
            if row.obj.version_us and id(row) not in refused:
                outcome: tuple[StatusDetail, bool] | StatusDetail = (
                    StatusDetail(row.obj.id, row.obj.version),
                    True,
                )
            else:
                outcome = self._settle(cur, request.collection_id, row)
            if row.definition:
                continue
            if isinstance(outcome, StatusDetail):
                failures.append(outcome)
                continue
            detail, was_stored = outcome
            successes.append(detail)
            stored += was_stored
        if rows:
            last_added_us = dates[-1]
            cur.execute(
                "UPDATE collection_clock SET last_added_us = ? WHERE collection_id = ?",
                (last_added_us, request.collection_id),
            )
        status = Status(
            id=request.status_id,
            owner=request.author,
            request_us=request.request_us,
            successes=tuple(successes),
            failures=tuple(failures),
        )
        if prune:
            self._prune_statuses(cur, request.request_us)
        if request.cursor is None:
            cur.execute(
                "INSERT INTO statuses (id, owner, created_us, body) VALUES (?, ?, ?, ?)",
                (status.id, status.owner, request.request_us, status.dumps()),
            )
        else:
            # A write that carries a sync cursor is a pull: its status id is handed to
            # nobody, so nobody could GET its status resource, and none is stored.
            cursor = request.cursor
            self._save_sync_state(cur, replace(cursor, objects=cursor.objects + stored))
        if successes:
            self._append(
                cur,
                AuditEntry(
                    at_us=request.request_us,
                    organization=request.author,
                    account=request.account,
                    action=AuditAction.WRITE,
                    collection_id=request.collection_id,
                    agreement=request.agreement,
                    objects=tuple((d.id, d.version) for d in successes),
                    detail=request.detail,
                ),
            )
        return AddResult(status=status, stored=stored), last_added_us

    def _settle(
        self, cur: Cursor, collection_id: str, row: WriteRow
    ) -> tuple[StatusDetail, bool] | StatusDetail:
        """A version the batch did not insert (it is a duplicate or a conflict), or an
        unversioned object: (success, stored?) or a failure.

        Duplicates are looked for among the same author's versions only, so nothing
        another organisation stored (and this one may not see) changes the answer.
        """
        obj = row.obj
        if obj.version_us:
            cur.execute(
                "SELECT raw, version FROM objects WHERE collection_id = ? AND id = ?"
                " AND version_us = ? AND author = ?",
                (collection_id, obj.id, obj.version_us, row.author),
            )
        else:
            # Unversioned objects (most SCOs): a new text is a new version, dated when added.
            cur.execute(
                "SELECT raw, version FROM objects WHERE collection_id = ? AND id = ?"
                " AND author = ? ORDER BY date_added_us DESC LIMIT 1",
                (collection_id, obj.id, row.author),
            )
        found = cur.fetchone()
        if found is not None and (
            found[0] == obj.raw or json.loads(found[0]) == json.loads(obj.raw)
        ):
            # Report the version as stored (for an SCO, the date it was first added).
            return StatusDetail(obj.id, found[1], "identical version already stored"), False
        if obj.version_us:
            return StatusDetail(
                obj.id,
                obj.version,
                "a different object with this id and version is already stored;"
                " a change must carry a new 'modified' timestamp",
            )
        version = format_us(row.date_added_us)
        self._insert_row(cur, collection_id, row, version=version)
        return StatusDetail(obj.id, version), True

    def _insert_rows(self, cur: Cursor, collection_id: str, rows: list[WriteRow]) -> list[bool]:
        """Insert versioned rows; for each, whether it was new. Backends that can send a
        batch in one round trip override this (PostgreSQL)."""
        return [self._insert_row(cur, collection_id, row) for row in rows]

    def _insert_row(
        self, cur: Cursor, collection_id: str, row: WriteRow, *, version: str | None = None
    ) -> bool:
        """Insert one version (and its recipients); ``False`` if this author already has
        it (the unique index refused it), in which case nothing was written."""
        cur.execute(INSERT_OBJECT, row_params(collection_id, row, version))
        if cur.rowcount == 0:
            return False
        for identity in row.obj.recipients:
            cur.execute(INSERT_RECIPIENT, (collection_id, row.date_added_us, identity))
        return True

    def delete_object(
        self,
        collection_id: str,
        object_id: str,
        query: ObjectQuery,
        visibility: Visibility,
        *,
        author: str,
        account: str = "",
        agreement: str = "",
    ) -> int:
        where, params = self._where(collection_id, query, visibility, object_id=object_id)
        with self._write(collection_id) as (cur, _):
            cur.execute(
                f"SELECT o.date_added_us, o.version FROM objects o WHERE {where} AND o.author = ?",
                (*params, author),
            )
            doomed = cur.fetchall()
            for start in range(0, len(doomed), 500):
                chunk = [row[0] for row in doomed[start : start + 500]]
                marks = placeholders(len(chunk))
                for table in ("objects", "object_recipients"):
                    cur.execute(
                        f"DELETE FROM {table} WHERE collection_id = ?"
                        f" AND date_added_us IN ({marks})",
                        (collection_id, *chunk),
                    )
            if doomed:
                self._append(
                    cur,
                    AuditEntry(
                        at_us=now_us(),
                        organization=author,
                        account=account,
                        action=AuditAction.DELETE,
                        collection_id=collection_id,
                        agreement=agreement,
                        objects=tuple((object_id, row[1]) for row in doomed),
                        detail="DELETE object",
                    ),
                )
        return len(doomed)

    # -- reads ---------------------------------------------------------------------------

    def _where(
        self,
        collection_id: str,
        query: ObjectQuery,
        visibility: Visibility,
        *,
        object_id: str | None = None,
    ) -> tuple[str, list[Any]]:
        clauses = ["o.collection_id = ?"]
        params: list[Any] = [collection_id]
        ids = (object_id,) if object_id is not None else query.ids
        if ids:
            clauses.append(f"o.id IN ({placeholders(len(ids))})")
            params.extend(ids)
        if query.types:
            clauses.append(f"o.type IN ({placeholders(len(query.types))})")
            params.extend(query.types)
        if query.spec_versions:
            clauses.append(f"o.spec_version IN ({placeholders(len(query.spec_versions))})")
            params.extend(query.spec_versions)
        if query.after_us is not None:
            clauses.append("o.date_added_us > ?")
            params.append(query.after_us)
        visible, visible_params = visibility_sql("o", visibility)
        clauses.append(visible)
        params.extend(visible_params)
        selector = query.versions
        if not selector.all:
            alternatives: list[str] = []
            for wanted, aggregate in ((selector.last, "MAX"), (selector.first, "MIN")):
                if wanted:
                    # First and last among the versions this viewer may see.
                    inner, inner_params = visibility_sql("v", visibility)
                    alternatives.append(
                        f"o.version_us = (SELECT {aggregate}(v.version_us) FROM objects v"
                        f" WHERE v.collection_id = o.collection_id AND v.id = o.id AND {inner})"
                    )
                    params.extend(inner_params)
            if selector.timestamps:
                alternatives.append(f"o.version_us IN ({placeholders(len(selector.timestamps))})")
                params.extend(selector.timestamps)
            clauses.append("(" + " OR ".join(alternatives or ["1 = 0"]) + ")")
        return " AND ".join(clauses), params

    def _served(
        self,
        collection_id: str,
        query: ObjectQuery,
        visibility: Visibility,
        *,
        object_id: str | None = None,
    ) -> tuple[str, list[Any]]:
        """The WHERE clause of what a read serves: :meth:`_where` without the copies a
        reader would receive twice."""
        where, params = self._where(collection_id, query, visibility, object_id=object_id)
        # Two organisations may each hold the same id and version (duplicates are judged per
        # author so that a hidden copy never makes a write fail). A reader who may see two
        # identical copies gets the earliest only; different texts are a real conflict
        # between producers and are both served.
        earlier, earlier_params = visibility_sql("d", visibility)
        where += (
            " AND NOT EXISTS (SELECT 1 FROM objects d WHERE d.collection_id = o.collection_id"
            " AND d.id = o.id AND d.version_us = o.version_us"
            f" AND +d.date_added_us < o.date_added_us AND d.raw = o.raw AND {earlier})"
        )
        return where, [*params, *earlier_params]

    def _page(
        self,
        collection_id: str,
        query: ObjectQuery,
        visibility: Visibility,
        *,
        object_id: str | None = None,
        with_raw: bool = True,
    ) -> Page:
        where, params = self._served(collection_id, query, visibility, object_id=object_id)
        raw = "o.raw" if with_raw else "''"
        # With ids to look up, the unary plus keeps the planner from walking the whole
        # collection in date_added order (the primary key) instead of using the id index;
        # the few matching rows are then sorted.
        order = "+o.date_added_us" if object_id is not None or query.ids else "o.date_added_us"
        sql = (
            f"SELECT o.id, o.type, o.spec_version, o.version, o.date_added_us, {raw}"
            f" FROM objects o WHERE {where} ORDER BY {order} LIMIT ?"
        )
        with self._read() as cur:
            cur.execute(sql, (*params, query.limit + 1))
            rows = cur.fetchall()
        more = len(rows) > query.limit
        return Page(items=[StoredVersion(*row) for row in rows[: query.limit]], more=more)

    def get_objects(self, collection_id: str, query: ObjectQuery, visibility: Visibility) -> Page:
        return self._page(collection_id, query, visibility)

    def get_object(
        self, collection_id: str, object_id: str, query: ObjectQuery, visibility: Visibility
    ) -> Page:
        return self._page(collection_id, query, visibility, object_id=object_id)

    def manifest(self, collection_id: str, query: ObjectQuery, visibility: Visibility) -> Page:
        return self._page(collection_id, query, visibility, with_raw=False)

    def versions(
        self, collection_id: str, object_id: str, query: ObjectQuery, visibility: Visibility
    ) -> Page:
        every = replace(query, versions=VersionSelector.every(), ids=(), types=())
        return self._page(collection_id, every, visibility, object_id=object_id, with_raw=False)

    def object_exists(self, collection_id: str, object_id: str, visibility: Visibility) -> bool:
        visible, params = visibility_sql("o", visibility)
        with self._read() as cur:
            cur.execute(
                "SELECT 1 FROM objects o WHERE o.collection_id = ? AND o.id = ?"
                f" AND {visible} LIMIT 1",
                (collection_id, object_id, *params),
            )
            return cur.fetchone() is not None

    def count_objects(self, collection_id: str, visibility: Visibility) -> int:
        visible, params = visibility_sql("o", visibility)
        with self._read() as cur:
            cur.execute(
                f"SELECT COUNT(*) FROM objects o WHERE o.collection_id = ? AND {visible}",
                (collection_id, *params),
            )
            row = cur.fetchone()
        return int(row[0])

    def get_status(self, status_id: str) -> Status | None:
        with self._read() as cur:
            cur.execute("SELECT body FROM statuses WHERE id = ?", (status_id,))
            row = cur.fetchone()
        return None if row is None else Status.loads(status_id, row[0])

    def iter_objects(
        self, collection_id: str, visibility: Visibility, batch: int = 1000
    ) -> Iterator[StoredVersion]:
        after: int | None = None
        while True:
            page = self.get_objects(
                collection_id,
                ObjectQuery(limit=batch, versions=VersionSelector.every(), after_us=after),
                visibility,
            )
            yield from page.items
            if not page.more:
                return
            after = page.last_added_us

    def latest_added_us(self, collection_id: str, visibility: Visibility) -> int:
        # Exactly what a read would serve: a copy the reader never receives must not make
        # a long-polling peer believe there is something new (it would spin).
        every = ObjectQuery(limit=1, versions=VersionSelector.every())
        where, params = self._served(collection_id, every, visibility)
        with self._read() as cur:
            cur.execute(f"SELECT MAX(o.date_added_us) FROM objects o WHERE {where}", params)
            row = cur.fetchone()
        return int(row[0] or 0)
