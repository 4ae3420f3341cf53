"""Agreements and TLP 2.0 as code: who reads, who writes, and what each reader sees.

Pure and deny-by-default: :class:`Policy` is built once from the settings and answers
from them alone. Every TAXII path asks :meth:`Policy.access` for the collection and
:meth:`Policy.visibility` for the objects; the store applies the latter inside its SQL.

The rules (docs/agreements.md has the table):

- A collection with an ``agreement`` is read by its consumer and coordinator parties and
  their constituents (descendants through ``parent``), and written by its producer and
  coordinator parties. A collection with ``can_read``/``can_write`` treats its readers as
  parties with ceiling AMBER.
- CLEAR: every reader. GREEN: the community (every reader). AMBER: readers whose ceiling
  allows AMBER. AMBER+STRICT: parties themselves (not constituents) whose ceiling allows
  AMBER. RED: the recipients named on the object whose ceiling allows RED.
- An object that names recipients (the recipients extension) at any level is shown to
  those recipients whose ceiling allows its level (an AMBER ceiling admits AMBER+STRICT,
  since naming the organisation is what STRICT asks for) and to nobody else: that is how
  a CERT tells one operator about its own exposure.
- A reader's ceiling is its party's ceiling, lowered by its own ``ceiling`` and by the
  ceilings of the organisations between it and the party.
- The author's organisation always sees its own objects.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from kakehashi.config import Collection, Organization, Peer, Settings
from kakehashi.policy.access import Access
from kakehashi.stix.markings import Tlp
from kakehashi.stix.visibility import Visibility

__all__ = ["Policy", "Reader"]

_READING_ROLES = frozenset({"consumer", "coordinator"})
_WRITING_ROLES = frozenset({"producer", "coordinator"})


@dataclass(frozen=True, slots=True)
class Reader:
    """How an organisation reads one collection: its ceiling and whether it is a party."""

    ceiling: Tlp
    party: bool


class Policy:
    """The sharing rules of one hub configuration.

    Args:
        settings: the validated configuration.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._orgs: dict[str, Organization] = {o.key: o for o in settings.organizations}
        self._agreements = {a.key: a for a in settings.agreements}
        self._default_tlp = settings.hub.default_tlp

    # -- organisations ---------------------------------------------------------------

    def _chain(self, organization: str) -> list[Organization]:
        """The organisation, its parent, its parent's parent, ... (config forbids cycles)."""
        chain: list[Organization] = []
        current = self._orgs.get(organization)
        while current is not None:
            chain.append(current)
            current = self._orgs.get(current.parent) if current.parent else None
        return chain

    def reader(self, organization: str, collection: Collection) -> Reader | None:
        """How ``organization`` reads ``collection``, or ``None`` when it may not."""
        chain = self._chain(organization)
        if not chain:
            return None
        if collection.agreement:
            agreement = self._agreements[collection.agreement]
            # The nearest organisation in the chain that is a reading party decides.
            for depth, member in enumerate(chain):
                party = agreement.party(member.key)
                if party is None or not party.roles & _READING_ROLES:
                    continue
                ceiling = party.ceiling
                for lower in chain[: depth + 1]:
                    if lower.ceiling is not None:
                        ceiling = min(ceiling, lower.ceiling)
                return Reader(ceiling=ceiling, party=depth == 0)
            return None
        if organization not in collection.can_read:
            return None
        own = chain[0].ceiling
        return Reader(ceiling=Tlp.AMBER if own is None else min(Tlp.AMBER, own), party=True)

    def may_write(self, organization: str, collection: Collection) -> bool:
        if collection.agreement:
            party = self._agreements[collection.agreement].party(organization)
            return party is not None and bool(party.roles & _WRITING_ROLES)
        return organization in collection.can_write

    def access(self, organization: str, collection: Collection) -> Access:
        """What ``organization`` may do with ``collection`` as a whole."""
        return Access(
            can_read=self.reader(organization, collection) is not None,
            can_write=self.may_write(organization, collection),
        )

    # -- objects ----------------------------------------------------------------------

    def visibility(self, organization: str, collection: Collection) -> Visibility | None:
        """The objects of ``collection`` that ``organization`` may receive, or ``None``."""
        reader = self.reader(organization, collection)
        if reader is None:
            return None
        ceiling = reader.ceiling
        return Visibility(
            organization=organization,
            identity=self._orgs[organization].identity,
            open_level=min(ceiling, Tlp.AMBER),
            strict=reader.party and ceiling >= Tlp.AMBER,
            default_tlp=self._default_tlp,
            recipient_level=Tlp.AMBER_STRICT if ceiling == Tlp.AMBER else ceiling,
            lineage=tuple(o.key for o in self._chain(organization)),
        )

    def onward_visibility(self, peer: Peer, collection: Collection) -> Visibility | None:
        """What may be pushed from ``collection`` to ``peer``: what the organisation that
        stands for the peer's party may receive here, minus what came from that peer or
        was written by it, and minus what this hub received above GREEN (never re-shared
        to a third hub). ``None`` when that organisation may not read the collection."""
        visibility = self.visibility(peer.organization, collection)
        if visibility is None:
            return None
        return replace(visibility, onward_peer=peer.name, onward_author=peer.organization)

    def may_claim(self, organization: str, collection: Collection, created_by_ref: str) -> bool:
        """Whether a writer from ``organization`` may post an object whose
        ``created_by_ref`` is ``created_by_ref``: its own identity, or — for a coordinator
        of the collection's agreement — the identity of any party or constituent of it."""
        writer = self._orgs.get(organization)
        if writer is None:
            return False
        if created_by_ref == writer.identity:
            return True
        if not collection.agreement:
            return False
        agreement = self._agreements[collection.agreement]
        party = agreement.party(organization)
        if party is None or "coordinator" not in party.roles:
            return False
        members = {p.organization for p in agreement.parties}
        for org in self._orgs.values():
            if org.identity == created_by_ref:
                return any(o.key in members for o in self._chain(org.key))
        return False
