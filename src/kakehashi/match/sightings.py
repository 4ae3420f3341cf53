"""STIX 2.1 Sightings from match results, and the bundle that carries them.

One Sighting per indicator per run, or per indicator per window: ``count`` (capped at
STIX's 999,999,999), ``first_seen``/``last_seen`` of what matched, ``sighting_of_ref`` the
indicator, ``where_sighted_refs`` (and ``created_by_ref``) the reporting organisation's
identity, and ``observed_data_refs`` when the input was STIX observed-data.

A run's Sighting is a new object each time (a random id, ``created`` = ``modified`` = the
end of the run). A window's Sighting has a deterministic id (:func:`sighting_id`, a UUIDv5
of the indicator, the identity and the window), ``created`` the window's start and
``modified`` the end of the run: a later run over the same window reports a new version of
the same object, which replaces the earlier one, rather than a second Sighting.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from typing import IO, Any

from kakehashi.match.engine import IndicatorMatch
from kakehashi.match.windows import Window
from kakehashi.stix.timestamps import format_us

__all__ = [
    "MAX_COUNT",
    "SIGHTING_NAMESPACE",
    "identity_object",
    "sighting",
    "sighting_id",
    "sightings",
    "write_bundle",
]

#: STIX 2.1 section 5.2: ``count`` is at most 999,999,999.
MAX_COUNT = 999_999_999
#: The UUIDv5 namespace of windowed Sighting ids. Fixed for good: changing it would make
#: every re-run report new Sightings instead of new versions of the old ones.
SIGHTING_NAMESPACE = uuid.UUID("8c966f56-2bff-47b3-8254-14ef5af75c08")


def sighting_id(indicator_id: str, identity: str, window: Window) -> str:
    """The id of ``identity``'s Sighting of an indicator in a window.

    ``sighting--`` and the UUIDv5, in :data:`SIGHTING_NAMESPACE`, of
    ``"<indicator id> <identity id> <window start> <window length>"``, the last two in
    whole seconds (start since the Unix epoch).
    """
    name = (
        f"{indicator_id} {identity} {window.start_us // 1_000_000} {window.length_us // 1_000_000}"
    )
    return f"sighting--{uuid.uuid5(SIGHTING_NAMESPACE, name)}"


def sighting(
    match: IndicatorMatch,
    *,
    identity: str,
    created_us: int,
    marking_refs: Sequence[str] = (),
) -> dict[str, Any]:
    """The Sighting of one indicator's matches (in one window, when ``match`` has one).

    Args:
        match: what the indicator matched.
        identity: the reporting organisation's ``identity--…`` id.
        created_us: the end of the run, epoch microseconds: ``created`` and ``modified``
            of a run's Sighting; ``modified`` of a window's (``created`` is the window's
            start, and ``modified`` is never earlier than that).
        marking_refs: ``object_marking_refs`` to set (e.g. a TLP marking definition).
    """
    window = match.window
    if window is None:
        object_id = f"sighting--{uuid.uuid4()}"
        created = modified = format_us(created_us)
    else:
        object_id = sighting_id(match.indicator_id, identity, window)
        created = format_us(window.start_us)
        modified = format_us(max(created_us, window.start_us))
    obj: dict[str, Any] = {
        "type": "sighting",
        "spec_version": "2.1",
        "id": object_id,
        "created": created,
        "modified": modified,
        "created_by_ref": identity,
        "first_seen": format_us(match.first_seen_us),
        "last_seen": format_us(match.last_seen_us),
        "count": min(match.count, MAX_COUNT),
        "sighting_of_ref": match.indicator_id,
        "where_sighted_refs": [identity],
    }
    if match.observed_data_refs:
        obj["observed_data_refs"] = list(match.observed_data_refs)
    if marking_refs:
        obj["object_marking_refs"] = list(marking_refs)
    return obj


def sightings(
    matches: Iterable[IndicatorMatch],
    *,
    identity: str,
    created_us: int,
    marking_refs: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """One Sighting per match (per indicator, or per indicator per window)."""
    return [
        sighting(m, identity=identity, created_us=created_us, marking_refs=marking_refs)
        for m in matches
    ]


def identity_object(identity: str, name: str) -> dict[str, Any]:
    """The reporting organisation's identity SDO (``identity_class`` organization).

    Its ``created`` is fixed (the epoch) so that reports from several runs carry the same
    version of it, and a hub stores it once.
    """
    stamp = format_us(0)
    return {
        "type": "identity",
        "spec_version": "2.1",
        "id": identity,
        "created": stamp,
        "modified": stamp,
        "name": name,
        "identity_class": "organization",
    }


def write_bundle(objects: Iterable[dict[str, Any]], out: IO[str]) -> int:
    """Write a STIX 2.1 bundle, one object at a time; return how many objects.

    STIX forbids empty lists, so a bundle with no objects has no ``objects`` member.
    """
    out.write(json.dumps({"type": "bundle", "id": f"bundle--{uuid.uuid4()}"})[:-1])
    count = 0
    for obj in objects:
        out.write(',\n "objects": [\n  ' if count == 0 else ",\n  ")
        out.write(json.dumps(obj, ensure_ascii=False))
        count += 1
    out.write("\n ]}\n" if count else "}\n")
    out.flush()
    return count
