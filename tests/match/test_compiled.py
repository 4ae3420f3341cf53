"""The compiled loop (``_scan.c``) against the Python loop it mirrors, and its own parts.

Every other matching test module runs through both loops (``conftest.engine_loop``); this
one compares them directly on what those tests do not reach: indexes large enough for the
Bloom filters and the flat IPv4 table, random patterns over the whole language, values in
every odd shape a log can carry, and malformed arguments (a ``TypeError``, never a crash).
"""

from __future__ import annotations

import random
import socket
from array import array
from collections.abc import Iterator
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kakehashi.match import engine
from kakehashi.match.compile import Index, IndexBuilder
from kakehashi.match.engine import IndicatorMatch, Matcher
from kakehashi.match.observation import Observation

from .conftest import COMPILED_REQUIRED
from .helpers import NOW, T0, indicator
from .randomstix import Generator

if not engine.COMPILED and not COMPILED_REQUIRED:
    pytest.skip("kakehashi.match._scan was not built (no C compiler)", allow_module_level=True)

from kakehashi.match import _scan


def test_the_compiled_loop_is_in_use_by_default() -> None:
    assert engine.COMPILED
    assert Matcher(IndexBuilder(now_us=NOW).build())._c_plans is not None
    assert Matcher(IndexBuilder(now_us=NOW).build(), compiled=False)._c_plans is None


def both(index: Index, observations: list[Observation]) -> list[IndicatorMatch]:
    """Match with each loop; the results must be identical, to the examples and refs."""
    compiled, python = Matcher(index, compiled=True), Matcher(index, compiled=False)
    compiled.feed_all(observations)
    python.feed_all(observations)
    assert compiled.observations == python.observations == len(observations)
    assert compiled.matched_observations == python.matched_observations
    found = compiled.results()
    assert found == python.results()
    return found


# -- the IPv4 parser ---------------------------------------------------------------------


def pton(text: str) -> int | None:
    try:
        return int.from_bytes(socket.inet_pton(socket.AF_INET, text), "big")
    except (OSError, ValueError):
        return None


@pytest.mark.parametrize(
    "text",
    [
        "0.0.0.0",
        "255.255.255.255",
        "10.0.0.1",
        "010.0.0.1",
        "10.00.0.1",
        "256.0.0.1",
        "1.2.3",
        "1.2.3.4.",
        ".1.2.3.4",
        "1..2.3",
        "1.2.3.4 ",
        " 1.2.3.4",
        "1.2.3.4\x00",
        "\u0661.\u0662.\u0663.\u0664",  # Arabic-Indic digits: isdigit() yes, inet_pton no
        "1.2.3.4/32",
        "::1",
        "",
        "1.2.3.04",
        "1.2.3.0",
        "99999999999.1.1.1",
    ],
)
def test_parse_ipv4_reads_as_inet_pton_does(text: str) -> None:
    assert _scan.parse_ipv4(text) == pton(text)


@settings(max_examples=500, deadline=None)
@given(
    st.one_of(
        st.ip_addresses(v=4).map(str),
        st.text(alphabet="0123456789.", max_size=18),
        st.text(max_size=18),
        st.lists(st.integers(0, 300), min_size=3, max_size=5).map(
            lambda parts: ".".join(str(p) for p in parts)
        ),
    )
)
def test_parse_ipv4_agrees_with_inet_pton_on_any_text(text: str) -> None:
    assert _scan.parse_ipv4(text) == pton(text)


# -- a large index: Bloom filters and the flat IPv4 table ---------------------------------


def _ipv4(n: int) -> str:
    return f"{(n >> 24) & 255}.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def large_index(rng: random.Random) -> tuple[Index, dict[str, list[Any]], list[str]]:
    """Over 16,384 keys in each exact table (the filters' threshold), CIDRs of every
    length (wide ones, nested ones, ones sharing a /16), IPv6 networks, hashes."""
    addresses = [_ipv4(rng.getrandbits(32)) for _ in range(20_000)]
    domains = [f"host{n}.Example{n % 13}.COM." for n in range(20_000)]
    digests = [f"{rng.getrandbits(256):064X}" for _ in range(17_000)]
    networks = []
    for _ in range(3_000):
        length = rng.choice([1, 4, 8, 12, 15, 16, 17, 20, 24, 28, 31, 32])
        networks.append(f"{_ipv4(rng.getrandbits(32))}/{length}")
    networks += ["10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "10.1.2.3/32", "0.0.0.0/0"]
    patterns = [f"[ipv4-addr:value = '{a}']" for a in addresses]
    patterns += [f"[domain-name:value = '{d}']" for d in domains]
    patterns += [f"[file:hashes.'SHA-256' = '{h}']" for h in digests]
    patterns += [f"[file:hashes.MD5 = '{h[:32]}']" for h in digests[:200]]
    patterns += [f"[ipv4-addr:value ISSUBSET '{n}']" for n in networks]
    patterns += [
        "[ipv6-addr:value ISSUBSET '2001:db8::/32']",
        "[ipv6-addr:value = '2001:db8::1']",
        "[network-traffic:dst_port = 4444 AND network-traffic:is_active = true]",
        "[network-traffic:dst_port IN (22, 2222)]",
        "[ipv4-addr:value ISSUBSET '10.1.0.0/16' AND ipv4-addr:value LIKE '10.1.2.%']",
        "[domain-name:value LIKE '%.example3.com']",
        "[file:size > 1000000 AND file:name MATCHES '\\\\.exe$']",
    ]
    builder = IndexBuilder(now_us=NOW)
    for n, pattern in enumerate(patterns):
        builder.add(indicator(n, pattern))
    pools = {"addresses": addresses, "domains": domains, "digests": digests, "networks": networks}
    return builder.build(), pools, patterns


def odd(rng: random.Random, value: str) -> Any:
    """The value as a log may spell it, or something that is not a value at all."""
    roll = rng.random()
    if roll < 0.5:
        return value
    choices: list[Any] = [
        value.upper(),
        value.lower(),
        value + ".",
        "0" + value,
        value + "/24",
        value + "/32",
        " " + value,
        value.replace(".", "\u3002"),
        None,
        True,
        1,
        1.0,
        b"\x01",
        [value],
        {"v": value},
        "",
        "\u00e9" + value,
    ]
    return rng.choice(choices)


def random_observations(rng: random.Random, pools: dict[str, list[Any]]) -> Iterator[Observation]:
    for n in range(6_000):
        objects: dict[str, Any] = {}
        kind = rng.random()
        if kind < 0.4:
            near = (
                rng.choice(pools["addresses"]) if rng.random() < 0.5 else _ipv4(rng.getrandbits(32))
            )
            if rng.random() < 0.2:
                near = rng.choice(["10.1.2.3", "10.1.2.200", "10.1.9.9", "10.200.0.1"])
            objects["a"] = {"type": "ipv4-addr", "value": odd(rng, near)}
            objects["b"] = {
                "type": "ipv6-addr",
                "value": rng.choice(["2001:db8::1", "2001:DB8::2", "::1"]),
            }
            objects["t"] = {
                "type": "network-traffic",
                "dst_port": rng.choice([22, 80, 443, 4444, 2222, "22", None, True]),
                "is_active": rng.choice([True, False, 1, None]),
                "src_ref": "a",
            }
        elif kind < 0.7:
            name = rng.choice(pools["domains"]) if rng.random() < 0.5 else f"other{n}.example3.com"
            objects["d"] = {"type": "domain-name", "value": odd(rng, name)}
        elif kind < 0.95:
            digest = rng.choice(pools["digests"])
            algorithm = rng.choice(["SHA-256", "SHA-256", "sha256", "Sha-256", "SHA256", "MD5"])
            hashes: Any = {algorithm: odd(rng, digest if algorithm != "MD5" else digest[:32])}
            if rng.random() < 0.3:
                hashes["TLSH"] = "T1" + digest[:10]
            if rng.random() < 0.1:
                hashes["x-custom"] = digest
            if rng.random() < 0.05:
                hashes = rng.choice([[digest], digest, None, MappingProxyType({"SHA-256": digest})])
            objects["f"] = {
                "type": "file",
                "hashes": hashes,
                "size": rng.choice([10, 2_000_000]),
                "name": rng.choice(["a.exe", "b.txt"]),
            }
        else:  # not SCOs, or not the plain dicts the loop expects: handed to Python
            objects["x"] = rng.choice(
                [
                    ["ipv4-addr"],
                    "ipv4-addr",
                    None,
                    {"type": ["ipv4-addr"], "value": "10.1.2.3"},
                    {"type": None},
                    MappingProxyType({"type": "ipv4-addr", "value": "10.1.2.3"}),
                    {"value": "10.1.2.3"},
                ]
            )
            objects["y"] = {"type": "ipv4-addr", "value": "10.1.2.3"}
        first = T0 + n * 1_000_000
        observed: Any = objects if rng.random() > 0.02 else MappingProxyType(objects)
        yield Observation(observed, first, first + rng.choice([0, 5]), rng.choice([1, 2]), f"o-{n}")


def test_a_large_index_matches_the_same_through_both_loops() -> None:
    rng = random.Random(2020)
    index, pools, patterns = large_index(rng)
    assert index.compiled == len(patterns)
    observations = list(random_observations(rng, pools))
    found = {m.indicator_id for m in both(index, observations)}
    position = {pattern: n for n, pattern in enumerate(patterns)}

    def found_pattern(pattern: str) -> bool:
        return indicator(position[pattern], pattern)["id"] in found

    # No false negative from the filters: every indicator address observed as written.
    seen = {
        obj.get("value")
        for o in observations
        if isinstance(o.objects, dict)
        for obj in o.objects.values()
        if isinstance(obj, dict)
        and obj.get("type") == "ipv4-addr"
        and isinstance(obj.get("value"), str)
    }
    exact = [a for a in pools["addresses"] if a in seen]
    assert len(exact) > 500
    assert all(found_pattern(f"[ipv4-addr:value = '{a}']") for a in exact)
    # Networks from the flat table and the wide list: 10.1.2.3 is in each of these.
    for network in ("10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "10.1.2.3/32", "0.0.0.0/0"):
        assert found_pattern(f"[ipv4-addr:value ISSUBSET '{network}']"), network
    assert len(found) > 1_500  # the workload really hits: a silent loop would fail here


def test_random_patterns_match_the_same_through_both_loops() -> None:
    for seed in range(4):
        generator = Generator(seed, temporal=seed % 2 == 1)
        builder = IndexBuilder(now_us=NOW)
        for n in range(150):
            builder.add(indicator(n, str(generator.pattern())))
        index = builder.build()
        observations = [o for _ in range(60) for o in generator.observations()]
        observations.sort(key=lambda o: o.first_us)
        assert both(index, observations), seed


# -- odd observations and arguments ------------------------------------------------------


def test_observations_the_loop_does_not_read_itself_are_handed_to_python() -> None:
    index = IndexBuilder(now_us=NOW)
    index.add(indicator(0, "[ipv4-addr:value = '10.1.2.3']"))
    built = index.build()
    odd_ones: list[Any] = [
        Observation(MappingProxyType({"0": {"type": "ipv4-addr", "value": "10.1.2.3"}}), T0, T0),
        Observation({"0": MappingProxyType({"type": "ipv4-addr", "value": "10.1.2.3"})}, T0, T0),
        Observation({"0": {"type": "ipv4-addr", "value": "10.1.2.3"}, "1": "junk"}, T0, T0),
        Observation(
            {"0": {"type": ["unhashable"]}, "1": {"type": "ipv4-addr", "value": "10.1.2.3"}}, T0, T0
        ),
    ]
    found = both(built, odd_ones)
    assert [m.count for m in found] == [4]


def test_an_exception_in_a_rule_propagates_and_leaves_no_hits_behind() -> None:
    builder = IndexBuilder(now_us=NOW)
    builder.add(indicator(0, "[domain-name:value = 'evil.example']"))
    matcher = Matcher(builder.build(), compiled=True)

    class Boom(Exception):
        pass

    def explode(value: str) -> str:
        raise Boom(value)

    (probe,) = matcher._c_plans["domain-name"][0]
    matcher._c_plans["domain-name"] = (((*probe[:1], explode, *probe[2:9], 0),), (), ())
    with pytest.raises(Boom):
        matcher.feed_all([Observation({"0": {"type": "domain-name", "value": "x"}}, T0, T0)])
    assert matcher._hits == {}


def _table(start: int, end: int) -> tuple[Any, ...]:
    """An IPv4 table whose bucket of 10.1.x.x claims the ranges [start, end) of one."""
    offsets = array("I", [0] * 65537)
    offsets[10 << 8 | 1], offsets[(10 << 8 | 1) + 1] = start, end
    return (None, None, array("I", [0, 0]).tobytes(), offsets.tobytes(), [1])


def _probe_plan(table: tuple[Any, ...]) -> dict[str, Any]:
    return {"ipv4-addr": ((("value", None, None, {}, table, None, (), (), None, 0),), (), ())}


@pytest.mark.parametrize(
    "plans",
    [
        {"ipv4-addr": "not a plan"},
        {"ipv4-addr": ((("value",),), (), ())},
        {"ipv4-addr": ((("value", None, None, [], None, None, (), (), None, 0),), (), ())},
        {"ipv4-addr": ((("value", None, None, {}, None, None, (), (), b"odd", 0),), (), ())},
        {
            "ipv4-addr": (
                (("value", None, None, {}, (None, None, b"", b"", []), None, (), (), None, 0),),
                (),
                (),
            )
        },
        _probe_plan(_table(start=5, end=0)),
        _probe_plan(_table(start=0, end=9)),
        {"ipv4-addr": ((), ((1, 2, 3, 4, 5, 6, 7, 8, 9),), ())},
    ],
)
def test_malformed_plans_are_a_type_error_not_a_crash(plans: dict[str, Any]) -> None:
    observation = Observation({"0": {"type": "ipv4-addr", "value": "10.1.2.3"}}, T0, T0)

    def never(*args: Any) -> None:
        raise AssertionError("not reached")

    with pytest.raises(TypeError):
        _scan.feed([observation], plans, {}, never, never, never)


def test_bloom_filter_sizes_are_checked() -> None:
    assert len(_scan.bloom(["a", 1, 2.5, b"x", ("bool", True)], 1 << 10)) == 1 << 10
    for size in (0, 8, 1000):
        with pytest.raises(ValueError, match="power of two"):
            _scan.bloom([], size)
    with pytest.raises(TypeError):
        _scan.bloom([["unhashable"]], 64)
