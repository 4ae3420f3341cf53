"""Storage: one :class:`Store` interface, SQLite and PostgreSQL behind it."""

from __future__ import annotations

from pathlib import Path

from kakehashi.errors import ConfigError
from kakehashi.store.base import (
    STIX_MEDIA_TYPE,
    AddResult,
    ObjectQuery,
    Page,
    Status,
    StatusDetail,
    Store,
    StoredVersion,
    VersionSelector,
    WriteRequest,
)

__all__ = [
    "STIX_MEDIA_TYPE",
    "AddResult",
    "ObjectQuery",
    "Page",
    "Status",
    "StatusDetail",
    "Store",
    "StoredVersion",
    "VersionSelector",
    "WriteRequest",
    "open_store",
]


def open_store(url: str, *, base_dir: Path) -> Store:
    """Build (not yet open) the store a database URL names.

    ``sqlite:///relative.db`` is relative to ``base_dir`` (the config file's folder);
    ``sqlite:////abs/path.db`` is absolute; ``postgresql://…`` and ``postgres://…`` use
    PostgreSQL.
    """
    if url.startswith("sqlite:///"):
        from kakehashi.store.sqlite import SqliteStore

        rest = url[len("sqlite:///") :]
        if not rest:
            raise ConfigError("a sqlite URL needs a file name", key="hub.database")
        path = Path(rest)
        return SqliteStore(path if path.is_absolute() else base_dir / path)
    if url.startswith(("postgresql://", "postgres://")):
        from kakehashi.store.postgres import PostgresStore

        return PostgresStore(url)
    raise ConfigError("must start with sqlite:/// or postgresql://", key="hub.database")
