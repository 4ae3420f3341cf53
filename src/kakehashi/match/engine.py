"""The streaming matcher: observations in, per-indicator match tallies out.

For each observation, each object's type selects its probes; each probe reads its path and
fires the anchors the value meets (one dict lookup per value for ``=``). Fired targets
are then resolved: an indicator whose whole pattern is the anchor is tallied at once; a
``[…]`` that needs it is evaluated (once per observation, however many anchors fired);
a ``[…]`` of a multi-observation pattern makes the observation a *candidate* of that
indicator. Candidates are decided by :mod:`kakehashi.match.temporal` when the run ends,
or earlier when an indicator has ``max_candidates`` of them.

The loop over objects runs in C (:mod:`kakehashi.match._scan`) when the package was built
with a compiler, and as :meth:`Matcher._feed_python` otherwise: the same tables, the same
order of hits, the same answers (tests run both). ``COMPILED`` says which is in use.

With a window length (``window_us``), matches are tallied per indicator per
epoch-aligned window (:mod:`kakehashi.match.windows`) of the observation's first_observed;
a match over several observations belongs to the window of the earliest of them.

Memory is bounded: tallies exist only for indicators that matched, one per window with a
match when windows are on (each keeps at most ``max_refs`` observed-data ids), and each
multi-observation indicator keeps at most ``max_candidates`` candidates; when that many do
not complete a match, the older half is dropped and the indicator is reported as
*overflowed* (matches needing them are missed).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from kakehashi.match.anchors import exact_key
from kakehashi.match.compile import Index
from kakehashi.match.cplans import c_plans
from kakehashi.match.evaluate import ObservationView
from kakehashi.match.observation import SCO, Observation
from kakehashi.match.probe import Probe, Target, remembered_containing
from kakehashi.match.temporal import Candidate, find_bindings
from kakehashi.match.windows import Window

_scan: ModuleType | None
try:
    from kakehashi.match import _scan
except ImportError:  # built without a C compiler: the Python loop does the same work
    _scan = None

__all__ = ["COMPILED", "IndicatorMatch", "Matcher"]

#: Whether the compiled loop is available (and so used by default).
COMPILED = _scan is not None


@dataclass(frozen=True, slots=True)
class IndicatorMatch:
    """What one indicator matched in a run, or in one window of it: the content of its
    Sighting.

    Attributes:
        indicator_id: the indicator.
        count: observations matched (each counted ``number_observed`` times) for a
            one-observation pattern; complete, disjoint matches for the others.
        first_seen_us, last_seen_us: the earliest first_observed and latest
            last_observed of what matched.
        observed_data_refs: the observed-data that matched, when the input was STIX
            (at most ``max_refs``).
        example: a matched value, for people reading the summary.
        window: the window this covers, when the matcher has a window length; ``None``
            for the whole run.
    """

    indicator_id: str
    count: int
    first_seen_us: int
    last_seen_us: int
    observed_data_refs: tuple[str, ...]
    example: str
    window: Window | None = None


@dataclass(slots=True)
class _Tally:
    count: int
    first_us: int
    last_us: int
    #: Ordered, and a dict so that "seen already?" is one lookup: at 1,000 refs, a list's
    #: ``in`` took a fifth of a run where 1 % of observations matched.
    refs: dict[str, None]
    example: str


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.hex()
    return value if isinstance(value, str) else str(value)


class Matcher:
    """Match observations against an :class:`~kakehashi.match.compile.Index`.

    Args:
        index: the compiled indicators.
        max_candidates: candidates kept per multi-observation indicator.
        max_refs: observed-data ids kept per indicator.
        search_budget: steps allowed to one temporal search.
        window_us: tally per window of this length (microseconds, whole seconds;
            epoch-aligned) rather than per run.
        compiled: use the compiled loop (``True``: it must be there), the Python one
            (``False``), or the compiled one when it is there (``None``).

    Example::

        >>> matcher = Matcher(index)
        >>> matcher.feed_all(observations)
        >>> for match in matcher.results():
        ...     print(match.indicator_id, match.count)
    """

    def __init__(
        self,
        index: Index,
        *,
        max_candidates: int = 10_000,
        max_refs: int = 1_000,
        search_budget: int = 200_000,
        window_us: int | None = None,
        compiled: bool | None = None,
    ) -> None:
        if compiled and _scan is None:
            raise RuntimeError("kakehashi.match._scan was not built (no C compiler at install)")
        if window_us is not None and (window_us <= 0 or window_us % 1_000_000):
            raise ValueError("window_us must be a positive whole number of seconds")
        self.index = index
        self.window_us = window_us
        self.max_candidates = max_candidates
        self.max_refs = max_refs
        self.search_budget = search_budget
        self.observations = 0
        self.matched_observations = 0
        #: Indicators whose candidates overflowed, or whose search ran out of budget.
        self.overflowed: set[int] = set()
        self.unfinished: set[int] = set()
        self._plans = index.plans
        #: Keyed by (slot, window start); the start is 0 without windows.
        self._tallies: dict[tuple[int, int], _Tally] = {}
        self._hits: dict[Target, Any] = {}
        self._buffers: dict[int, list[Candidate]] = {}
        self._c_plans: dict[str, Any] | None = None
        if _scan is not None and compiled is not False:
            if index.c_plans is None:
                index.c_plans = c_plans(self._plans, _scan)
            self._c_plans = index.c_plans

    @property
    def compiled(self) -> bool:
        """Whether this matcher runs the compiled loop (else the Python one)."""
        return self._c_plans is not None

    # -- feeding ---------------------------------------------------------------------------

    def feed(self, observation: Observation) -> None:
        """Match one observation."""
        self.feed_all((observation,))

    def feed_all(self, observations: Iterable[Observation]) -> None:
        """Match observations in order."""
        if self._c_plans is not None and _scan is not None:
            count: int = _scan.feed(
                observations, self._c_plans, self._hits, self._resolve, self._slow, self._feed_one
            )
        else:
            count = self._feed_python(observations)
        self.observations += count

    def _feed_one(self, observation: Observation) -> int:
        """What the C loop hands back: an observation that is not a tuple of plain dicts."""
        return self._feed_python((observation,))

    def _feed_python(self, observations: Iterable[Observation]) -> int:
        """The loop, in Python (the names are bound once because this runs per object of
        every observation: the cost of matching is mostly this). _scan.c mirrors it."""
        plans = self._plans
        hits = self._hits  # reused: cleared after each observation that fired something
        setdefault = hits.setdefault
        count = 0
        for observation in observations:
            count += 1
            for obj in observation.objects.values():
                try:
                    plan = plans.get(obj["type"])
                except (KeyError, TypeError):
                    continue  # not an SCO
                if plan is None:
                    continue
                for key, rule, slash_rule, exact, ranges, checks in plan.fast:
                    value = obj.get(key)
                    if value is None:
                        continue
                    if type(value) is str:
                        if rule is not None:
                            found = exact.get(rule(value))
                        elif slash_rule is not None and "/" in value:
                            found = exact.get(slash_rule(value))
                        else:
                            found = exact.get(value)
                        if ranges is not None and "/" not in value:
                            # An address against the CIDR anchors.
                            for target in remembered_containing(ranges, value):
                                setdefault(target, value)
                    else:
                        hashable = exact_key(value)
                        found = None if hashable is None else exact.get(hashable)
                    if found is not None:
                        if isinstance(found, int):
                            setdefault(found, value)
                        else:
                            for target in found:
                                setdefault(target, value)
                    if checks:
                        for check in checks:
                            check(value, hits)
                if plan.extra:
                    if plan.slow:
                        self._slow(plan.slow, obj, observation, hits)
                    for target in plan.scan:
                        setdefault(target, "")
            if hits:
                try:
                    self._resolve(hits, observation)
                finally:
                    hits.clear()
        return count

    @staticmethod
    def _slow(
        probes: tuple[Probe, ...], obj: SCO, observation: Observation, hits: dict[Target, Any]
    ) -> None:
        """Probes of nested properties, references and lists."""
        for probe in probes:
            for value, rule in probe.values(obj, observation.objects):
                if type(value) is str and rule is not None:
                    value = rule(value)
                hashable = exact_key(value)
                found = None if hashable is None else probe.exact.get(hashable)
                if found is not None:
                    if isinstance(found, int):
                        hits.setdefault(found, value)
                    else:
                        for target in found:
                            hits.setdefault(target, value)
                for check in probe.checks:
                    check(value, hits)

    def _resolve(self, hits: dict[Target, Any], observation: Observation) -> None:
        """Decide what an observation's hits mean (runs for every observation that fired
        anything: its parts are unpacked once, not per hit)."""
        index = self.index
        alive = index.alive
        _, first, last, number, ref = observation
        length = self.window_us
        start = first // length * length if length else 0
        refs = (ref,) if ref is not None else ()
        view: ObservationView | None = None
        masks: dict[int, tuple[int, Any]] | None = None
        tallied = False
        for target, example in hits.items():
            if target >= 0:
                if alive[target]:
                    self._count((target, start), number, first, last, refs, example)
                    tallied = True
                continue
            leaf = index.leaves[~target]
            if leaf.roots is not None:
                if view is None:
                    view = ObservationView(observation.objects)
                if not leaf.roots(view):
                    continue
            for slot, mask in leaf.consumers:
                if not alive[slot]:
                    continue
                if mask == 0:
                    self._count((slot, start), number, first, last, refs, example)
                    tallied = True
                else:
                    if masks is None:
                        masks = {}
                    previous = masks.get(slot)
                    masks[slot] = (mask | previous[0], previous[1]) if previous else (mask, example)
        if masks:
            for slot, (mask, example) in masks.items():
                self._candidate(slot, observation, mask, example)
            tallied = True
        if tallied:
            self.matched_observations += 1

    def _key(self, slot: int, first_us: int) -> tuple[int, int]:
        length = self.window_us
        return (slot, first_us // length * length if length else 0)

    def _count(
        self,
        key: tuple[int, int],
        number: int,
        first_us: int,
        last_us: int,
        refs: Iterable[str],
        example: Any,
    ) -> None:
        """Add ``number`` matches seen from ``first_us`` to ``last_us`` to the tally of
        ``key`` (an indicator's slot and its window's start), keeping up to ``max_refs``
        observed-data ids."""
        tally = self._tallies.get(key)
        if tally is None:
            tally = self._tallies[key] = _Tally(0, first_us, last_us, {}, _text(example))
        tally.count += number
        if first_us < tally.first_us:
            tally.first_us = first_us
        if last_us > tally.last_us:
            tally.last_us = last_us
        for ref in refs:
            if len(tally.refs) >= self.max_refs:
                break
            tally.refs.setdefault(ref)

    def _candidate(self, slot: int, observation: Observation, mask: int, example: Any) -> None:
        buffer = self._buffers.setdefault(slot, [])
        buffer.append(
            Candidate(
                observation.first_us,
                observation.last_us,
                observation.number,
                mask,
                observation.ref,
                _text(example),
            )
        )
        if len(buffer) >= self.max_candidates:
            self._settle(slot)
            buffer = self._buffers[slot]
            if len(buffer) >= self.max_candidates // 2:
                self.overflowed.add(slot)
                del buffer[: len(buffer) - self.max_candidates // 2]

    # -- deciding --------------------------------------------------------------------------

    def _settle(self, slot: int) -> None:
        """Find the complete matches among an indicator's candidates; keep what is left."""
        candidates = self._buffers.get(slot, [])
        if not candidates:
            return
        result = find_bindings(
            self.index.compound[slot],
            candidates,
            limit=len(candidates) + 1,
            budget=self.search_budget,
        )
        if not result.complete:
            self.unfinished.add(slot)
        used: dict[int, int] = {}
        for binding in result.bindings:
            chosen = [candidates[i] for i in binding]
            refs = dict.fromkeys(c.ref for c in chosen if c.ref is not None)
            example = next((c.example for c in chosen if c.example), "")
            first = min(c.first_us for c in chosen)
            last = max(c.last_us for c in chosen)
            self._count(self._key(slot, first), 1, first, last, refs, example)
            for i in binding:
                used[i] = used.get(i, 0) + 1
        self._buffers[slot] = [
            c._replace(available=c.available - used.get(i, 0))
            for i, c in enumerate(candidates)
            if c.available > used.get(i, 0)
        ]

    def results(self) -> list[IndicatorMatch]:
        """Decide the pending candidates and return every indicator that matched, in the
        order the indicators were read; with windows, one per indicator per window that
        holds a match, in time order."""
        for slot in list(self._buffers):
            self._settle(slot)
        ids = self.index.ids
        length = self.window_us
        return [
            IndicatorMatch(
                ids[slot],
                tally.count,
                tally.first_us,
                tally.last_us,
                tuple(tally.refs),
                tally.example,
                None if length is None else Window(start, length),
            )
            for (slot, start), tally in sorted(self._tallies.items())
        ]
