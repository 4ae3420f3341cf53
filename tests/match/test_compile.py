"""Compiling indicators: which are used, which are skipped and why, and the index shapes."""

from __future__ import annotations

import pytest

from kakehashi.match.compile import IndexBuilder, IndicatorIds, Status
from kakehashi.match.engine import Matcher
from kakehashi.match.probe import required_literal

from .helpers import NOW, domain, index_of, indicator, ip, obs

#: Through the compiled loop and the Python one (conftest.engine_loop).
pytestmark = pytest.mark.usefixtures("engine_loop")


def build(*objects: dict[str, object]) -> Matcher:
    builder = IndexBuilder(now_us=NOW)
    builder.add_all(objects)
    return Matcher(builder.build())


def fired(matcher: Matcher, *observations: object) -> list[str]:
    for observation in observations:
        matcher.feed(observation)  # type: ignore[arg-type]
    return [m.indicator_id for m in matcher.results()]


HIT = obs(ip("192.0.2.1"))
PATTERN = "[ipv4-addr:value = '192.0.2.1']"


@pytest.mark.parametrize(
    ("extra", "status", "reason"),
    [
        ({}, Status.COMPILED, ""),
        ({"revoked": True}, Status.REVOKED, ""),
        ({"valid_until": "2024-06-01T00:00:00Z"}, Status.EXPIRED, "valid until 2024-06-01"),
        ({"valid_until": "2025-01-01T00:00:00Z"}, Status.EXPIRED, ""),  # until is exclusive
        ({"valid_until": "2025-01-01T00:00:00.000001Z"}, Status.COMPILED, ""),
        ({"valid_from": "2999-01-01T00:00:00Z"}, Status.NOT_YET_VALID, "valid from 2999"),
        ({"valid_from": "2025-01-01T00:00:00Z"}, Status.COMPILED, ""),
        ({"pattern_type": "sigma"}, Status.UNSUPPORTED, "pattern_type 'sigma'"),
        ({"pattern": "[ipv4-addr:value = "}, Status.INVALID, "pattern does not parse"),
        ({"pattern": 42}, Status.INVALID, "no pattern"),
        ({"valid_from": "yesterday"}, Status.INVALID, "is not a STIX timestamp"),
    ],
)
def test_only_indicators_valid_now_are_compiled(
    extra: dict[str, object], status: Status, reason: str
) -> None:
    obj = indicator(1, PATTERN)
    obj.update(extra)
    matcher = build(obj)
    assert matcher.index.counts() == {status: 1}
    if status is Status.COMPILED:
        assert matcher.index.skipped() == []
        assert fired(matcher, HIT) == [indicator(1, PATTERN)["id"]]
    else:
        (skipped,) = matcher.index.skipped()
        assert skipped.status is status
        assert reason in skipped.reason
        assert fired(matcher, HIT) == []


def test_only_the_latest_version_counts_in_any_order() -> None:
    old = indicator(1, "[ipv4-addr:value = '10.0.0.1']")
    new = indicator(1, "[ipv4-addr:value = '10.0.0.2']", modified="2024-02-01T00:00:00.000Z")
    for order in ((old, new), (new, old)):
        matcher = build(*order)
        assert matcher.index.compiled == 1
        assert matcher.index.versions_read == 2
        assert fired(matcher, obs(ip("10.0.0.1")), obs(ip("10.0.0.2"))) == [old["id"]]
        assert matcher.results()[0].count == 1  # only 10.0.0.2


def test_a_revoked_latest_version_silences_the_older_ones() -> None:
    old = indicator(1, PATTERN)
    revoked = indicator(1, PATTERN, modified="2024-03-01T00:00:00.000Z", revoked=True)
    matcher = build(old, revoked)
    assert matcher.index.counts() == {Status.REVOKED: 1}
    assert fired(matcher, HIT) == []


def test_a_bad_pattern_never_stops_the_others() -> None:
    matcher = build(
        indicator(1, "[ipv4-addr:value = '192.0.2.1'"),
        indicator(2, PATTERN),
        {"type": "malware", "id": "malware--1", "name": "x"},
        "not even an object",  # type: ignore[arg-type]
    )
    assert matcher.index.counts() == {Status.COMPILED: 1, Status.INVALID: 1}
    assert matcher.index.objects_read == 4
    assert fired(matcher, HIT) == [indicator(2, PATTERN)["id"]]


def test_identical_anchors_of_many_indicators_all_fire() -> None:
    index = index_of(PATTERN, PATTERN, "[ipv4-addr:value = '192.0.2.1' OR ipv4-addr:value = 'x']")
    (probe,) = index.plans["ipv4-addr"].probes
    assert probe.exact["192.0.2.1"] == (0, 1, 2)
    matcher = Matcher(index)
    assert len(fired(matcher, HIT)) == 3


def test_a_single_anchor_pattern_costs_one_dict_entry() -> None:
    index = index_of(PATTERN)
    assert index.leaves == []  # no per-pattern object: the slot is the target
    (probe,) = index.plans["ipv4-addr"].probes
    assert probe.exact == {"192.0.2.1": 0}
    assert probe.key1 == "value"


def test_networks_are_merged_into_bucketed_ranges() -> None:
    index = index_of(
        "[ipv4-addr:value ISSUBSET '10.0.0.0/8']",
        "[ipv4-addr:value ISSUBSET '10.1.0.0/16']",
        "[ipv4-addr:value ISSUBSET '10.1.2.3/16']",  # host bits dropped: the same network
        "[ipv6-addr:value ISSUBSET '2001:db8::/32']",
        "[ipv4-addr:value ISSUBSET '10.1.2.0/24']",
    )
    v4 = index.plans["ipv4-addr"].probes[0].addresses[32]
    assert v4.wide == ([10 << 24], [(11 << 24) - 1], [0])  # the /8 spans many buckets
    starts, ends, targets = v4.buckets[(10 << 8) | 1]  # 10.1.x.x
    assert targets == [(1, 2), (1, 2, 4), (1, 2)]  # the /24 splits the /16 in three
    assert ends[1] - starts[1] == 255
    matcher = Matcher(index)
    results = fired(
        matcher,
        obs(ip("10.1.2.77")),
        obs(ip("10.1.200.1")),
        obs(ip("10.2.0.1")),
        obs(ip("2001:db8::1")),
        obs(ip("11.0.0.1")),
    )
    assert len(results) == 5
    assert [m.count for m in matcher.results()] == [3, 2, 2, 1, 1]


def test_network_values_need_a_network_that_holds_all_of_them() -> None:
    matcher = Matcher(
        index_of(
            "[ipv4-addr:value ISSUBSET '10.1.0.0/16']",
            "[ipv4-addr:value ISSUBSET '10.1.2.0/24']",
            "[ipv4-addr:value ISSUBSET '10.1.2.0/25']",
        )
    )
    fired(matcher, obs(ip("10.1.2.0/24")))
    assert {m.indicator_id[-1] for m in matcher.results()} == {"0", "1"}


def test_indicator_ids_take_sixteen_bytes() -> None:
    ids = IndicatorIds()
    canonical = "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"
    odd = ["indicator--8E2E2D2B-17D4-4CBF-938F-98EE46B3CD3F", "indicator--1", "x" * 47]
    slots = [ids.append(i) for i in [canonical, *odd]]
    assert slots == [0, 1, 2, 3]
    assert list(ids) == [canonical, *odd]
    assert len(ids._raw) == 64
    assert IndicatorIds.compact(canonical) == bytes.fromhex("8e2e2d2b17d44cbf938f98ee46b3cd3f")


def test_like_shapes_have_their_own_tables() -> None:
    index = index_of(
        "[domain-name:value LIKE 'exact.example']",
        "[domain-name:value LIKE 'www.%']",
        "[domain-name:value LIKE '%.evil.example']",
        "[domain-name:value LIKE 'a_c.%.example']",
    )
    probe = index.plans["domain-name"].probes[0]
    assert list(probe.like_exact) == ["exact.example"]
    assert list(probe.like_prefix) == [4]
    assert list(probe.like_suffix) == [13]
    assert [literal for literal, _, _ in probe.like_other] == [".example"]
    matcher = Matcher(index)
    fired(
        matcher,
        obs(domain("exact.example")),
        obs(domain("www.evil.example")),
        obs(domain("abc.x.example")),
        obs(domain("nothing.example")),
    )
    assert [m.count for m in matcher.results()] == [1, 1, 1, 1]


def test_regexes_sit_behind_a_gate_of_required_substrings() -> None:
    index = index_of(
        "[url:value MATCHES 'evil[0-9]+\\\\.php']", "[url:value MATCHES 'beacon\\\\?id=']"
    )
    probe = index.plans["url"].probes[0]
    assert probe.gate is not None
    assert [literal for literal, _, _ in probe.regexes] == ["evil", "beacon?id="]
    matcher = Matcher(index)
    fired(matcher, obs({"type": "url", "value": "http://x/evil12.php"}))
    assert len(matcher.results()) == 1


@pytest.mark.parametrize(
    ("regex", "literal"),
    [
        ("evil[0-9]+\\.php", "evil"),
        ("^https?://login\\.example\\.com/", "://login.example.com/"),
        ("abcd?e", "abc"),
        ("abc(def)?", "abc"),
        ("(?i)evil", None),
        ("evil|bad", None),
        ("\\d+\\w+", None),
        ("[abc]+xyz", "xyz"),
        ("ab", None),
        ("x{2}yyyy", "yyyy"),
    ],
)
def test_required_literals(regex: str, literal: str | None) -> None:
    assert required_literal(regex) == literal


def test_comparisons_use_sorted_thresholds() -> None:
    index = index_of(
        "[network-traffic:dst_port > 1000]",
        "[network-traffic:dst_port <= 22]",
        "[network-traffic:dst_port >= 443]",
        "[network-traffic:dst_port < 443]",
    )
    probe = index.plans["network-traffic"].probes[0]
    assert len(probe.order) == 4
    matcher = Matcher(index)
    fired(matcher, *(obs({"type": "network-traffic", "dst_port": p}) for p in (22, 443, 8080)))
    assert {m.indicator_id[-1]: m.count for m in matcher.results()} == {
        "0": 1,
        "1": 1,
        "2": 2,
        "3": 1,
    }


def test_patterns_without_anchors_are_evaluated_on_every_object_of_their_type() -> None:
    index = index_of("[file:name != 'a']", "[NOT EXISTS file:hashes]")
    assert len(index.plans["file"].scan) == 2
    matcher = Matcher(index)
    fired(matcher, obs({"type": "file", "name": "b"}), obs(ip("10.0.0.1")))
    assert [m.count for m in matcher.results()] == [1, 1]
