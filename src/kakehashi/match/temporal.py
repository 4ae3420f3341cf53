"""Observation expressions across observations: AND, OR, FOLLOWEDBY, WITHIN, REPEATS, START/STOP.

A pattern with more than one ``[…]``, or with a qualifier, is decided over a set of
*candidates*: the observations on which at least one of its ``[…]`` held, each with its
time interval, its ``number_observed`` and a bit per ``[…]`` it satisfied. The question is
whether a *binding* exists — observations assigned to the pattern's ``[…]`` — that
satisfies it. The rules (STIX 2.1 part 9.5, as stix2-matcher implements them):

- an observation with ``number_observed = n`` may be bound up to ``n`` times, and the
  operands of ``AND``, ``FOLLOWEDBY`` and ``REPEATS`` need disjoint bindings;
- ``a FOLLOWEDBY b``: every observation of ``b`` may have been seen no earlier than every
  one of ``a`` (the latest ``first_observed`` of ``a`` ≤ the earliest ``last_observed`` of ``b``);
- ``WITHIN s SECONDS``: one window of ``s`` seconds meets every observation's interval
  (latest first ≤ earliest last + s);
- ``START t1 STOP t2``: every observation's interval meets ``[t1, t2)``.

The search is depth first with the constraints pushed down (a lower bound on
``last_observed`` for what follows, the START/STOP window), candidates sorted by time, and
``REPEATS`` made order-free, so it is fast for the patterns feeds carry. It is still a
search: a ``budget`` of steps bounds it, and the result says when it ran out.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from kakehashi.match.ast import (
    FollowedBy,
    ObservationExpression,
    ObservationGroup,
    ObservationLeaf,
    ObservationOr,
    Repeats,
    StartStop,
    Within,
)

__all__ = [
    "Binding",
    "Candidate",
    "SearchBudgetExceeded",
    "SearchResult",
    "TemporalNode",
    "find_bindings",
    "temporal_tree",
]

_FAR_PAST = -(2**63)
_FAR_FUTURE = 2**63


class Candidate(NamedTuple):
    """An observation that satisfied some ``[…]`` of a pattern.

    Attributes:
        first_us, last_us: its interval.
        available: how many times it may still be bound (``number_observed``, less what
            earlier matches used).
        mask: bit ``k`` set when it satisfied the pattern's ``k``-th ``[…]``.
        ref: its observed-data id, if any.
        example: a value that made it a candidate, for the summary.
    """

    first_us: int
    last_us: int
    available: int
    mask: int
    ref: str | None = None
    example: str = ""


@dataclass(frozen=True, slots=True)
class TLeaf:
    position: int


@dataclass(frozen=True, slots=True)
class TAll:
    """AND (``ordered=False``) or FOLLOWEDBY (``ordered=True``)."""

    operands: tuple[TemporalNode, ...]
    ordered: bool


@dataclass(frozen=True, slots=True)
class TAny:
    operands: tuple[TemporalNode, ...]


@dataclass(frozen=True, slots=True)
class TWithin:
    operand: TemporalNode
    micros: int


@dataclass(frozen=True, slots=True)
class TRepeats:
    operand: TemporalNode
    times: int


@dataclass(frozen=True, slots=True)
class TStartStop:
    operand: TemporalNode
    start_us: int
    stop_us: int


TemporalNode = TLeaf | TAll | TAny | TWithin | TRepeats | TStartStop


def temporal_tree(root: ObservationExpression) -> TemporalNode:
    """The observation-level structure of a pattern; ``[…]`` numbered left to right."""
    counter = iter(range(1 << 30))

    def build(node: ObservationExpression) -> TemporalNode:
        if isinstance(node, ObservationLeaf):
            return TLeaf(next(counter))
        if isinstance(node, ObservationGroup):
            return build(node.inner)
        if isinstance(node, Within):
            return TWithin(build(node.expression), node.micros)
        if isinstance(node, Repeats):
            return TRepeats(build(node.expression), node.times)
        if isinstance(node, StartStop):
            return TStartStop(build(node.expression), node.start.micros, node.stop.micros)
        operands = tuple(build(op) for op in node.operands)
        if isinstance(node, ObservationOr):
            return TAny(operands)
        return TAll(operands, ordered=isinstance(node, FollowedBy))

    return build(root)


class SearchBudgetExceeded(Exception):
    """The search took more steps than its budget allowed; the answer is unknown."""


Binding = tuple[int, ...]


class _Search:
    """Depth-first search for bindings. Generators share one ``used`` count per
    candidate; each generator restores it before it yields, so a binding handed up is
    free for the caller to claim."""

    def __init__(self, candidates: Sequence[Candidate], used: dict[int, int], budget: int):
        self.candidates = candidates
        self.used = used
        self.budget = budget
        self.by_leaf: dict[int, tuple[list[int], list[int]]] = {}
        order = sorted(range(len(candidates)), key=lambda i: candidates[i].last_us)
        for i in order:
            mask, position = candidates[i].mask, 0
            while mask:
                if mask & 1:
                    indexes, lasts = self.by_leaf.setdefault(position, ([], []))
                    indexes.append(i)
                    lasts.append(candidates[i].last_us)
                mask >>= 1
                position += 1

    def feasible(self, node: TemporalNode) -> bool:
        """Whether every ``[…]`` the node needs has some candidate (a cheap first test)."""
        if isinstance(node, TLeaf):
            return node.position in self.by_leaf
        if isinstance(node, TAll):
            return all(self.feasible(op) for op in node.operands)
        if isinstance(node, TAny):
            return any(self.feasible(op) for op in node.operands)
        return self.feasible(node.operand)

    def _tick(self) -> None:
        self.budget -= 1
        if self.budget < 0:
            raise SearchBudgetExceeded

    def take(self, binding: Binding) -> None:
        for i in binding:
            self.used[i] = self.used.get(i, 0) + 1

    def _give(self, binding: Binding) -> None:
        for i in binding:
            self.used[i] -= 1

    def gen(self, node: TemporalNode, lo: int, hi: int) -> Iterator[Binding]:
        """Bindings of ``node`` whose observations all have ``last >= lo`` and ``first < hi``."""
        if isinstance(node, TLeaf):
            indexes, lasts = self.by_leaf.get(node.position, ([], []))
            candidates, used = self.candidates, self.used
            for j in range(bisect.bisect_left(lasts, lo), len(indexes)):
                self._tick()
                i = indexes[j]
                candidate = candidates[i]
                if candidate.first_us < hi and used.get(i, 0) < candidate.available:
                    yield (i,)
        elif isinstance(node, TAny):
            for operand in node.operands:
                yield from self.gen(operand, lo, hi)
        elif isinstance(node, TAll):
            yield from self._all(node.operands, 0, lo, hi, node.ordered)
        elif isinstance(node, TWithin):
            for binding in self.gen(node.operand, lo, hi):
                firsts = [self.candidates[i].first_us for i in binding]
                lasts = [self.candidates[i].last_us for i in binding]
                if max(firsts) <= min(lasts) + node.micros:
                    yield binding
        elif isinstance(node, TRepeats):
            yield from self._repeat(node.operand, node.times, lo, hi, ())
        elif node.start_us < node.stop_us:
            yield from self.gen(node.operand, max(lo, node.start_us), min(hi, node.stop_us))

    def _all(
        self, operands: tuple[TemporalNode, ...], j: int, lo: int, hi: int, ordered: bool
    ) -> Iterator[Binding]:
        if j == len(operands):
            yield ()
            return
        for binding in self.gen(operands[j], lo, hi):
            after = max(lo, max(self.candidates[i].first_us for i in binding)) if ordered else lo
            self.take(binding)
            for rest in self._all(operands, j + 1, after, hi, ordered):
                self._give(binding)
                yield binding + rest
                self.take(binding)
            self._give(binding)

    def _repeat(
        self, operand: TemporalNode, times: int, lo: int, hi: int, floor: Binding
    ) -> Iterator[Binding]:
        # Bindings are taken in non-decreasing sorted order, so each set of `times`
        # disjoint bindings is tried once rather than in every order.
        if times == 0:
            yield ()
            return
        for binding in self.gen(operand, lo, hi):
            key = tuple(sorted(binding))
            if key < floor:
                continue
            self.take(binding)
            for rest in self._repeat(operand, times - 1, lo, hi, key):
                self._give(binding)
                yield binding + rest
                self.take(binding)
            self._give(binding)


class SearchResult(NamedTuple):
    """Bindings found, and whether the search finished (``False``: the budget ran out,
    so more bindings may exist)."""

    bindings: list[Binding]
    complete: bool


def find_bindings(
    root: TemporalNode,
    candidates: Sequence[Candidate],
    *,
    limit: int = 1,
    budget: int = 200_000,
) -> SearchResult:
    """Up to ``limit`` disjoint bindings, found one after another (greedily, each using
    what the earlier ones left). ``limit=1`` answers "does the pattern match?".

    Example::

        >>> tree = temporal_tree(parse("[a:b = 1] FOLLOWEDBY [a:b = 2]").root)
        >>> find_bindings(tree, [Candidate(0, 0, 1, 0b01), Candidate(5, 5, 1, 0b10)])
        SearchResult(bindings=[(0, 1)], complete=True)
    """
    used: dict[int, int] = {}
    search = _Search(candidates, used, budget)
    found: list[Binding] = []
    if not search.feasible(root):
        return SearchResult(found, True)
    try:
        while len(found) < limit:
            binding = next(search.gen(root, _FAR_PAST, _FAR_FUTURE), None)
            if binding is None:
                break
            found.append(binding)
            search.take(binding)
    except SearchBudgetExceeded:
        return SearchResult(found, False)
    return SearchResult(found, True)
