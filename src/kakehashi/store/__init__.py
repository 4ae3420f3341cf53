"""Storage: one :class:`Store` interface, SQLite and PostgreSQL behind it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from kakehashi.errors import ConfigError
from kakehashi.store.base import (
    STIX_MEDIA_TYPE,
    AddResult,
    ObjectQuery,
    Page,
    Provenance,
    Status,
    StatusDetail,
    Store,
    StoredVersion,
    SyncKey,
    SyncState,
    VersionSelector,
    WriteRequest,
)

if TYPE_CHECKING:
    from kakehashi.store.catalog import Catalog

__all__ = [
    "STIX_MEDIA_TYPE",
    "AddResult",
    "ObjectQuery",
    "Page",
    "Provenance",
    "Status",
    "StatusDetail",
    "Store",
    "StoredVersion",
    "SyncKey",
    "SyncState",
    "VersionSelector",
    "WriteRequest",
    "open_catalog",
    "open_store",
]


def open_store(url: str, *, base_dir: Path, status_retention_s: float | None = None) -> Store:
    """Build (not yet open) the store a database URL names.

    ``sqlite:///relative.db`` is relative to ``base_dir`` (the config file's folder);
    ``sqlite:////abs/path.db`` is absolute; ``postgresql://…`` and ``postgres://…`` use
    PostgreSQL.
    """
    retention: dict[str, int] = {}
    if status_retention_s is not None:
        retention["status_retention_us"] = int(status_retention_s * 1_000_000)
    if url.startswith("sqlite:///"):
        from kakehashi.store.sqlite import SqliteStore

        return SqliteStore(_sqlite_path(url, base_dir), **retention)
    if url.startswith(("postgresql://", "postgres://")):
        from kakehashi.store.postgres import PostgresStore

        return PostgresStore(url, **retention)
    raise ConfigError("must start with sqlite:/// or postgresql://", key="hub.database")


def open_catalog(url: str, *, base_dir: Path) -> Catalog:
    """Build (not yet open) the exposure catalog in the database a URL names (the same
    database as the hub's store; see :func:`open_store` for the URL forms)."""
    from kakehashi.store.catalog import PostgresCatalog, SqliteCatalog

    if url.startswith("sqlite:///"):
        return SqliteCatalog(_sqlite_path(url, base_dir))
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresCatalog(url)
    raise ConfigError("must start with sqlite:/// or postgresql://", key="hub.database")


def _sqlite_path(url: str, base_dir: Path) -> Path:
    rest = url[len("sqlite:///") :]
    if not rest:
        raise ConfigError("a sqlite URL needs a file name", key="hub.database")
    path = Path(rest)
    return path if path.is_absolute() else base_dir / path
