"""Probes: what the index looks up on one object path, and how.

A probe holds every anchor (:mod:`kakehashi.match.anchors`) on its path:

- ``exact``: normalised value → targets (``=``, ``IN``);
- ``addresses``: the ``ISSUBSET`` networks of each family, merged into sorted, disjoint
  ranges bucketed by the first 16 (IPv4) or 32 (IPv6) bits, so that an address costs a
  dictionary lookup and a binary search over a few ranges, however many networks there are
  (:class:`AddressIndex`);
- ``LIKE``: exact, prefix (``'abc%'``) and suffix (``'%.example.com'``) tables, other shapes
  as regexes behind a required substring;
- ``MATCHES``: regexes behind one combined gate regex of their required substrings;
- ``<``, ``<=``, ``>``, ``>=``: sorted thresholds, found with ``bisect``.

A *target* is an ``int``: ``t >= 0`` is an indicator whose whole pattern is that anchor (a
hit decides the match), ``t < 0`` is ``[…]`` number ``~t`` (see
:class:`kakehashi.match.compile.Leaf`).
"""

from __future__ import annotations

import bisect
import re
import socket
import unicodedata
from array import array
from collections.abc import Callable, Hashable, Iterator, Mapping
from typing import Any, TypeVar

from kakehashi.match.anchors import CIDR, EQ, LIKE, ORDER, Anchor, is_binary, static_keys
from kakehashi.match.ast import ObjectPath, Operator
from kakehashi.match.evaluate import MISSING, hash_entry, ip_value, like_regex, select
from kakehashi.match.normalise import Normaliser, value_normaliser
from kakehashi.match.observation import SCO
from kakehashi.match.parse import compile_regex

__all__ = [
    "MEMO_SIZE",
    "AddressIndex",
    "AddressRanges",
    "CTable",
    "Check",
    "Probe",
    "Target",
    "Targets",
    "addresses_containing",
    "remembered_containing",
    "required_literal",
]

Target = int
Targets = int | tuple[int, ...]
#: One of a probe's lookups beyond ``exact``: (value, hits) -> None, adds to hits.
Check = Callable[[Any, dict[Target, Any]], None]
_K = TypeVar("_K", bound=Hashable)
_AF = {32: socket.AF_INET, 128: socket.AF_INET6}
#: Addresses whose CIDR answer is remembered per probe before the memo starts over.
MEMO_SIZE = 1 << 16


def _add(table: dict[_K, Targets], key: _K, target: Target) -> None:
    old = table.get(key)
    if old is None:
        table[key] = target
    elif isinstance(old, int):
        if old != target:
            table[key] = (old, target)
    elif target not in old:
        table[key] = (*old, target)


def required_literal(regex: str) -> str | None:
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


Ranges = tuple[list[int], list[int], list[Targets]]
#: An IPv4 :class:`AddressIndex` as the compiled loop reads it (see :meth:`c_table`).
CTable = tuple[bytes | None, list[Targets] | None, bytes, bytes, list[Targets]]


def _segments(networks: list[tuple[int, int, Target]]) -> Ranges:
    """Networks ``(start, end, target)`` as sorted, disjoint ``[start, end]`` ranges, each
    with every target whose network covers it: a sweep over start and end events."""
    events: list[tuple[int, int, Target]] = []  # (position, +1 opens / -1 closes, target)
    for start, end, target in networks:
        events.append((start, 1, target))
        events.append((end + 1, -1, target))
    events.sort()
    starts: list[int] = []
    ends: list[int] = []
    targets: list[Targets] = []
    active: dict[Target, int] = {}
    i = 0
    while i < len(events):
        position = events[i][0]
        while i < len(events) and events[i][0] == position:
            _, delta, target = events[i]
            count = active.get(target, 0) + delta
            if count:
                active[target] = count
            else:
                active.pop(target, None)
            i += 1
        if active and i < len(events):
            starts.append(position)
            ends.append(events[i][0] - 1)
            keys = tuple(active)
            targets.append(keys[0] if len(keys) == 1 else keys)
    return starts, ends, targets


def _pairs(ranges: Ranges) -> array[int]:
    """Starts and ends interleaved (start, end, start, end, …), as native 32-bit numbers."""
    pairs = array("I")
    for start, end in zip(ranges[0], ranges[1], strict=True):
        pairs.append(start)
        pairs.append(end)
    return pairs


def _find(ranges: Ranges, number: int) -> Targets | None:
    starts, ends, targets = ranges
    i = bisect.bisect_right(starts, number) - 1
    if i >= 0 and number <= ends[i]:
        return targets[i]
    return None


class AddressIndex:
    """The ``ISSUBSET`` networks of one address family.

    Networks at least as long as the bucket prefix (/16 for IPv4, /32 for IPv6 — nearly all
    of a feed's) sit in the bucket of their first bits, as sorted disjoint ranges; the few
    wider ones in one list of their own. A lookup is a dict get and two short binary
    searches, where one search over a million ranges would chase pointers all over memory.
    """

    def __init__(self, bits: int, networks: list[tuple[int, int, Target]]) -> None:
        self.bits = bits
        self.family = _AF[bits]
        self.shift = bits - (16 if bits == 32 else 32)
        span = 1 << self.shift
        wide = [n for n in networks if n[1] - n[0] + 1 > span]
        by_bucket: dict[int, list[tuple[int, int, Target]]] = {}
        for network in networks:
            if network[1] - network[0] + 1 <= span:
                by_bucket.setdefault(network[0] >> self.shift, []).append(network)
        self.wide = _segments(wide) if wide else None
        self.buckets = {bucket: _segments(items) for bucket, items in by_bucket.items()}
        self._c_table: CTable | None = None

    def c_table(self) -> CTable:
        """This IPv4 index in the shape :mod:`kakehashi.match._scan` reads (built once):
        ``(wide pairs, wide targets, pairs, offsets, targets)``. Every bucket's ranges sit
        in one array of (start, end) pairs, in bucket order, and ``offsets`` (65,537
        numbers) says where each bucket's run starts: the C loop reads two or three cache
        lines per address where the buckets' own lists scatter over the heap."""
        if self.bits != 32:
            raise ValueError("only IPv4 indexes have a C table")
        if self._c_table is None:
            pairs = array("I")
            targets: list[Targets] = []
            offsets = array("I", [0])
            for bucket in range(1 << 16):
                ranges = self.buckets.get(bucket)
                if ranges is not None:
                    pairs.extend(_pairs(ranges))
                    targets.extend(ranges[2])
                offsets.append(len(targets))
            wide = self.wide
            self._c_table = (
                None if wide is None else _pairs(wide).tobytes(),
                None if wide is None else list(wide[2]),
                pairs.tobytes(),
                offsets.tobytes(),
                targets,
            )
        return self._c_table

    def lookup(self, number: int) -> Iterator[Target]:
        """The targets of every network containing the address ``number``."""
        for found in (
            _find(self.wide, number) if self.wide is not None else None,
            _find(ranges, number) if (ranges := self.buckets.get(number >> self.shift)) else None,
        ):
            if found is None:
                continue
            if isinstance(found, int):
                yield found
            else:
                yield from found


#: IPv4 index, IPv6 index, and a memo of answers per address text.
AddressRanges = tuple[AddressIndex | None, AddressIndex | None, dict[str, Any]]


def remembered_containing(ranges: AddressRanges, value: str) -> tuple[Target, ...]:
    """:func:`addresses_containing` through the probe's memo (addresses repeat a lot in
    real traffic; the memo starts over at :data:`MEMO_SIZE` addresses)."""
    memo = ranges[2]
    inside: tuple[Target, ...] | None = memo.get(value)
    if inside is None:
        inside = addresses_containing(ranges, value)
        if len(memo) >= MEMO_SIZE:
            memo.clear()
        memo[value] = inside
    return inside


def addresses_containing(ranges: AddressRanges, value: str) -> tuple[Target, ...]:
    """The targets of the networks that contain the address text ``value`` (none when it
    is not an address)."""
    index = ranges[1] if ":" in value else ranges[0]
    if index is None:
        return ()
    try:
        number = int.from_bytes(socket.inet_pton(index.family, value), "big")
    except (OSError, ValueError):
        return ()
    return tuple(index.lookup(number))


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
        self._networks: dict[int, list[tuple[int, int, Target]]] = {}
        #: Per family (32, 128): the ``ISSUBSET`` networks, see :class:`AddressIndex`.
        self.addresses: dict[int, AddressIndex] = {}
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
        #: The lookups beyond ``exact`` this probe needs, set by :meth:`finish`.
        self.checks: tuple[Callable[[Any, dict[Target, Any]], None], ...] = ()
        self.fast_checks: tuple[Callable[[Any, dict[Target, Any]], None], ...] = ()
        self.address_ranges: AddressRanges | None = None

    # building

    def add(self, anchor: Anchor, target: Target) -> None:
        if anchor.kind == EQ:
            _add(self.exact, anchor.payload, target)
            return
        self.more = True
        if anchor.kind == CIDR:
            bits, network, length = anchor.payload
            end = network + (1 << (bits - length)) - 1
            self._networks.setdefault(bits, []).append((network, end, target))
        elif anchor.kind == LIKE:
            self._add_like(anchor.payload, target)
        elif anchor.kind == ORDER:
            op, threshold = anchor.payload
            self._order_adds.append((op, threshold, target))
        else:
            text_regex, _ = compile_regex(anchor.payload)
            self.regexes.append((required_literal(anchor.payload), text_regex, target))

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
        """Freeze the tables for reading (called once, when the index is built)."""
        self.addresses = {bits: AddressIndex(bits, nets) for bits, nets in self._networks.items()}
        self._networks = {}
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
        checks: list[Callable[[Any, dict[Target, Any]], None]] = []
        if self.addresses:
            checks.append(self._cidr)
        if self.like_exact or self.like_prefix or self.like_suffix or self.like_other:
            checks.append(self._like_value)
        if self.regexes:
            checks.append(self._regex_value)
        if self.order:
            checks.append(self._order)
        self.checks = tuple(checks)
        # The engine's hot loop looks addresses up itself (memoised); networks as values
        # (with a "/") still go through _cidr_network.
        self.address_ranges = (
            (self.addresses.get(32), self.addresses.get(128), {}) if self.addresses else None
        )
        self.fast_checks = tuple(
            self._cidr_network if check == self._cidr else check for check in checks
        )

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
        for check in self.checks:
            check(value, hits)

    def _cidr(self, value: Any, hits: dict[Target, Any]) -> None:
        if type(value) is not str:
            return
        if "/" in value:
            self._cidr_network(value, hits)
            return
        assert self.address_ranges is not None
        for target in addresses_containing(self.address_ranges, value):
            hits.setdefault(target, value)

    def _cidr_network(self, value: Any, hits: dict[Target, Any]) -> None:
        """A network value (``10.1.0.0/16``): the literal networks holding both its first
        and its last address hold all of it (networks are aligned blocks)."""
        if type(value) is not str or "/" not in value:
            return
        seen = ip_value(value)
        if seen is None:
            return
        bits, number, length = seen
        index = self.addresses.get(bits)
        if index is None:
            return
        shift = bits - length
        first = (number >> shift) << shift
        last = first + (1 << shift) - 1
        for target in set(index.lookup(first)) & set(index.lookup(last)):
            hits.setdefault(target, value)

    def _like_value(self, value: Any, hits: dict[Target, Any]) -> None:
        if type(value) is str:
            self._like(_nfc(value), hits)

    def _regex_value(self, value: Any, hits: dict[Target, Any]) -> None:
        if type(value) is str:
            self._regex(_nfc(value), hits)

    def _order(self, value: Any, hits: dict[Target, Any]) -> None:
        kind = type(value)
        if kind is int or kind is float or kind is str:
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
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def _fire(found: Targets, value: Any, hits: dict[Target, Any]) -> None:
    if isinstance(found, int):
        hits.setdefault(found, value)
    else:
        for target in found:
            hits.setdefault(target, value)


#: A probe of one plain property, unpacked for the hot loop: the property, its
#: normalisation rule (or the rule for values with a "/" only), the exact table, the CIDR
#: ranges per family and the other lookups.
