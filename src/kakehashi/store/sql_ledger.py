"""The audit chain and the federation state, persisted by both SQL backends."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from kakehashi.audit import AuditAction, AuditEntry, AuditRecord, chain_hash
from kakehashi.store.base import SyncKey, SyncState
from kakehashi.store.sql_base import Cursor, SqlBackend

__all__ = ["LedgerSql"]


class LedgerSql(SqlBackend):
    """Audit records and sync cursors: small appends beside the object writes."""

    # -- federation state ----------------------------------------------------------------

    _SYNC_COLUMNS = (
        "peer, remote_collection, local_collection, direction, cursor, cursor_us, objects,"
        " last_run_us, last_success_us, last_error, last_error_us"
    )

    def _save_sync_state(self, cur: Cursor, state: SyncState) -> None:
        key = state.key
        cur.execute(
            "DELETE FROM sync_state WHERE peer = ? AND remote_collection = ?"
            " AND local_collection = ? AND direction = ?",
            (key.peer, key.remote_collection, key.local_collection, key.direction),
        )
        cur.execute(
            f"INSERT INTO sync_state ({self._SYNC_COLUMNS})"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                key.peer,
                key.remote_collection,
                key.local_collection,
                key.direction,
                state.cursor,
                state.cursor_us,
                state.objects,
                state.last_run_us,
                state.last_success_us,
                state.last_error,
                state.last_error_us,
            ),
        )

    def save_sync_state(self, state: SyncState) -> None:
        with self._audit_write() as cur:
            self._save_sync_state(cur, state)

    def sync_states(self, peer: str | None = None) -> list[SyncState]:
        where, params = ("WHERE peer = ?", [peer]) if peer is not None else ("", [])
        with self._read() as cur:
            cur.execute(
                f"SELECT {self._SYNC_COLUMNS} FROM sync_state {where}"
                " ORDER BY peer, local_collection, remote_collection, direction",
                params,
            )
            rows = cur.fetchall()
        return [
            SyncState(
                key=SyncKey(*row[:4]),
                cursor=row[4],
                cursor_us=int(row[5]),
                objects=int(row[6]),
                last_run_us=int(row[7]),
                last_success_us=int(row[8]),
                last_error=row[9],
                last_error_us=int(row[10]),
            )
            for row in rows
        ]

    # -- audit ---------------------------------------------------------------------------

    def _append(self, cur: Cursor, entry: AuditEntry) -> AuditRecord:
        cur.execute("SELECT seq, hash FROM audit_head WHERE id = 1" + self._lock_suffix)
        last_seq, prev_hash = cur.fetchone()
        seq = int(last_seq) + 1
        digest = chain_hash(prev_hash, entry, seq)
        cur.execute(
            "INSERT INTO audit_log (seq, at_us, organization, account, action, collection_id,"
            " agreement, objects, detail, prev_hash, hash)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                seq,
                entry.at_us,
                entry.organization,
                entry.account,
                str(entry.action),
                entry.collection_id,
                entry.agreement,
                json.dumps([list(p) for p in entry.objects], separators=(",", ":")),
                entry.detail,
                prev_hash,
                digest,
            ),
        )
        cur.execute("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", (seq, digest))
        return AuditRecord(seq=seq, entry=entry, prev_hash=prev_hash, hash=digest)

    def append_audit(self, entry: AuditEntry) -> AuditRecord:
        """Append one record (a release of objects) to the chain, in its own transaction."""
        with self._audit_write() as cur:
            return self._append(cur, entry)

    def audit_records(
        self,
        *,
        organization: str | None = None,
        object_id: str | None = None,
        since_us: int | None = None,
        after_seq: int = 0,
        batch: int = 1000,
    ) -> Iterator[AuditRecord]:
        """Audit records in chain order, optionally filtered."""
        clauses = ["seq > ?"]
        params: list[Any] = []
        if organization is not None:
            clauses.append("organization = ?")
            params.append(organization)
        if object_id is not None:
            # The objects column is JSON text of [id, version] pairs; the quote anchors
            # the id so a prefix of another id does not match.
            clauses.append("objects LIKE ?")
            params.append(f'%"{object_id}"%')
        if since_us is not None:
            clauses.append("at_us >= ?")
            params.append(since_us)
        where = " AND ".join(clauses)
        last = after_seq
        while True:
            with self._read() as cur:
                cur.execute(
                    "SELECT seq, at_us, organization, account, action, collection_id,"
                    f" agreement, objects, detail, prev_hash, hash FROM audit_log WHERE {where}"
                    " ORDER BY seq LIMIT ?",
                    (last, *params, batch),
                )
                rows = cur.fetchall()
            for row in rows:
                entry = AuditEntry(
                    at_us=int(row[1]),
                    organization=row[2],
                    account=row[3],
                    action=_audit_action(row[4]),
                    collection_id=row[5],
                    agreement=row[6],
                    objects=_audit_objects(row[7]),
                    detail=row[8],
                )
                yield AuditRecord(seq=int(row[0]), entry=entry, prev_hash=row[9], hash=row[10])
            if len(rows) < batch:
                return
            last = int(rows[-1][0])


def _audit_action(text: str) -> AuditAction | str:
    try:
        return AuditAction(text)
    except ValueError:
        return text  # an edited record: verify_chain reports it by its hash


def _audit_objects(text: str) -> tuple[tuple[str, str], ...]:
    """The (id, version) pairs of a record; text that is not ours is kept as it is, so
    that verification reports the record as edited instead of failing to read it."""
    try:
        pairs = json.loads(text)
        return tuple((str(pair[0]), str(pair[1])) for pair in pairs)
    except (ValueError, TypeError, IndexError, KeyError):
        return ((text, ""),)
