"""The audit record and its hash-chain rule (the store persists records; nothing edits them).

Each record's ``hash`` is SHA-256 over the previous record's hash and the record's own
canonical JSON, so editing, deleting or reordering any record breaks every hash after it.
:func:`verify_chain` names the first record that does not fit. Deleting records from the
*end* leaves a valid shorter chain; operators who need to detect that anchor the head
hash elsewhere (``kakehashi audit verify`` prints it).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "GENESIS_HASH",
    "AuditAction",
    "AuditEntry",
    "AuditRecord",
    "ChainBreak",
    "chain_hash",
    "verify_chain",
]

GENESIS_HASH = "0" * 64


class AuditAction(StrEnum):
    WRITE = "write"  # objects stored by a POST or an import
    RELEASE = "release"  # objects (or their manifest/versions) sent in a response
    DELETE = "delete"
    EXPORT = "export"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """What happened, before the store gives it a place in the chain.

    Attributes:
        at_us: when, in epoch microseconds.
        organization: the organisation that wrote or received.
        account: the account that made the request (or the operator's command).
        action: see :class:`AuditAction`.
        collection_id: the collection concerned.
        agreement: the agreement the collection belongs to, ``""`` for none.
        objects: ``(id, version)`` of every object version concerned.
        detail: the endpoint or command, e.g. ``"GET objects"``.
    """

    at_us: int
    organization: str
    account: str
    action: AuditAction | str  # str only when read back from a tampered record
    collection_id: str
    agreement: str
    objects: tuple[tuple[str, str], ...]
    detail: str = ""

    def canonical(self, seq: int) -> str:
        """The exact text the chain hashes for this entry at position ``seq``."""
        return json.dumps(
            [
                seq,
                self.at_us,
                self.organization,
                self.account,
                str(self.action),
                self.collection_id,
                self.agreement,
                [list(pair) for pair in self.objects],
                self.detail,
            ],
            separators=(",", ":"),
            ensure_ascii=False,
        )


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """An entry in its place in the chain."""

    seq: int
    entry: AuditEntry
    prev_hash: str
    hash: str


def chain_hash(prev_hash: str, entry: AuditEntry, seq: int) -> str:
    """The hash of ``entry`` at ``seq`` after a record whose hash is ``prev_hash``."""
    payload = prev_hash + "\n" + entry.canonical(seq)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """The first record that does not fit the chain, and why."""

    seq: int
    reason: str


def verify_chain(records: Iterable[AuditRecord]) -> tuple[int, str, ChainBreak | None]:
    """Walk records in stored order; return (count, head hash, first break or None)."""
    expected_prev = GENESIS_HASH
    expected_seq = 1
    count = 0
    for record in records:
        count += 1
        if record.seq != expected_seq:
            what = "missing" if record.seq > expected_seq else "out of order or duplicated"
            return (
                count,
                expected_prev,
                ChainBreak(record.seq, f"expected record {expected_seq} here; records are {what}"),
            )
        if record.prev_hash != expected_prev:
            return (
                count,
                expected_prev,
                ChainBreak(record.seq, "prev_hash does not match the record before it"),
            )
        if chain_hash(record.prev_hash, record.entry, record.seq) != record.hash:
            return (
                count,
                expected_prev,
                ChainBreak(record.seq, "contents do not match its hash (the record was edited)"),
            )
        expected_prev = record.hash
        expected_seq += 1
    return count, expected_prev, None
