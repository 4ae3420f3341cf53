"""The ``Visibility`` record: what one viewer may see in one collection.

``policy`` decides it (one function, :func:`kakehashi.policy.Policy.visibility`); ``store``
turns it into a SQL predicate applied inside every read query, so pages, ``more``, ``next``,
headers, 404s and exports all see the same filtered world.
"""

from __future__ import annotations

from dataclasses import dataclass

from kakehashi.stix.markings import Tlp

__all__ = ["Visibility"]


@dataclass(frozen=True, slots=True)
class Visibility:
    """One viewer's view of one collection.

    Attributes:
        organization: the viewer's organisation key; its own objects are always visible.
        identity: the viewer's STIX identity id, matched against the recipients an object
            names with the recipients extension.
        open_level: the highest of CLEAR/GREEN/AMBER the viewer receives.
        strict: whether AMBER+STRICT objects are visible (a party itself, ceiling >= AMBER).
        recipient_level: the highest level of an object that names the viewer as a
            recipient which the viewer may receive: its ceiling, where an AMBER ceiling
            also admits AMBER+STRICT (naming the organisation is what STRICT asks for).
            An object that names recipients is shown to them (and its author) only.
        default_tlp: the level of objects that carry no TLP marking.
        lineage: the viewer and the organisations above it (parent, grandparent, ...):
            objects received from a peer at AMBER are shown only to their receiving
            organisation and its constituents, AMBER+STRICT to the receiver alone.
        onward_peer: set when the viewer is a peer hub being pushed to (its name): objects
            received from peers go onward only at GREEN or below, never back to where they
            came from.
        onward_author: the organisation that stands for that peer; what it wrote is never
            sent back to it.
        everything: no filtering at all (the operator's own export and the audit tools).
    """

    organization: str
    identity: str
    open_level: Tlp
    strict: bool
    default_tlp: Tlp
    recipient_level: Tlp = Tlp.CLEAR
    lineage: tuple[str, ...] = ()
    onward_peer: str = ""
    onward_author: str = ""
    everything: bool = False

    @classmethod
    def all_objects(cls) -> Visibility:
        """No filter: for the operator's tools, never for a request."""
        return cls("", "", Tlp.AMBER, True, Tlp.AMBER, Tlp.RED, everything=True)
