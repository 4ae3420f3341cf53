"""Exposure engine (issue 6): which assets an advisory hits, and why. Pure; no I/O.

Modules, bottom up: ``errors``, ``versions`` (comparators, ranges), ``model`` (records),
``cve`` and ``kev`` (advisories in), ``inventory`` (assets in), ``matcher`` (exposures out).
"""

from __future__ import annotations

from kakehashi.advisories.errors import AdvisoryFormatError, CannotDecide, InventoryFormatError
from kakehashi.advisories.matcher import find_exposures

__all__ = ["AdvisoryFormatError", "CannotDecide", "InventoryFormatError", "find_exposures"]
