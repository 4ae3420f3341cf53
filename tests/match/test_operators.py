"""Each operator and qualifier of STIX 2.1 patterning, through the whole engine.

Every case runs through the index (fast paths) and, where the fast path does not decide,
the evaluator; ``test_differential.py`` checks the same semantics against stix2-matcher.
"""

from __future__ import annotations

from typing import Any

import pytest

from .helpers import T0, domain, ip, matches, obs, run

#: Through the compiled loop and the Python one (conftest.engine_loop).
pytestmark = pytest.mark.usefixtures("engine_loop")

FILE: dict[str, Any] = {
    "type": "file",
    "name": "setup.exe",
    "size": 4096,
    "hashes": {"MD5": "0123456789abcdef0123456789abcdef"},
    "magic_number_hex": "4d5a",
    "x_flag": True,
    "mtime": "2024-01-01T00:00:05Z",
}
TRAFFIC = [
    ip("10.0.0.5"),
    ip("198.51.100.7"),
    {
        "type": "network-traffic",
        "src_ref": "0",
        "dst_ref": "1",
        "dst_port": 443,
        "protocols": ["ipv4", "tcp", "tls"],
    },
]


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        # = and != between types
        ("[file:name = 'setup.exe']", True),
        ("[file:name = 'SETUP.EXE']", False),
        ("[file:size = 4096]", True),
        ("[file:size = 4096.0]", True),
        ("[file:size = '4096']", False),
        ("[file:x_flag = true]", True),
        ("[file:x_flag = 1]", False),
        ("[file:size != 1]", True),
        ("[file:size != 4096]", False),
        ("[file:name != 1]", True),  # unlike types are unequal
        ("[file:missing != 1]", False),  # nothing selected: never true
        ("[file:name NOT = 'setup.exe']", False),
        ("[file:name NOT != 'setup.exe']", True),
        # ordering
        ("[file:size > 4095]", True),
        ("[file:size >= 4096]", True),
        ("[file:size < 4096]", False),
        ("[file:size <= 4096.5]", True),
        ("[file:name > 'a']", True),
        ("[file:name < 'a']", False),
        ("[file:name < 5]", False),
        ("[file:name NOT < 5]", False),  # unlike types: false, NOT or not
        ("[file:mtime > t'2024-01-01T00:00:04Z']", True),
        ("[file:mtime < t'2024-01-01T00:00:05Z']", False),
        ("[file:mtime = t'2024-01-01T00:00:05.000Z']", True),
        # IN
        ("[file:size IN (1, 4096)]", True),
        ("[file:size IN (1, 2)]", False),
        ("[file:size NOT IN (1, 2)]", True),
        ("[file:name IN ('a', 'setup.exe')]", True),
        ("[file:x_flag IN (1, 2)]", False),
        ("[file:name IN ()]", False),
        # LIKE
        ("[file:name LIKE 'setup.%']", True),
        ("[file:name LIKE '%.exe']", True),
        ("[file:name LIKE 'set_p.exe']", True),
        ("[file:name LIKE '%tup%']", True),
        ("[file:name LIKE 'setup']", False),
        ("[file:name LIKE 'SETUP%']", False),
        ("[file:name NOT LIKE '%.pdf']", True),
        ("[file:size LIKE '4%']", False),
        # MATCHES
        ("[file:name MATCHES '^set.p\\\\.exe$']", True),
        ("[file:name MATCHES 'tup']", True),
        ("[file:name MATCHES '^tup']", False),
        ("[file:name NOT MATCHES 'pdf']", True),
        ("[file:magic_number_hex MATCHES '^MZ']", True),
        # bytes: *_hex values against hex, base64 and text literals
        ("[file:magic_number_hex = h'4d5a']", True),
        ("[file:magic_number_hex = b'TVo=']", True),
        ("[file:magic_number_hex = 'MZ']", True),
        ("[file:magic_number_hex = h'4d5b']", False),
        # hashes
        ("[file:hashes.MD5 = '0123456789abcdef0123456789abcdef']", True),
        ("[file:hashes.'SHA-256' = '0123456789abcdef0123456789abcdef']", False),
        # EXISTS
        ("[EXISTS file:name]", True),
        ("[EXISTS file:hashes.MD5]", True),
        ("[EXISTS file:parent_directory_ref]", False),
        ("[NOT EXISTS file:parent_directory_ref]", True),
        ("[NOT EXISTS file:name]", False),
        ("[EXISTS ipv4-addr:value]", False),  # no object of that type
        ("[NOT EXISTS ipv4-addr:value]", False),
        # AND and OR inside one observation: the same object for AND
        ("[file:name = 'setup.exe' AND file:size = 4096]", True),
        ("[file:name = 'setup.exe' AND file:size = 1]", False),
        ("[file:name = 'x' OR file:size = 4096]", True),
        ("[file:name = 'setup.exe' AND NOT EXISTS file:parent_directory_ref]", True),
        ("[(file:name = 'x' OR file:size = 4096) AND file:x_flag = true]", True),
    ],
)
def test_comparisons_on_a_file(pattern: str, expected: bool) -> None:
    assert matches(pattern, obs(FILE)) is expected


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("[network-traffic:dst_ref.value = '198.51.100.7']", True),
        ("[network-traffic:src_ref.value = '198.51.100.7']", False),
        ("[network-traffic:dst_ref.value ISSUBSET '198.51.100.0/24']", True),
        ("[network-traffic:protocols[*] = 'tcp']", True),
        ("[network-traffic:protocols[1] = 'tcp']", True),
        ("[network-traffic:protocols[0] = 'tcp']", False),
        ("[network-traffic:protocols[-1] = 'tls']", False),  # negative indexes select nothing
        ("[network-traffic:protocols = 'tcp']", False),  # a list is not a string
        (
            "[network-traffic:dst_port = 443 AND network-traffic:dst_ref.value = '198.51.100.7']",
            True,
        ),
        ("[network-traffic:dst_port = 443 AND ipv4-addr:value = '198.51.100.7']", False),
        ("[network-traffic:dst_port = 443 OR ipv4-addr:value = '1.1.1.1']", True),
        ("[ipv4-addr:value ISSUBSET '10.0.0.0/8']", True),
        ("[ipv4-addr:value ISSUBSET '10.0.0.0/32']", False),
        ("[ipv4-addr:value NOT ISSUBSET '10.0.0.0/8']", True),  # the other address
        ("[ipv4-addr:value ISSUPERSET '10.0.0.5']", True),
        ("[ipv4-addr:value ISSUPERSET '10.0.0.0/8']", False),
        ("[ipv4-addr:value ISSUBSET '0.0.0.0/0']", True),
    ],
)
def test_references_lists_and_networks(pattern: str, expected: bool) -> None:
    assert matches(pattern, obs(*TRAFFIC)) is expected


def test_issuperset_and_cidr_values() -> None:
    network = ip("10.1.0.0/16")
    assert matches("[ipv4-addr:value ISSUPERSET '10.1.2.3']", obs(network))
    assert matches("[ipv4-addr:value ISSUBSET '10.0.0.0/8']", obs(network))
    assert not matches("[ipv4-addr:value ISSUBSET '10.1.2.0/24']", obs(network))


def test_ipv6_networks() -> None:
    observation = obs(ip("2001:db8:1::5"))
    assert matches("[ipv6-addr:value ISSUBSET '2001:db8::/32']", observation)
    assert not matches("[ipv6-addr:value ISSUBSET '2001:db9::/32']", observation)
    assert not matches("[ipv4-addr:value ISSUBSET '10.0.0.0/8']", observation)
    assert matches("[ipv6-addr:value ISSUPERSET '2001:db8:1::5']", obs(ip("2001:db8::/32")))


def test_unicode_is_compared_in_nfc() -> None:
    decomposed = {"type": "file", "name": "cafe\u0301.txt"}
    assert matches("[file:name LIKE 'caf\u00e9%']", obs(decomposed))
    assert matches("[file:name MATCHES 'caf\u00e9']", obs(decomposed))


def test_like_matches_across_newlines() -> None:
    # SQL LIKE: % is any run of characters, newlines included (stix2-matcher differs).
    assert matches("[file:name LIKE 'a%b']", obs({"type": "file", "name": "a\nb"}))
    assert not matches("[file:name LIKE 'a']", obs({"type": "file", "name": "a\n"}))


# -- observation expressions and qualifiers ---------------------------------------------------

A, B = "[domain-name:value = 'a.example']", "[domain-name:value = 'b.example']"


def test_and_needs_two_observations() -> None:
    both = obs(domain("a.example"), domain("b.example"), at=0)
    assert matches(f"{A} AND {B}", both) is False
    assert matches(f"{A} AND {B}", obs(domain("a.example"), domain("b.example"), number=2))
    assert matches(f"{A} AND {B}", obs(domain("a.example"), at=0), obs(domain("b.example"), at=9))


def test_or() -> None:
    assert matches(f"{A} OR {B}", obs(domain("b.example")))
    assert not matches(f"{A} OR {B}", obs(domain("c.example")))


def test_followedby_is_ordered_by_time_not_by_input_order() -> None:
    a, b = domain("a.example"), domain("b.example")
    assert matches(f"{A} FOLLOWEDBY {B}", obs(b, at=5), obs(a, at=1))
    assert not matches(f"{A} FOLLOWEDBY {B}", obs(a, at=5), obs(b, at=1))
    assert matches(f"{A} FOLLOWEDBY {B}", obs(a, at=5), obs(b, at=5))  # same instant
    # Intervals: b may have been seen at 5, no earlier than a (4..6).
    assert matches(f"{A} FOLLOWEDBY {B}", obs(a, at=4, until=6), obs(b, at=2, until=5))


def test_followedby_chains() -> None:
    a, b, c = domain("a.example"), domain("b.example"), domain("c.example")
    chain = f"{A} FOLLOWEDBY {B} FOLLOWEDBY [domain-name:value = 'c.example']"
    assert matches(chain, obs(a, at=1), obs(b, at=2), obs(c, at=3))
    assert not matches(chain, obs(a, at=1), obs(b, at=4), obs(c, at=3))


def test_within() -> None:
    a, b = domain("a.example"), domain("b.example")
    assert matches(f"({A} AND {B}) WITHIN 5 SECONDS", obs(a, at=0), obs(b, at=5))
    assert not matches(f"({A} AND {B}) WITHIN 5 SECONDS", obs(a, at=0), obs(b, at=5.5))
    assert matches(f"({A} AND {B}) WITHIN 5.5 SECONDS", obs(a, at=0), obs(b, at=5.5))
    # an interval that reaches into the window is enough
    assert matches(f"({A} AND {B}) WITHIN 1 SECONDS", obs(a, at=0, until=4), obs(b, at=5))


def test_repeats() -> None:
    a = domain("a.example")
    assert not matches(f"{A} REPEATS 3 TIMES", obs(a, at=1), obs(a, at=2))
    assert matches(f"{A} REPEATS 3 TIMES", obs(a, at=1), obs(a, at=2), obs(a, at=3))
    assert matches(f"{A} REPEATS 3 TIMES", obs(a, at=1, number=3))
    assert matches(
        f"{A} REPEATS 3 TIMES WITHIN 2 SECONDS", obs(a, at=1), obs(a, at=2), obs(a, at=3)
    )
    assert not matches(
        f"{A} REPEATS 3 TIMES WITHIN 1 SECONDS", obs(a, at=1), obs(a, at=2), obs(a, at=3)
    )


def test_start_stop() -> None:
    a = domain("a.example")
    window = "START t'2024-01-01T00:00:10Z' STOP t'2024-01-01T00:00:20Z'"
    assert matches(f"{A} {window}", obs(a, at=10))
    assert matches(f"{A} {window}", obs(a, at=19.999999))
    assert not matches(f"{A} {window}", obs(a, at=20))  # STOP is exclusive
    assert not matches(f"{A} {window}", obs(a, at=9))
    assert matches(f"{A} {window}", obs(a, at=5, until=10))  # touches START
    empty = "START t'2024-01-01T00:00:10Z' STOP t'2024-01-01T00:00:10Z'"
    assert not matches(f"{A} {empty}", obs(a, at=10))


def test_qualifiers_nest() -> None:
    a, b = domain("a.example"), domain("b.example")
    pattern = f"({A} FOLLOWEDBY ({B} REPEATS 2 TIMES)) WITHIN 10 SECONDS"
    assert matches(pattern, obs(a, at=0), obs(b, at=3), obs(b, at=9))
    assert not matches(pattern, obs(a, at=0), obs(b, at=3), obs(b, at=11))
    assert not matches(pattern, obs(b, at=0), obs(b, at=3), obs(a, at=9))


def test_counts_and_seen_times() -> None:
    a, b = domain("a.example"), domain("b.example")
    found = run(
        [A, f"{A} FOLLOWEDBY {B}"],
        [obs(a, at=1, number=2), obs(b, at=2), obs(a, at=3), obs(b, at=4), obs(b, at=5)],
    )
    assert found[0].count == 3  # number_observed counts
    assert (found[0].first_seen_us - T0, found[0].last_seen_us - T0) == (1_000_000, 3_000_000)
    # three a-instances, three b: disjoint matches, each a before its b
    assert found[1].count == 3
    assert found[1].last_seen_us - found[1].first_seen_us == 4_000_000
