"""Typed records for STIX objects travelling through the hub.

Raw STIX stays JSON text, exactly as received (custom properties and extensions are legal
and must survive); it travels inside :class:`ObjectVersion`, which carries the handful of
facts that routing, filtering and policy need.
"""

from __future__ import annotations

from dataclasses import dataclass

from kakehashi.stix.markings import Tlp

__all__ = ["ObjectVersion"]


@dataclass(frozen=True, slots=True)
class ObjectVersion:
    """One version of one STIX object, validated, with its exact JSON text.

    Attributes:
        id: the STIX id, e.g. ``indicator--…``.
        type: the STIX type, e.g. ``indicator``.
        spec_version: ``"2.1"`` (SCOs without the property are 2.1 by definition).
        version: the version text as the producer wrote it: ``modified``, else ``created``,
            else ``""`` for objects that have neither (most SCOs).
        version_us: ``version`` in epoch microseconds, ``0`` when there is no version text.
        created_by_ref: the identity that claims authorship, or ``""``.
        marking_refs: the ids in ``object_marking_refs``, in order.
        raw: the object's JSON text, byte for byte as it appeared in the envelope.
        tlp: the TLP level governing the object, ``None`` when unmarked.
        tlp_refs: the official TLP marking definitions it references.
        recipients: identity ids named by the TLP:RED recipients extension.
    """

    id: str
    type: str
    spec_version: str
    version: str
    version_us: int
    created_by_ref: str
    marking_refs: tuple[str, ...]
    raw: str
    tlp: Tlp | None = None
    tlp_refs: frozenset[str] = frozenset()
    recipients: tuple[str, ...] = ()
