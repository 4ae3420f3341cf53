"""The exposure catalog: advisories, KEV entries and operators' assets in the hub database.

``kakehashi advisories import`` and ``kakehashi assets import`` write here; ``kakehashi
exposure`` reads. The catalog knows rows, not records: :mod:`kakehashi.advisories.serial`
turns records into rows (the two layers do not import each other). Tables come from the
shared migrations (:mod:`kakehashi.store.schema`, migration 3).

An inventory import replaces the assets an organisation imported from the same source
(a file name, or a name given on the command line) in ONE transaction that commits
durably, so a truncated SBOM or a bad CSV row leaves the previous inventory untouched.
Advisories are upserted by id: importing a newer CVE record or CSAF revision replaces the
older one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from itertools import islice
from typing import Any

from kakehashi.stix.timestamps import now_us
from kakehashi.store.postgres import PostgresStore
from kakehashi.store.postgres import _translated as _postgres_errors
from kakehashi.store.sqlite import SqliteStore
from kakehashi.store.sqlite import _translated as _sqlite_errors

__all__ = ["AssetSource", "Catalog", "PostgresCatalog", "SqliteCatalog"]

_ASSET_FIELDS = "site, sector, vendor, product, version, cpe, purl, criticality, ref"
_CHUNK = 5_000


@dataclass(frozen=True, slots=True)
class AssetSource:
    """One imported inventory: whose, from where, when, how many assets."""

    organization: str
    source: str
    imported_us: int
    assets: int


class Catalog(ABC):
    """The catalog's queries, over a backend's bulk transaction and streaming reads."""

    @abstractmethod
    def open(self) -> None:
        """Connect, and apply the migrations not yet applied."""

    @abstractmethod
    def close(self) -> None:
        """Release the connections."""

    @abstractmethod
    def _bulk(self) -> AbstractContextManager[Any]:
        """A cursor (``?`` placeholders, ``execute``/``executemany``) in one transaction
        that commits durably on exit and rolls back on an exception."""

    @abstractmethod
    def _stream(self, sql: str, params: Sequence[Any]) -> Iterator[tuple[Any, ...]]:
        """The rows of one query, fetched in chunks (bounded memory)."""

    # -- assets ------------------------------------------------------------------------

    def replace_assets(self, organization: str, source: str, rows: Iterable[Sequence[Any]]) -> int:
        """Replace ``organization``'s assets from ``source`` with ``rows``, atomically.

        Each row is ``(site, sector, vendor, product, version, cpe, purl, criticality,
        ref)``. Rows are consumed inside the transaction: an exception raised while
        iterating them (a truncated file, a bad row) rolls everything back and the
        previous inventory stays. Returns the number of assets stored.
        """
        count = 0
        with self._bulk() as cur:
            cur.execute(
                "DELETE FROM assets WHERE organization = ? AND source = ?", (organization, source)
            )
            iterator = iter(rows)
            while chunk := list(islice(iterator, _CHUNK)):
                cur.executemany(
                    f"INSERT INTO assets (organization, source, seq, {_ASSET_FIELDS})"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(organization, source, count + i, *row) for i, row in enumerate(chunk)],
                )
                count += len(chunk)
            cur.execute(
                "DELETE FROM asset_sources WHERE organization = ? AND source = ?",
                (organization, source),
            )
            cur.execute(
                "INSERT INTO asset_sources (organization, source, imported_us, assets)"
                " VALUES (?, ?, ?, ?)",
                (organization, source, now_us(), count),
            )
        return count

    def remove_assets(self, organization: str, source: str | None = None) -> int:
        """Forget an organisation's assets (from one source, or all); how many went."""
        where, params = "organization = ?", [organization]
        if source is not None:
            where, params = where + " AND source = ?", [organization, source]
        with self._bulk() as cur:
            cur.execute(f"DELETE FROM assets WHERE {where}", params)
            removed = int(cur.rowcount)
            cur.execute(f"DELETE FROM asset_sources WHERE {where}", params)
        return removed

    def asset_sources(self) -> list[AssetSource]:
        """Every imported inventory, by organisation and source."""
        return [
            AssetSource(str(org), str(source), int(at), int(n))
            for org, source, at, n in self._stream(
                "SELECT organization, source, imported_us, assets FROM asset_sources"
                " ORDER BY organization, source",
                (),
            )
        ]

    def iter_assets(
        self, *, organizations: Sequence[str] = (), sectors: Sequence[str] = ()
    ) -> Iterator[tuple[Any, ...]]:
        """Stored assets as ``(organization, site, sector, vendor, product, version, cpe,
        purl, criticality, ref)``, optionally of some organisations / sectors only."""
        clauses: list[str] = []
        params: list[Any] = []
        for column, values in (("organization", organizations), ("sector", sectors)):
            if values:
                clauses.append(f"{column} IN ({','.join('?' * len(values))})")
                params.extend(values)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        return self._stream(
            f"SELECT organization, {_ASSET_FIELDS} FROM assets{where}"
            " ORDER BY organization, source, seq",
            params,
        )

    # -- advisories and KEV ------------------------------------------------------------

    def put_advisories(self, rows: Iterable[tuple[str, str, str]]) -> int:
        """Upsert ``(id, source, record JSON)`` rows; how many.

        Each chunk of rows commits on its own: advisories are independent of each other,
        and a long import must not hold the write lock that a running hub needs.
        """
        count = 0
        at = now_us()
        iterator = iter(rows)
        while chunk := list(islice(iterator, _CHUNK)):
            with self._bulk() as cur:
                cur.executemany(
                    "INSERT INTO advisories (id, source, imported_us, record) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (id) DO UPDATE SET source = excluded.source,"
                    " imported_us = excluded.imported_us, record = excluded.record",
                    [(i, s, at, r) for i, s, r in chunk],
                )
                count += len(chunk)
        return count

    def remove_advisories(self, ids: Iterable[str]) -> int:
        """Forget the advisories of these ids (revoked upstream); how many were stored."""
        wanted = sorted(set(ids))
        removed = 0
        for start in range(0, len(wanted), _CHUNK):
            with self._bulk() as cur:
                for advisory_id in wanted[start : start + _CHUNK]:
                    cur.execute("DELETE FROM advisories WHERE id = ?", (advisory_id,))
                    removed += max(cur.rowcount, 0)
        return removed

    def put_known_exploited(self, rows: Iterable[tuple[str, str]]) -> int:
        """Replace the KEV catalog with ``(cve_id, record JSON)`` rows; how many."""
        at = now_us()
        with self._bulk() as cur:
            cur.execute("DELETE FROM known_exploited")
            batch = [(cve, at, record) for cve, record in rows]
            cur.executemany(
                "INSERT INTO known_exploited (cve_id, imported_us, record) VALUES (?, ?, ?)",
                batch,
            )
        return len(batch)

    def iter_advisories(self) -> Iterator[str]:
        """The record JSON of every stored advisory."""
        return (str(r[0]) for r in self._stream("SELECT record FROM advisories ORDER BY id", ()))

    def iter_known_exploited(self) -> Iterator[str]:
        """The record JSON of every KEV entry."""
        return (
            str(r[0])
            for r in self._stream("SELECT record FROM known_exploited ORDER BY cve_id", ())
        )

    def counts(self) -> dict[str, int]:
        """How many advisories, KEV entries, assets and inventories are stored."""
        out: dict[str, int] = {}
        for table in ("advisories", "known_exploited", "assets", "asset_sources"):
            (row,) = list(self._stream(f"SELECT COUNT(*) FROM {table}", ()))
            out[table] = int(row[0])
        return out


class SqliteCatalog(SqliteStore, Catalog):
    """The catalog in the hub's SQLite file (same connection rules as the store)."""

    def _bulk(self) -> AbstractContextManager[Any]:
        return self._transaction()

    def _stream(self, sql: str, params: Sequence[Any]) -> Iterator[tuple[Any, ...]]:
        with self._read() as cur, _sqlite_errors():
            cur.execute(sql, params)
            while rows := cur.fetchmany(_CHUNK):  # type: ignore[attr-defined]
                yield from rows


class PostgresCatalog(PostgresStore, Catalog):
    """The catalog in the hub's PostgreSQL database."""

    def _bulk(self) -> AbstractContextManager[Any]:
        return self._transaction()

    def _stream(self, sql: str, params: Sequence[Any]) -> Iterator[tuple[Any, ...]]:
        # A server-side cursor: a million assets never sit in memory at once.
        with (
            _postgres_errors(),
            self._connection() as conn,
            conn.transaction(),
            conn.cursor(name="kakehashi_catalog") as cur,
        ):
            cur.itersize = _CHUNK
            cur.execute(sql.replace("?", "%s"), params)
            yield from cur
