"""Compile indicators into an :class:`Index` of probes (:mod:`kakehashi.match.probe`).

Only indicators that are usable now are compiled: the latest version of each id, not
revoked, ``valid_from <= now < valid_until``, ``pattern_type`` ``stix``. The others are
kept as *skipped*, with the reason, for the summary; a pattern that does not parse is one
of those reasons and never stops a run.

An indicator whose pattern is exactly its anchors — ``[ipv4-addr:value = '…']`` and the
like, nearly all of a feed — costs one table entry: the anchor's target is the indicator's
slot. The others are compiled into :class:`Leaf` objects (one per distinct ``[…]``) and,
when they span observations, a temporal tree (:mod:`kakehashi.match.temporal`). Ids are
kept 16 bytes each (:class:`IndicatorIds`), so a million indicators stay within ~250 MB.
"""

from __future__ import annotations

import enum
from array import array
from collections import Counter
from collections.abc import Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from kakehashi.match.anchors import (
    PathKey,
    anchors_of,
    is_disjunction,
    path_key,
    types_of,
)
from kakehashi.match.ast import ObjectPath, ObservationLeaf, Pattern
from kakehashi.match.errors import PatternSyntaxError
from kakehashi.match.evaluate import RootsOf, compile_expression
from kakehashi.match.normalise import Normaliser, ipv4_value
from kakehashi.match.parse import parse
from kakehashi.match.probe import AddressRanges, Check, Probe, Target, Targets
from kakehashi.match.temporal import TemporalNode, temporal_tree
from kakehashi.stix.timestamps import parse_timestamp_us

__all__ = [
    "FastProbe",
    "Index",
    "IndexBuilder",
    "IndicatorIds",
    "Leaf",
    "Skipped",
    "Status",
    "TypePlan",
]


class Status(enum.IntEnum):
    """What became of an indicator version."""

    COMPILED = 0
    REVOKED = 1
    EXPIRED = 2
    NOT_YET_VALID = 3
    UNSUPPORTED = 4
    INVALID = 5

    @property
    def label(self) -> str:
        return self.name.lower().replace("_", " ")


@dataclass(frozen=True, slots=True)
class Skipped:
    """An indicator that was not compiled, and why."""

    indicator_id: str
    status: Status
    reason: str


FastProbe = tuple[
    str,
    Normaliser | None,
    Normaliser | None,
    dict[Hashable, Targets],
    AddressRanges | None,
    tuple[Check, ...],
]


@dataclass(slots=True)
class TypePlan:
    """What to do with an object of one type: its probes, and the ``[…]`` to evaluate on
    every object of the type (those without anchors).

    Attributes:
        probes: every probe of the type.
        fast: the probes that read one plain property, unpacked (see :data:`FastProbe`).
        slow: the others (nested properties, references, lists).
        scan: ``[…]`` targets to evaluate on each object of the type.
    """

    probes: tuple[Probe, ...] = ()
    scan: tuple[Target, ...] = ()
    fast: tuple[FastProbe, ...] = ()
    slow: tuple[Probe, ...] = ()
    #: Whether there are ``slow`` probes or ``scan`` targets (one test in the hot loop).
    extra: bool = False

    @classmethod
    def of(cls, probes: tuple[Probe, ...], scan: tuple[Target, ...]) -> TypePlan:
        # ipv4-addr:value's rule only changes networks ("/"): the hot loop calls it for
        # those alone (the second rule slot), sparing a call per address.
        fast = tuple(
            (
                p.key1,
                None if p.rule is ipv4_value else p.rule,
                ipv4_value if p.rule is ipv4_value else None,
                p.exact,
                p.address_ranges,
                p.fast_checks,
            )
            for p in probes
            if p.key1 is not None
        )
        slow = tuple(p for p in probes if p.key1 is None)
        return cls(probes, scan, fast, slow, bool(slow or scan))


@dataclass(slots=True)
class Leaf:
    """One distinct ``[…]`` of the compiled patterns.

    Attributes:
        roots: the evaluator, or ``None`` when any anchor firing decides the ``[…]``.
        consumers: ``(indicator slot, mask)``: mask ``0`` when the ``[…]`` is the
            indicator's whole pattern, else the bits of its positions in the pattern.
        text: the ``[…]`` as pattern text.
    """

    roots: RootsOf | None
    consumers: list[tuple[int, int]]
    text: str


class IndicatorIds:
    """Indicator ids by slot: 16 bytes each for ``indicator--<uuid>`` (lower case), the
    text itself for any other spelling. A list of strings would cost ~100 bytes each."""

    def __init__(self) -> None:
        self._raw = bytearray()
        self._other: dict[int, str] = {}

    @staticmethod
    def compact(indicator_id: str) -> bytes | None:
        """The 16 bytes of a canonical ``indicator--<uuid>``, else ``None``."""
        if len(indicator_id) != 47 or not indicator_id.startswith("indicator--"):
            return None
        try:
            raw = bytes.fromhex(indicator_id[11:].replace("-", ""))
        except ValueError:
            return None
        return raw if len(raw) == 16 and IndicatorIds._text(raw) == indicator_id else None

    @staticmethod
    def _text(raw: bytes) -> str:
        h = raw.hex()
        return f"indicator--{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def append(self, indicator_id: str, raw: bytes | None = None) -> int:
        """Add an id (``raw``: its :meth:`compact` form, when the caller has it)."""
        slot = len(self)
        raw = raw or self.compact(indicator_id)
        if raw is None:
            self._other[slot] = indicator_id
            raw = bytes(16)
        self._raw += raw
        return slot

    def __len__(self) -> int:
        return len(self._raw) // 16

    def __getitem__(self, slot: int) -> str:
        if slot in self._other:
            return self._other[slot]
        if not 0 <= slot < len(self):
            raise IndexError(slot)
        return self._text(bytes(self._raw[slot * 16 : slot * 16 + 16]))

    def __iter__(self) -> Iterator[str]:
        return (self[slot] for slot in range(len(self)))


@dataclass(slots=True)
class Index:
    """Compiled indicators, ready for :class:`kakehashi.match.engine.Matcher`.

    Indicators are numbered by *slot*. Only the latest version of an id keeps
    ``alive[slot] == 1``; the others stay in the tables but never fire.
    """

    ids: IndicatorIds
    alive: bytearray
    status: bytearray
    reasons: dict[int, str]
    plans: dict[str, TypePlan]
    leaves: list[Leaf]
    compound: dict[int, TemporalNode]
    objects_read: int = 0
    versions_read: int = 0
    #: The plans as the compiled loop reads them (with its filters and flat tables):
    #: built by the first :class:`~kakehashi.match.engine.Matcher` that needs them.
    c_plans: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    def counts(self) -> Counter[Status]:
        """How many indicators (latest versions) ended in each status."""
        return Counter(Status(self.status[s]) for s in range(len(self.ids)) if self.alive[s])

    def skipped(self) -> list[Skipped]:
        """The latest versions that were not compiled, with their reasons."""
        return [
            Skipped(self.ids[s], Status(self.status[s]), self.reasons.get(s, ""))
            for s in range(len(self.ids))
            if self.alive[s] and self.status[s] != Status.COMPILED
        ]

    @property
    def compiled(self) -> int:
        return sum(1 for s in range(len(self.ids)) if self.alive[s] and not self.status[s])


class IndexBuilder:
    """Collects indicators (any STIX objects; the rest are ignored) into an :class:`Index`.

    Args:
        now_us: the instant validity is judged at (epoch microseconds).

    Example::

        >>> builder = IndexBuilder(now_us=now_us())
        >>> for obj in objects:
        ...     builder.add(obj)
        >>> index = builder.build()
    """

    def __init__(self, *, now_us: int) -> None:
        self.now_us = now_us
        self._latest: dict[bytes | str, int] = {}
        self._modified = array("q")
        self._ids = IndicatorIds()
        self._alive = bytearray()
        self._status = bytearray()
        self._reasons: dict[int, str] = {}
        self._probes: dict[PathKey, Probe] = {}
        self._scan: dict[str, list[Target]] = {}
        self._leaves: list[Leaf] = []
        self._leaf_ids: dict[str, int] = {}
        self._compound: dict[int, TemporalNode] = {}
        self._objects = 0
        self._versions = 0

    def add_all(self, objects: Iterable[Mapping[str, Any]]) -> None:
        for obj in objects:
            self.add(obj)

    def add(self, obj: Mapping[str, Any]) -> None:
        """Take one STIX object; indicators are compiled (or recorded as skipped)."""
        self._objects += 1
        if not isinstance(obj, Mapping) or obj.get("type") != "indicator":
            return
        indicator_id = obj.get("id")
        if not isinstance(indicator_id, str):
            return
        self._versions += 1
        try:
            modified = parse_timestamp_us(str(obj.get("modified", obj.get("created", ""))))
        except ValueError:
            modified = -1
        raw = IndicatorIds.compact(indicator_id)
        key = raw or indicator_id
        previous = self._latest.get(key)
        if previous is not None:
            if modified <= self._modified[previous]:
                return  # an older (or the same) version
            self._alive[previous] = 0
        slot = self._ids.append(indicator_id, raw)
        self._latest[key] = slot
        self._modified.append(modified)
        self._alive.append(1)
        status, reason = self._compile(slot, obj)
        self._status.append(status)
        if reason:
            self._reasons[slot] = reason

    def _compile(self, slot: int, obj: Mapping[str, Any]) -> tuple[Status, str]:
        if obj.get("revoked") is True:
            return Status.REVOKED, ""
        pattern_type = obj.get("pattern_type", "stix")
        if pattern_type != "stix":
            return Status.UNSUPPORTED, f"pattern_type {pattern_type!r} is not STIX patterning"
        try:
            valid_from = obj.get("valid_from")
            if isinstance(valid_from, str) and parse_timestamp_us(valid_from) > self.now_us:
                return Status.NOT_YET_VALID, f"valid from {valid_from}"
            valid_until = obj.get("valid_until")
            if isinstance(valid_until, str) and parse_timestamp_us(valid_until) <= self.now_us:
                return Status.EXPIRED, f"valid until {valid_until}"
        except ValueError as exc:
            return Status.INVALID, str(exc)
        text = obj.get("pattern")
        if not isinstance(text, str):
            return Status.INVALID, "no pattern"
        try:
            pattern = parse(text)
        except PatternSyntaxError as exc:
            return Status.INVALID, f"pattern does not parse: {exc}"
        self._index(slot, pattern)
        return Status.COMPILED, ""

    def _probe(self, path: ObjectPath) -> Probe:
        key = path_key(path)
        probe = self._probes.get(key)
        if probe is None:
            probe = self._probes[key] = Probe(path)
        return probe

    def _index(self, slot: int, pattern: Pattern) -> None:
        root = pattern.root
        if isinstance(root, ObservationLeaf) and is_disjunction(root.expression):
            anchors = anchors_of(root.expression)
            if anchors is not None and all(a.exact for a in anchors):
                for anchor in anchors:
                    self._probe(anchor.path).add(anchor, slot)
                return
        simple = isinstance(root, ObservationLeaf)
        if not simple:
            self._compound[slot] = temporal_tree(root)
        for position, leaf in enumerate(pattern.leaves()):
            leaf_id = self._leaf(leaf)
            consumers = self._leaves[leaf_id].consumers
            mask = 0 if simple else 1 << position
            if consumers and consumers[-1][0] == slot:
                consumers[-1] = (slot, consumers[-1][1] | mask)
            else:
                consumers.append((slot, mask))

    def _leaf(self, leaf: ObservationLeaf) -> int:
        text = str(leaf.expression)
        leaf_id = self._leaf_ids.get(text)
        if leaf_id is not None:
            return leaf_id
        expression = leaf.expression
        anchors = anchors_of(expression)
        pure = anchors is not None and is_disjunction(expression) and all(a.exact for a in anchors)
        leaf_id = len(self._leaves)
        self._leaf_ids[text] = leaf_id
        roots = None if pure else compile_expression(expression)
        self._leaves.append(Leaf(roots, [], text))
        target = ~leaf_id
        if anchors is None:
            for object_type in types_of(expression):
                self._scan.setdefault(object_type, []).append(target)
        else:
            for anchor in anchors:
                self._probe(anchor.path).add(anchor, target)
        return leaf_id

    def build(self) -> Index:
        """The index; the builder must not be used afterwards."""
        plans: dict[str, TypePlan] = {}
        by_type: dict[str, list[Probe]] = {}
        for (object_type, _), probe in self._probes.items():
            probe.finish()
            by_type.setdefault(object_type, []).append(probe)
        for object_type in set(by_type) | set(self._scan):
            plans[object_type] = TypePlan.of(
                tuple(by_type.get(object_type, ())), tuple(self._scan.get(object_type, ()))
            )
        self._latest = {}  # only needed while versions arrive
        return Index(
            ids=self._ids,
            alive=self._alive,
            status=self._status,
            reasons=self._reasons,
            plans=plans,
            leaves=self._leaves,
            compound=self._compound,
            objects_read=self._objects,
            versions_read=self._versions,
        )
