"""The database schema, one list of migrations for both dialects.

``{bigint}`` is spelled ``INTEGER`` on SQLite (64-bit already) and ``BIGINT`` on PostgreSQL.
A migration is never edited once released; a change is a new entry at the end.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["MIGRATIONS", "apply_migrations", "render"]

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        # date_added_us is unique per collection: it orders pages and is the paging cursor.
        """CREATE TABLE objects (
            collection_id TEXT NOT NULL,
            date_added_us {bigint} NOT NULL,
            id TEXT NOT NULL,
            type TEXT NOT NULL,
            spec_version TEXT NOT NULL,
            version TEXT NOT NULL,
            version_us {bigint} NOT NULL,
            created_by_ref TEXT NOT NULL,
            author TEXT NOT NULL,
            tlp INTEGER,
            raw TEXT NOT NULL,
            PRIMARY KEY (collection_id, date_added_us)
        )""",
        # Unique per author: a version another organisation cannot see must not make this
        # one's write fail ("already exists" would reveal it).
        "CREATE UNIQUE INDEX objects_by_version ON objects (collection_id, id, version_us, author)",
        """CREATE TABLE object_recipients (
            collection_id TEXT NOT NULL,
            date_added_us {bigint} NOT NULL,
            identity TEXT NOT NULL,
            PRIMARY KEY (collection_id, date_added_us, identity)
        )""",
        "CREATE INDEX objects_by_type ON objects (collection_id, type, date_added_us)",
        """CREATE TABLE collection_clock (
            collection_id TEXT PRIMARY KEY,
            last_added_us {bigint} NOT NULL
        )""",
        """CREATE TABLE statuses (
            id TEXT PRIMARY KEY,
            owner TEXT NOT NULL,
            created_us {bigint} NOT NULL,
            body TEXT NOT NULL
        )""",
        "CREATE INDEX statuses_by_age ON statuses (created_us)",
        # Append-only, hash-chained (kakehashi.audit); audit_head serialises appends.
        """CREATE TABLE audit_log (
            seq {bigint} PRIMARY KEY,
            at_us {bigint} NOT NULL,
            organization TEXT NOT NULL,
            account TEXT NOT NULL,
            action TEXT NOT NULL,
            collection_id TEXT NOT NULL,
            agreement TEXT NOT NULL,
            objects TEXT NOT NULL,
            detail TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL
        )""",
        "CREATE INDEX audit_by_organization ON audit_log (organization, at_us)",
        """CREATE TABLE audit_head (
            id INTEGER PRIMARY KEY,
            seq {bigint} NOT NULL,
            hash TEXT NOT NULL
        )""",
        "INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '" + "0" * 64 + "')",
    ),
    (
        # Federation: where a version came from, and which local organisation received it
        # (re-share rules are applied from its point of view). '' = written on this hub.
        "ALTER TABLE objects ADD COLUMN origin TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE objects ADD COLUMN origin_collection TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE objects ADD COLUMN received_by TEXT NOT NULL DEFAULT ''",
        # One row per peer mapping and direction: the durable cursor and the last outcome.
        """CREATE TABLE sync_state (
            peer TEXT NOT NULL,
            remote_collection TEXT NOT NULL,
            local_collection TEXT NOT NULL,
            direction TEXT NOT NULL,
            cursor TEXT NOT NULL,
            cursor_us {bigint} NOT NULL,
            objects {bigint} NOT NULL,
            last_run_us {bigint} NOT NULL,
            last_success_us {bigint} NOT NULL,
            last_error TEXT NOT NULL,
            last_error_us {bigint} NOT NULL,
            PRIMARY KEY (peer, remote_collection, local_collection, direction)
        )""",
    ),
    (
        # Exposure (kakehashi advisories/assets import, kakehashi exposure): advisories and
        # KEV entries as JSON of their records, keyed by id; assets as columns, replaced
        # per (organization, source) on each import.
        """CREATE TABLE advisories (
            id TEXT PRIMARY KEY,
            source TEXT NOT NULL,
            imported_us {bigint} NOT NULL,
            record TEXT NOT NULL
        )""",
        """CREATE TABLE known_exploited (
            cve_id TEXT PRIMARY KEY,
            imported_us {bigint} NOT NULL,
            record TEXT NOT NULL
        )""",
        """CREATE TABLE asset_sources (
            organization TEXT NOT NULL,
            source TEXT NOT NULL,
            imported_us {bigint} NOT NULL,
            assets {bigint} NOT NULL,
            PRIMARY KEY (organization, source)
        )""",
        """CREATE TABLE assets (
            organization TEXT NOT NULL,
            source TEXT NOT NULL,
            seq {bigint} NOT NULL,
            site TEXT NOT NULL,
            sector TEXT NOT NULL,
            vendor TEXT NOT NULL,
            product TEXT NOT NULL,
            version TEXT NOT NULL,
            cpe TEXT NOT NULL,
            purl TEXT NOT NULL,
            criticality INTEGER NOT NULL,
            ref TEXT NOT NULL,
            PRIMARY KEY (organization, source, seq)
        )""",
    ),
)


def render(statement: str, *, bigint: str) -> str:
    """Spell a migration statement for one dialect."""
    return statement.replace("{bigint}", bigint)


def apply_migrations(execute: Callable[..., Any], *, bigint: str, placeholder: str) -> None:
    """Run the migrations not yet applied, inside the caller's transaction.

    Args:
        execute: the connection's ``execute`` (returns a cursor).
        bigint: how the dialect spells a 64-bit integer.
        placeholder: the dialect's parameter marker (``?`` or ``%s``).
    """
    execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    row = execute("SELECT MAX(version) FROM schema_version").fetchone()
    current = (row[0] if row else None) or 0
    for number, statements in enumerate(MIGRATIONS, start=1):
        if number <= current:
            continue
        for statement in statements:
            execute(render(statement, bigint=bigint))
        execute(f"INSERT INTO schema_version (version) VALUES ({placeholder})", (number,))
