"""Exposure engine (issue 6): which assets an advisory hits, and why. Pure; no I/O.

Modules, bottom up: ``errors``, ``versions`` and ``vers`` (comparators, ranges), ``model``
(records), ``matcher`` (exposures), advisories in from ``cve``, ``csaf`` (with
``csaf_tree``), ``kev`` and ``from_stix``, assets in from ``inventory``, exposures out as
STIX by ``as_stix``, and ``serial`` (records to and from the hub database's rows).
"""

from __future__ import annotations

from kakehashi.advisories.errors import AdvisoryFormatError, CannotDecide, InventoryFormatError
from kakehashi.advisories.matcher import find_exposures

__all__ = ["AdvisoryFormatError", "CannotDecide", "InventoryFormatError", "find_exposures"]
