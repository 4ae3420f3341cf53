"""The matcher's bookkeeping: counts, observed-data refs, bounded candidate buffers, the
temporal search and its budget."""

from __future__ import annotations

import pytest

from kakehashi.match.engine import Matcher
from kakehashi.match.observation import Observation
from kakehashi.match.parse import parse
from kakehashi.match.temporal import Candidate, find_bindings, temporal_tree

from .helpers import T0, domain, index_of, ip, obs, run

#: Through the compiled loop and the Python one (conftest.engine_loop).
pytestmark = pytest.mark.usefixtures("engine_loop")

A = "[domain-name:value = 'a.example']"


def test_refs_are_listed_once_and_capped() -> None:
    index = index_of("[ipv4-addr:value = '10.0.0.1']")
    matcher = Matcher(index, max_refs=2)
    for n in (1, 1, 2, 3):
        matcher.feed(obs(ip("10.0.0.1"), ref=f"observed-data--{n}"))
    (match,) = matcher.results()
    assert match.count == 4
    assert match.observed_data_refs == ("observed-data--1", "observed-data--2")


def test_log_observations_have_no_refs() -> None:
    (match,) = run(["[ipv4-addr:value = '10.0.0.1']"], [obs(ip("10.0.0.1"))]).values()
    assert match.observed_data_refs == ()
    assert match.example == "10.0.0.1"


def test_a_match_across_observations_lists_their_refs() -> None:
    pattern = f"{A} FOLLOWEDBY [domain-name:value = 'b.example']"
    (match,) = run(
        [pattern],
        [obs(domain("a.example"), at=1, ref="od--1"), obs(domain("b.example"), at=2, ref="od--2")],
    ).values()
    assert match.count == 1
    assert match.observed_data_refs == ("od--1", "od--2")
    assert (match.first_seen_us, match.last_seen_us) == (T0 + 1_000_000, T0 + 2_000_000)


def test_candidates_are_bounded() -> None:
    index = index_of(f"{A} FOLLOWEDBY [domain-name:value = 'b.example']")
    matcher = Matcher(index, max_candidates=10)
    for second in range(25):
        matcher.feed(obs(domain("a.example"), at=second))
    assert len(matcher._buffers[0]) < 10
    assert matcher.overflowed == {0}
    matcher.feed(obs(domain("b.example"), at=30))
    (match,) = matcher.results()
    assert match.count == 1


def test_complete_matches_free_the_buffer() -> None:
    index = index_of(f"{A} REPEATS 2 TIMES")
    matcher = Matcher(index, max_candidates=10)
    for second in range(40):
        matcher.feed(obs(domain("a.example"), at=second))
    assert matcher.overflowed == set()
    (match,) = matcher.results()
    assert match.count == 20


def test_the_search_budget_is_reported() -> None:
    tree = temporal_tree(parse(f"({A} AND {A} AND {A}) WITHIN 1 SECONDS").root)
    spread = [Candidate(T0 + n * 10_000_000, T0 + n * 10_000_000, 1, 0b111) for n in range(60)]
    result = find_bindings(tree, spread, budget=5_000)
    assert result.bindings == []
    assert result.complete is False
    index = index_of(f"({A} AND {A} AND {A}) WITHIN 1 SECONDS")
    matcher = Matcher(index, search_budget=5_000)
    matcher.feed_all(obs(domain("a.example"), at=n * 10) for n in range(60))
    assert matcher.results() == []
    assert matcher.unfinished == {0}


def test_greedy_disjoint_matches() -> None:
    tree = temporal_tree(parse("[a:b = 1] FOLLOWEDBY [a:b = 2]").root)
    candidates = [
        Candidate(T0 + 1, T0 + 1, 2, 0b01),
        Candidate(T0 + 2, T0 + 2, 1, 0b10),
        Candidate(T0 + 3, T0 + 3, 1, 0b10),
        Candidate(T0 + 4, T0 + 4, 1, 0b01),
    ]
    result = find_bindings(tree, candidates, limit=10)
    assert result.complete
    assert result.bindings == [(0, 1), (0, 2)]


def test_infeasible_patterns_stop_at_once() -> None:
    tree = temporal_tree(parse("[a:b = 1] AND [a:b = 2]").root)
    candidates = [Candidate(0, 0, 1, 0b01)] * 1000
    assert find_bindings(tree, candidates, budget=10).complete


def test_objects_that_are_not_scos_are_ignored() -> None:
    matcher = Matcher(index_of("[ipv4-addr:value = '10.0.0.1']"))
    odd = {"0": {"value": "10.0.0.1"}, "1": {"type": ["x"]}, "2": ["list"], "3": ip("10.0.0.1")}
    matcher.feed(Observation(odd, T0, T0))  # type: ignore[arg-type]
    assert [m.count for m in matcher.results()] == [1]
