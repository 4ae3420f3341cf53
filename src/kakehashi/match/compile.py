"""Compile indicators into an :class:`Index`: hash maps, prefix tables and regex sets.

Only indicators that are usable now are compiled: the latest version of each id, not
revoked, ``valid_from <= now < valid_until``, ``pattern_type`` ``stix``. The others are
kept as *skipped*, with the reason, for the summary; a pattern that does not parse is one
of those reasons and never stops a run.

Per object type, the index holds *probes*, one per object path that some indicator reads:

- ``exact``: normalised value → targets (``=``, ``IN``);
- ``cidr``: per address family, per prefix length, network → targets (``ISSUBSET``):
  at most 33 (IPv4) or 129 (IPv6) dictionary lookups per address, in practice the handful
  of prefix lengths a feed uses;
- ``LIKE``: exact, prefix (``'abc%'``) and suffix (``'%.example.com'``) tables, other
  shapes as regexes behind a required-substring test;
- ``MATCHES``: regexes behind one combined gate regex of their required substrings;
- ``<``, ``<=``, ``>``, ``>=``: sorted thresholds, found with ``bisect``.

A *target* is an ``int``: ``t >= 0`` is an indicator whose whole pattern is that anchor
(the match is decided), ``t < 0`` is ``[…]`` number ``~t`` (see :class:`Leaf`). A million
``[ipv4-addr:value = '…']`` indicators cost one dict entry and one id string each.
"""

from __future__ import annotations

import bisect
import enum
import re
from array import array
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from kakehashi.match.anchors import (
    CIDR,
    EQ,
    LIKE,
    ORDER,
    Anchor,
    PathKey,
    anchors_of,
    is_binary,
    is_disjunction,
    path_key,
    static_keys,
    types_of,
)
from kakehashi.match.ast import ObjectPath, ObservationLeaf, Operator, Pattern
from kakehashi.match.errors import PatternSyntaxError
from kakehashi.match.evaluate import (
    MISSING,
    RootsOf,
    compile_expression,
    hash_entry,
    ip_value,
    like_regex,
    select,
)
from kakehashi.match.normalise import Normaliser, value_normaliser
from kakehashi.match.observation import SCO
from kakehashi.match.parse import compile_regex, parse
from kakehashi.match.temporal import TemporalNode, temporal_tree
from kakehashi.stix.timestamps import parse_timestamp_us

__all__ = ["Index", "IndexBuilder", "Leaf", "Probe", "Skipped", "Status", "TypePlan"]

Target = int
Targets = int | tuple[int, ...]
_K = TypeVar("_K", bound=Hashable)


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


def _add(table: dict[_K, Targets], key: _K, target: Target) -> None:
    old = table.get(key)
    if old is None:
        table[key] = target
    elif isinstance(old, int):
        if old != target:
            table[key] = (old, target)
    elif target not in old:
        table[key] = (*old, target)


def _required_literal(regex: str) -> str | None:
    """A substring every match of ``regex`` contains (the longest plain run outside groups
    and before any optional part), or ``None`` when there is none of three characters or
    more, or the regex is too clever (alternation, inline flags) for this simple reading."""
    if "|" in regex or "(?" in regex:
        return None
    runs: list[str] = []
    run, depth, i = "", 0, 0
    while i < len(regex):
        c = regex[i]
        if c == "\\":
            escaped = regex[i + 1 : i + 2]
            if escaped and not escaped.isalnum() and depth == 0:
                run += escaped
            else:
                runs.append(run)
                run = ""
            i += 2
            continue
        if c in "*?{":  # the atom before is optional: drop it from the run
            runs.append(run[:-1])
            run = ""
            if c == "{":
                close = regex.find("}", i)
                i = close if close >= 0 else i
        elif c == "[":
            runs.append(run)
            run = ""
            j = i + 1
            j += regex[j : j + 1] == "^"
            j += regex[j : j + 1] == "]"
            close = regex.find("]", j)
            if close < 0:
                return None
            i = close
        elif c in "()+.^$":
            runs.append(run)
            run = ""
            depth += (c == "(") - (c == ")")
        elif depth == 0:
            run += c
        i += 1
    runs.append(run)
    best = max(runs, key=len)
    return best if len(best) >= 3 else None


class Probe:
    """Everything the index looks up on one object path of one object type."""

    def __init__(self, path: ObjectPath) -> None:
        self.path = path
        self.keys = static_keys(path)
        self.binary = is_binary(path)
        plain = self.keys is not None and len(self.keys) == len(path.steps) and not self.binary
        #: The properties read, when the path only steps into dictionaries of its object.
        self.walk = self.keys if plain else None
        #: The one property read, when the path is a single plain property (the hot case).
        self.key1 = self.walk[0] if self.walk is not None and len(self.walk) == 1 else None
        self.rule: Normaliser | None = (
            value_normaliser(path.object_type, self.keys) if self.keys is not None else None
        )
        self.exact: dict[Hashable, Targets] = {}
        self.cidr: dict[int, dict[int, dict[int, Targets]]] = {}
        self.cidr_lengths: dict[int, list[int]] = {}
        self.like_exact: dict[str, Targets] = {}
        self.like_prefix: dict[int, dict[str, Targets]] = {}
        self.like_suffix: dict[int, dict[str, Targets]] = {}
        self.like_other: list[tuple[str, re.Pattern[str], Target]] = []
        self.regexes: list[tuple[str | None, re.Pattern[str], Target]] = []
        self.gate: re.Pattern[str] | None = None
        self._order_adds: list[tuple[Operator, Any, Target]] = []
        self.order: list[tuple[Operator, bool, list[Any], list[Target]]] = []
        #: Whether anything beyond ``exact`` is indexed (the hot loop skips the rest).
        self.more = False

    # building

    def add(self, anchor: Anchor, target: Target) -> None:
        if anchor.kind == EQ:
            _add(self.exact, anchor.payload, target)
            return
        self.more = True
        if anchor.kind == CIDR:
            bits, network, length = anchor.payload
            table = self.cidr.setdefault(bits, {}).setdefault(length, {})
            _add(table, network >> (bits - length), target)
        elif anchor.kind == LIKE:
            self._add_like(anchor.payload, target)
        elif anchor.kind == ORDER:
            op, threshold = anchor.payload
            self._order_adds.append((op, threshold, target))
        else:
            text_regex, _ = compile_regex(anchor.payload)
            self.regexes.append((_required_literal(anchor.payload), text_regex, target))

    def _add_like(self, like: str, target: Target) -> None:
        body = like.strip("%")
        plain = "%" not in body and "_" not in body
        if plain and "%" not in like:
            _add(self.like_exact, like, target)
        elif plain and like == body + "%":
            _add(self.like_prefix.setdefault(len(body), {}), body, target)
        elif plain and like == "%" + body:
            _add(self.like_suffix.setdefault(len(body), {}), body, target)
        else:
            runs = [r for r in re.split(r"[%_]", like) if r]
            self.like_other.append((max(runs, key=len, default=""), like_regex(like), target))

    def finish(self) -> None:
        for bits, tables in self.cidr.items():
            self.cidr_lengths[bits] = sorted(tables)
        literals = [lit for lit, _, _ in self.regexes if lit is not None]
        if literals and all(lit is not None for lit, _, _ in self.regexes):
            self.gate = re.compile("|".join(re.escape(lit) for lit in sorted(set(literals))))
        groups: dict[tuple[Operator, bool], list[tuple[Any, Target]]] = {}
        for op, threshold, target in self._order_adds:
            groups.setdefault((op, isinstance(threshold, str)), []).append((threshold, target))
        self.order = []
        for (op, textual), items in groups.items():
            items.sort(key=lambda item: item[0])
            self.order.append((op, textual, [t for t, _ in items], [g for _, g in items]))
        self._order_adds = []

    # reading

    def values(self, obj: SCO, objects: Mapping[str, SCO]) -> list[tuple[Any, Normaliser | None]]:
        """The values this path selects from ``obj``, each with its normalisation rule."""
        if self.walk is not None:
            value: Any = obj
            previous = ""
            for key in self.walk:
                if not isinstance(value, Mapping):
                    return []
                value = hash_entry(value, key) if previous == "hashes" else value.get(key)
                if value is None or value is MISSING:
                    return []
                previous = key
            return [(value, self.rule)]
        return [
            (v, value_normaliser(owner, keys)) for v, owner, keys in select(self.path, obj, objects)
        ]

    def lookup_more(self, value: Any, hits: dict[Target, Any]) -> None:
        """Fire the non-``exact`` anchors for one value into ``hits`` (target → value)."""
        kind = type(value)
        if kind is str:
            if self.cidr:
                address = ip_value(value) if value[:1].isdigit() or ":" in value else None
                if address is not None:
                    bits, number, length = address
                    tables = self.cidr.get(bits)
                    if tables is not None:
                        for prefix in self.cidr_lengths[bits]:
                            if prefix > length:
                                break
                            found = tables[prefix].get(number >> (bits - prefix))
                            if found is not None:
                                _fire(found, value, hits)
            text = value
            if self.like_exact or self.like_prefix or self.like_suffix or self.like_other:
                text = _nfc(value)
                self._like(text, hits)
            if self.regexes:
                self._regex(_nfc(text), hits)
        if self.order and (kind is int or kind is float or kind is str):
            textual = kind is str
            for op, for_text, keys, targets in self.order:
                if for_text != textual:
                    continue
                if op is Operator.GT:
                    chosen = targets[: bisect.bisect_left(keys, value)]
                elif op is Operator.GE:
                    chosen = targets[: bisect.bisect_right(keys, value)]
                elif op is Operator.LT:
                    chosen = targets[bisect.bisect_right(keys, value) :]
                else:
                    chosen = targets[bisect.bisect_left(keys, value) :]
                for target in chosen:
                    hits.setdefault(target, value)

    def _like(self, text: str, hits: dict[Target, Any]) -> None:
        found = self.like_exact.get(text)
        if found is not None:
            _fire(found, text, hits)
        for length, table in self.like_prefix.items():
            if len(text) >= length:
                found = table.get(text[:length])
                if found is not None:
                    _fire(found, text, hits)
        for length, table in self.like_suffix.items():
            if len(text) >= length:
                found = table.get(text[len(text) - length :])
                if found is not None:
                    _fire(found, text, hits)
        for literal, regex, target in self.like_other:
            if literal in text and regex.fullmatch(text) is not None:
                hits.setdefault(target, text)

    def _regex(self, text: str, hits: dict[Target, Any]) -> None:
        if self.gate is not None and self.gate.search(text) is None:
            return
        for literal, regex, target in self.regexes:
            if (literal is None or literal in text) and regex.search(text) is not None:
                hits.setdefault(target, text)


def _nfc(text: str) -> str:
    if text.isascii():
        return text
    import unicodedata

    return unicodedata.normalize("NFC", text)


def _fire(found: Targets, value: Any, hits: dict[Target, Any]) -> None:
    if isinstance(found, int):
        hits.setdefault(found, value)
    else:
        for target in found:
            hits.setdefault(target, value)


@dataclass(slots=True)
class TypePlan:
    """What to do with an object of one type: its probes, and the ``[…]`` to evaluate on
    every object of the type (those without anchors)."""

    probes: tuple[Probe, ...] = ()
    scan: tuple[Target, ...] = ()


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


@dataclass(slots=True)
class Index:
    """Compiled indicators, ready for :class:`kakehashi.match.engine.Matcher`.

    Indicators are numbered by *slot*. Only the latest version of an id keeps
    ``alive[slot] == 1``; the others stay in the tables but never fire.
    """

    ids: list[str]
    alive: bytearray
    status: bytearray
    reasons: dict[int, str]
    plans: dict[str, TypePlan]
    leaves: list[Leaf]
    compound: dict[int, TemporalNode]
    objects_read: int = 0
    versions_read: int = 0

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
        self._latest: dict[str, int] = {}
        self._modified = array("q")
        self._ids: list[str] = []
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
        previous = self._latest.get(indicator_id)
        if previous is not None:
            if modified <= self._modified[previous]:
                return  # an older (or the same) version
            self._alive[previous] = 0
        slot = len(self._ids)
        self._ids.append(indicator_id)
        self._latest[indicator_id] = slot
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
            plans[object_type] = TypePlan(
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
