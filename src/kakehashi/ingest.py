"""Turning an envelope's objects into one write request: the one ingest path.

TAXII POST and ``kakehashi import`` both go through :class:`Ingest`, so the same
validation, write rules (``created_by_ref``, TLP impostors) and marking definitions apply
however objects arrive.
"""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from kakehashi.config import Collection, Peer, Settings
from kakehashi.errors import StixValidationError
from kakehashi.policy import Policy
from kakehashi.stix.envelope import RawObject
from kakehashi.stix.markings import (
    TLP_IDS,
    Tlp,
    claims_tlp,
    definition_objects,
    is_tlp_definition,
)
from kakehashi.stix.model import ObjectVersion
from kakehashi.stix.validate import validate_object
from kakehashi.store import Provenance, StatusDetail, WriteRequest

__all__ = [
    "Checked",
    "Compact",
    "Ingest",
    "Refusal",
    "check_received",
    "expand",
    "refusal",
    "tlp_impostors",
]

# An accepted ObjectVersion as a plain tuple (cheap to pickle): see compact() and expand().
Compact = tuple[Any, ...]
# A refused object: (its index in what was checked, id, version, reason).
Refusal = tuple[int, str, str, str]
Checked = tuple[list[Compact], list[Refusal]]
_TLP = {int(level): level for level in Tlp}


def _identify(value: object) -> tuple[str, str]:
    """What identifies a refused object: its id and version, when it has usable ones."""
    object_id = ""
    version = ""
    if isinstance(value, dict):
        if isinstance(value.get("id"), str):
            object_id = value["id"]
        for key in ("modified", "created"):
            if isinstance(value.get(key), str):
                version = value[key]
                break
    return object_id, version


def refusal(index: int, object_id: str, version: str, reason: str) -> StatusDetail:
    """The status failure of a refused object."""
    return StatusDetail(object_id, version, f"objects[{index}]: {reason}")


def _rejected(index: int, value: object, error: StixValidationError) -> StatusDetail:
    """A status failure for an object that was refused, with what identifies it."""
    return refusal(index, *_identify(value), error.reason)


@functools.cache
def _official_definitions() -> dict[str, ObjectVersion]:
    """The definitions the hub keeps as published (TLP, the recipients extension)."""
    return {
        obj["id"]: validate_object(obj, json.dumps(obj, separators=(",", ":")))
        for obj in definition_objects(set(TLP_IDS), recipients=True)
    }


def tlp_impostors(raw_objects: Sequence[RawObject]) -> set[str]:
    """Marking definitions among ``raw_objects`` that pretend to be TLP."""
    return {
        item.value["id"]
        for item in raw_objects
        if isinstance(item.value, dict)
        and item.value.get("type") == "marking-definition"
        and isinstance(item.value.get("id"), str)
        and not is_tlp_definition(item.value["id"])
        and claims_tlp(item.value)
    }


def _is_official(definitions: dict[str, ObjectVersion], obj: ObjectVersion) -> bool:
    """Whether ``obj`` is a definition the hub keeps (then nothing else is checked);
    raises if it changes one."""
    official = definitions.get(obj.id)
    if official is None:
        return False
    # A definition the hub keeps (TLP, the recipients extension) is accepted only as
    # published; its created_by_ref is its publisher's, not the writer's.
    if json.loads(obj.raw) != json.loads(official.raw):
        raise StixValidationError(
            f"{obj.id}: this id belongs to a definition the hub keeps as published by"
            " OASIS (or Kakehashi, for the recipients extension); a different text"
            " under it is refused",
            object_id=obj.id,
            prop="id",
        )
    return True


def compact(obj: ObjectVersion) -> Compact:
    """``obj`` as a plain tuple, to send between processes."""
    return (
        obj.id,
        obj.type,
        obj.spec_version,
        obj.version,
        obj.version_us,
        obj.created_by_ref,
        obj.marking_refs,
        obj.raw,
        None if obj.tlp is None else int(obj.tlp),
        tuple(obj.tlp_refs),
        obj.recipients,
    )


def expand(compacts: Sequence[Compact]) -> list[ObjectVersion]:
    """The ObjectVersions that :func:`compact` made tuples of."""
    out: list[ObjectVersion] = []
    for id_, type_, spec, version, version_us, by, refs, raw, tlp, tlp_refs, to in compacts:
        level = None if tlp is None else _TLP[tlp]
        out.append(
            ObjectVersion(
                id_, type_, spec, version, version_us, by, refs, raw, level, frozenset(tlp_refs), to
            )
        )
    return out


def check_received(raw_objects: Sequence[RawObject]) -> Checked | None:
    """Validate objects received from a peer exactly as :meth:`Ingest.received` does, with
    no configuration (so a worker process can do it): accepted objects as
    :func:`compact` tuples, refused ones as :data:`Refusal`. ``None`` when some object is a
    marking definition that claims to be TLP: which objects lean on it depends on the other
    pages stored in the same transaction, so :meth:`Ingest.received` must see them all."""
    if tlp_impostors(raw_objects):
        return None
    definitions = _official_definitions()
    accepted: list[Compact] = []
    rejected: list[Refusal] = []
    for index, item in enumerate(raw_objects):
        try:
            obj = validate_object(item.value, item.raw)
            # With no impostor and no claims to check (a peer's objects may name any
            # author), the definitions the hub keeps are the only write rule left.
            _is_official(definitions, obj)
        except StixValidationError as exc:
            rejected.append((index, *_identify(item.value), exc.reason))
            continue
        accepted.append(compact(obj))
    return accepted, rejected


class Ingest:
    """Checks objects for one writer and builds the :class:`WriteRequest` that stores them.

    Args:
        settings: the hub's configuration.
        policy: the sharing rules (who may claim which ``created_by_ref``).
        validate: checks one object; injectable so tests can count calls.
    """

    def __init__(
        self,
        settings: Settings,
        policy: Policy,
        *,
        validate: Callable[[object, str], ObjectVersion] = validate_object,
    ) -> None:
        self._settings = settings
        self._policy = policy
        self._validate = validate
        self._definitions = dict(_official_definitions())

    def request(
        self,
        collection: Collection,
        organization: str,
        raw_objects: Sequence[RawObject],
        *,
        account: str,
        request_us: int,
        detail: str,
    ) -> WriteRequest:
        """Validate ``raw_objects`` written by ``organization`` into ``collection``."""
        accepted, rejected = self._check_objects(collection, organization, raw_objects)
        return self._request(
            collection,
            organization,
            accepted,
            rejected,
            account=account,
            request_us=request_us,
            detail=detail,
        )

    def _request(
        self,
        collection: Collection,
        organization: str,
        accepted: list[ObjectVersion],
        rejected: list[StatusDetail],
        *,
        account: str,
        request_us: int,
        detail: str,
    ) -> WriteRequest:
        used_markings: set[str] = set()
        for obj in accepted:
            used_markings |= obj.tlp_refs
        needs_recipients = any(obj.recipients for obj in accepted)
        definitions = [
            self._definitions[d["id"]]
            for d in definition_objects(used_markings, recipients=needs_recipients)
        ]
        return WriteRequest(
            collection_id=collection.id,
            author=organization,
            objects=accepted,
            rejected=rejected,
            status_id=str(uuid.uuid4()),
            request_us=request_us,
            definitions=definitions,
            account=account,
            agreement=collection.agreement,
            detail=detail,
        )

    def received(
        self,
        collection: Collection,
        peer: Peer,
        remote_collection: str,
        raw_objects: Sequence[RawObject],
        *,
        request_us: int,
    ) -> WriteRequest:
        """Objects pulled from ``peer``: validated like any write, authored by the
        organisation their ``created_by_ref`` names when this hub knows it (so an object
        that comes back from a peer is recognised as the one already stored), else by the
        organisation that stands for the peer, and marked with their provenance."""
        accepted, rejected = self.check_received(collection, peer, raw_objects)
        return self.received_checked(
            collection, peer, remote_collection, accepted, rejected, request_us=request_us
        )

    def check_received(
        self,
        collection: Collection,
        peer: Peer,
        raw_objects: Sequence[RawObject],
        *,
        first_index: int = 0,
    ) -> tuple[list[ObjectVersion], list[StatusDetail]]:
        """The checks of :meth:`received`; refusals count from ``first_index``."""
        return self._check_objects(
            collection, peer.organization, raw_objects, claims_checked=False,
            first_index=first_index,
        )  # fmt: skip

    def received_checked(
        self,
        collection: Collection,
        peer: Peer,
        remote_collection: str,
        accepted: list[ObjectVersion],
        rejected: list[StatusDetail],
        *,
        request_us: int,
    ) -> WriteRequest:
        """:meth:`received` for objects already checked (by :meth:`check_received`, or
        by :func:`check_received` in a worker process)."""
        by_identity = {o.identity: o.key for o in self._settings.organizations}
        authors = [by_identity.get(obj.created_by_ref, peer.organization) for obj in accepted]
        request = self._request(
            collection,
            peer.organization,
            accepted,
            rejected,
            account=f"sync:{peer.name}",
            request_us=request_us,
            detail=f"pull from {peer.name}",
        )
        return replace(
            request,
            authors=authors,
            provenance=Provenance(peer.name, remote_collection, peer.receiver),
        )

    def _check_objects(
        self,
        collection: Collection,
        organization: str,
        raw_objects: Sequence[RawObject],
        *,
        claims_checked: bool = True,
        first_index: int = 0,
    ) -> tuple[list[ObjectVersion], list[StatusDetail]]:
        # Marking definitions in this envelope that pretend to be TLP: objects that lean
        # on them are refused too, not silently treated as unmarked.
        impostors = tlp_impostors(raw_objects)
        accepted: list[ObjectVersion] = []
        rejected: list[StatusDetail] = []
        for index, item in enumerate(raw_objects, first_index):
            try:
                obj = self._validate(item.value, item.raw)
                self._check_write_rules(
                    collection, organization, obj, item.value, impostors, claims_checked
                )
            except StixValidationError as exc:
                rejected.append(_rejected(index, item.value, exc))
                continue
            accepted.append(obj)
        return accepted, rejected

    def _check_write_rules(
        self,
        collection: Collection,
        organization: str,
        obj: ObjectVersion,
        value: object,
        impostors: set[str],
        claims_checked: bool = True,
    ) -> None:
        if _is_official(self._definitions, obj):
            return
        if (
            claims_checked
            and obj.created_by_ref
            and not self._policy.may_claim(organization, collection, obj.created_by_ref)
        ):
            own = self._settings.organization(organization).identity
            raise StixValidationError(
                f"{obj.id}: 'created_by_ref' is {obj.created_by_ref} but your organisation"
                f" writes as {own}; only an agreement's coordinator may post on behalf of"
                " another party",
                object_id=obj.id,
                prop="created_by_ref",
            )
        referenced = set(obj.marking_refs)
        granular = value.get("granular_markings") if isinstance(value, dict) else None
        if impostors and isinstance(granular, list):
            referenced |= {
                ref
                for g in granular
                if isinstance(g, dict) and isinstance(ref := g.get("marking_ref"), str)
            }
        fake = impostors.intersection(referenced)
        if fake:
            raise StixValidationError(
                f"{obj.id}: references {sorted(fake)[0]}, which claims to be TLP but is not an"
                " OASIS TLP marking definition",
                object_id=obj.id,
                prop="object_marking_refs",
            )
