"""The storage interface: a dozen verbs in TAXII terms, and the records they return.

Backends (``sqlite``, ``postgres``) implement :class:`Store`. Everything a TAXII read
needs — filters, version selection, paging — is pushed into one SQL query so that every
path (objects, object by id, manifest, versions, counts, headers) sees the same rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from kakehashi.audit import AuditEntry, AuditRecord
from kakehashi.stix.model import ObjectVersion
from kakehashi.stix.timestamps import format_us
from kakehashi.stix.visibility import Visibility

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
]

STIX_MEDIA_TYPE = "application/stix+json;version=2.1"


@dataclass(frozen=True, slots=True)
class VersionSelector:
    """``match[version]``: any union of last, first, all, and exact versions (epoch µs)."""

    last: bool = False
    first: bool = False
    all: bool = False
    timestamps: tuple[int, ...] = ()

    @classmethod
    def latest(cls) -> VersionSelector:
        return cls(last=True)

    @classmethod
    def every(cls) -> VersionSelector:
        return cls(all=True)


@dataclass(frozen=True, slots=True)
class ObjectQuery:
    """The TAXII filters of one request, already parsed and checked.

    ``after_us`` is the exclusive lower bound on ``date_added``: the larger of
    ``added_after`` and the position carried by a ``next`` token.
    """

    limit: int
    ids: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    versions: VersionSelector = field(default_factory=VersionSelector.latest)
    spec_versions: tuple[str, ...] = ()
    after_us: int | None = None


@dataclass(frozen=True, slots=True)
class StoredVersion:
    """One stored object version as reads return it."""

    id: str
    type: str
    spec_version: str
    version: str
    date_added_us: int
    raw: str

    @property
    def media_type(self) -> str:
        return STIX_MEDIA_TYPE


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a paged read; ``more`` says whether rows remain after ``items``."""

    items: list[StoredVersion]
    more: bool

    @property
    def first_added_us(self) -> int | None:
        return self.items[0].date_added_us if self.items else None

    @property
    def last_added_us(self) -> int | None:
        return self.items[-1].date_added_us if self.items else None


@dataclass(frozen=True, slots=True)
class StatusDetail:
    """One entry of a status resource's successes, failures or pendings."""

    id: str
    version: str
    message: str = ""

    def to_json(self) -> dict[str, str]:
        out = {"id": self.id, "version": self.version}
        if self.message:
            out["message"] = self.message
        return out


@dataclass(frozen=True, slots=True)
class Status:
    """A TAXII 2.1 status resource (section 4.3.1), owned by the organisation that posted."""

    id: str
    owner: str
    request_us: int
    successes: tuple[StatusDetail, ...]
    failures: tuple[StatusDetail, ...]
    pendings: tuple[StatusDetail, ...] = ()

    def to_json(self) -> dict[str, object]:
        body: dict[str, object] = {
            "id": self.id,
            "status": "pending" if self.pendings else "complete",
            "request_timestamp": format_us(self.request_us),
            "total_count": len(self.successes) + len(self.failures) + len(self.pendings),
            "success_count": len(self.successes),
            "failure_count": len(self.failures),
            "pending_count": len(self.pendings),
        }
        # TAXII 2.1 section 2: an empty list must be omitted, never sent as [].
        for key, details in (
            ("successes", self.successes),
            ("failures", self.failures),
            ("pendings", self.pendings),
        ):
            if details:
                body[key] = [d.to_json() for d in details]
        return body

    def dumps(self) -> str:
        body = {
            "owner": self.owner,
            "request_us": self.request_us,
            "successes": [[d.id, d.version, d.message] for d in self.successes],
            "failures": [[d.id, d.version, d.message] for d in self.failures],
            "pendings": [[d.id, d.version, d.message] for d in self.pendings],
        }
        return json.dumps(body, separators=(",", ":"))

    @classmethod
    def loads(cls, status_id: str, text: str) -> Status:
        body = json.loads(text)

        def details(key: str) -> tuple[StatusDetail, ...]:
            return tuple(StatusDetail(*row) for row in body[key])

        return cls(
            id=status_id,
            owner=body["owner"],
            request_us=body["request_us"],
            successes=details("successes"),
            failures=details("failures"),
            pendings=details("pendings"),
        )


@dataclass(frozen=True, slots=True)
class SyncKey:
    """One peer mapping in one direction."""

    peer: str
    remote_collection: str
    local_collection: str
    direction: str  # "pull" or "push"


@dataclass(frozen=True, slots=True)
class SyncState:
    """Where a peer mapping stands: its durable cursor and its last outcome.

    Attributes:
        cursor: for a pull, the remote ``date_added`` of the last committed page (text as
            the peer wrote it); for a push, the local ``date_added`` last sent.
        cursor_us: the cursor in epoch microseconds (0 = from the beginning).
        objects: how many object versions this mapping has moved in total.
    """

    key: SyncKey
    cursor: str = ""
    cursor_us: int = 0
    objects: int = 0
    last_run_us: int = 0
    last_success_us: int = 0
    last_error: str = ""
    last_error_us: int = 0


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where received objects come from, and the local organisation that received them."""

    peer: str
    remote_collection: str
    received_by: str


@dataclass(frozen=True, slots=True)
class WriteRequest:
    """One envelope to store in one transaction.

    Attributes:
        collection_id: where the objects go.
        author: the organisation key of the account that wrote them.
        objects: the validated object versions, in envelope order.
        rejected: failures found before storage (validation), kept in the status.
        status_id: the id of the status resource to create with the write (none is stored
            for a write that carries a sync ``cursor``: nobody can ask for a pull's status).
        request_us: when the request arrived.
        definitions: marking and extension definitions the objects rely on, stored first
            (once per collection) so that they resolve for every reader.
        account: the account that wrote (for the audit record).
        agreement: the collection's agreement (for the audit record).
        detail: the endpoint or command (for the audit record).
        authors: per object, the organisation recorded as its author (objects pulled from a
            peer are authored by the organisation their created_by_ref names); empty = all
            by ``author``.
        provenance: set for objects received from a peer.
        cursor: a sync cursor to advance in the same transaction, so that it never moves
            past objects that were not committed.
    """

    collection_id: str
    author: str
    objects: Sequence[ObjectVersion]
    rejected: Sequence[StatusDetail]
    status_id: str
    request_us: int
    definitions: Sequence[ObjectVersion] = ()
    account: str = ""
    agreement: str = ""
    detail: str = ""
    authors: Sequence[str] = ()
    provenance: Provenance | None = None
    cursor: SyncState | None = None


@dataclass(frozen=True, slots=True)
class AddResult:
    """What a write did: the status resource it created, and how many rows it added."""

    status: Status
    stored: int


class Store(Protocol):
    """The one storage interface; every method is blocking and thread-safe.

    Every read takes the viewer's :class:`Visibility` and applies it inside its query.
    """

    def open(self) -> None:
        """Connect and bring the schema up to date (idempotent)."""

    def close(self) -> None:
        """Release connections; the store may not be used afterwards."""

    def add_objects(self, request: WriteRequest) -> AddResult:
        """Store an envelope's objects, its status resource and its audit record in one
        durable transaction.

        Each object gets a ``date_added`` strictly greater than any before it in the
        collection. Re-posting an identical version is a success that stores nothing; a
        different object under an id and version the same author already stored is a
        failure.
        """

    def get_objects(self, collection_id: str, query: ObjectQuery, visibility: Visibility) -> Page:
        """Visible object versions matching ``query`` in ``date_added`` order, one page."""

    def get_object(
        self, collection_id: str, object_id: str, query: ObjectQuery, visibility: Visibility
    ) -> Page:
        """Visible versions of one object matching ``query``, one page."""

    def manifest(self, collection_id: str, query: ObjectQuery, visibility: Visibility) -> Page:
        """Like :meth:`get_objects` without the JSON text (``raw`` is empty)."""

    def versions(
        self, collection_id: str, object_id: str, query: ObjectQuery, visibility: Visibility
    ) -> Page:
        """All visible versions of one object (``query.versions`` is ignored), one page."""

    def iter_objects(
        self, collection_id: str, visibility: Visibility, batch: int = 1000
    ) -> Iterator[StoredVersion]:
        """Every visible stored version of a collection in ``date_added`` order."""

    def object_exists(self, collection_id: str, object_id: str, visibility: Visibility) -> bool:
        """Whether any version of ``object_id`` in the collection is visible."""

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
        """Delete the visible versions of one object that match ``query`` and that
        ``author`` wrote, with an audit record; return how many."""

    def get_status(self, status_id: str) -> Status | None:
        """A status resource by id, or ``None``."""

    def count_objects(self, collection_id: str, visibility: Visibility) -> int:
        """How many visible object versions the collection holds."""

    def append_audit(self, entry: AuditEntry) -> AuditRecord:
        """Append one record to the audit chain."""

    def sync_states(self, peer: str | None = None) -> list[SyncState]:
        """The recorded state of every peer mapping (of one peer)."""

    def save_sync_state(self, state: SyncState) -> None:
        """Record a mapping's cursor and outcome (outside an object write)."""

    def latest_added_us(self, collection_id: str, visibility: Visibility) -> int:
        """The ``date_added`` of the newest visible version, 0 for none (change polling)."""

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
