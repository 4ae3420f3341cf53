"""What the readers produce and the engine consumes: observations, and problems with input.

These two are ``NamedTuple`` rather than frozen dataclasses on purpose: readers create one
per log line, and a frozen dataclass's ``__init__`` (``object.__setattr__`` per field) costs
several times a tuple's on that path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

__all__ = ["SCO", "Observation", "Problem"]

#: One STIX Cyber-observable Object as parsed JSON (``{"type": "ipv4-addr", "value": …}``).
SCO = Mapping[str, Any]


class Observation(NamedTuple):
    """Objects seen together, at one time — one observed-data, or one log record.

    Attributes:
        objects: the SCOs by key; ``*_ref`` properties name other keys of this mapping
            (STIX ids for STIX input, ``"0"``, ``"1"``, … for logs).
        first_us: first_observed, epoch microseconds.
        last_us: last_observed, epoch microseconds (``>= first_us``).
        number: number_observed (1 for a log record).
        ref: the observed-data id, for a Sighting's ``observed_data_refs``; ``None`` for logs.
    """

    objects: Mapping[str, SCO]
    first_us: int
    last_us: int
    number: int = 1
    ref: str | None = None


class Problem(NamedTuple):
    """Input that could not be used.

    Attributes:
        source: file name or ``<stdin>``.
        line: 1-based line number, when the problem is on a line.
        reason: what is wrong.
        fatal: ``True`` when reading cannot go on (a truncated file, an unreadable one):
            the run stops there and writes what it matched so far.
    """

    source: str
    line: int | None
    reason: str
    fatal: bool = False
