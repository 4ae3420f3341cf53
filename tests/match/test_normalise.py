"""Normalisation: equal things match however a producer or a sensor spelled them."""

from __future__ import annotations

import pytest

from kakehashi.match.normalise import canonical_hash_name, ipv4_value, ipv6_value

from .helpers import domain, ip, matches, obs

#: Through the compiled loop and the Python one (conftest.engine_loop).
pytestmark = pytest.mark.usefixtures("engine_loop")

SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


@pytest.mark.parametrize(
    "path",
    [
        "file:hashes.'SHA-256'",
        "file:hashes.SHA256",
        "file:hashes.sha256",
        "file:hashes.'sha-256'",
        "file:hashes.'Sha_256'",
    ],
)
@pytest.mark.parametrize("observed_name", ["SHA-256", "SHA256", "sha-256", "sha256"])
def test_hash_algorithm_names(path: str, observed_name: str) -> None:
    observation = obs({"type": "file", "hashes": {observed_name: SHA256}})
    assert matches(f"[{path} = '{SHA256}']", observation)
    assert matches(
        f"[{path} = '{SHA256}' AND NOT EXISTS file:size OR file:name = 'x']", observation
    )


@pytest.mark.parametrize(
    ("literal", "observed"),
    [(SHA256.upper(), SHA256), (SHA256, SHA256.upper()), ("0123ABCDef", "0123abcdEF")],
)
def test_hex_hash_values_ignore_case(literal: str, observed: str) -> None:
    observation = obs({"type": "file", "hashes": {"MD5": observed}})
    assert matches(f"[file:hashes.MD5 = '{literal}']", observation)
    assert matches(f"[file:hashes.MD5 IN ('x', '{literal}')]", observation)


def test_ssdeep_keeps_its_case() -> None:
    observation = obs({"type": "file", "hashes": {"SSDEEP": "3:AbC:aBc"}})
    assert matches("[file:hashes.SSDEEP = '3:AbC:aBc']", observation)
    assert not matches("[file:hashes.SSDEEP = '3:abc:abc']", observation)


def test_hash_names_are_canonical() -> None:
    assert [canonical_hash_name(n) for n in ("md5", "SHA1", "sha-1", "SHA3-256", "x-custom")] == [
        "MD5",
        "SHA-1",
        "SHA-1",
        "SHA3-256",
        "x-custom",
    ]


@pytest.mark.parametrize(
    ("literal", "observed"),
    [
        ("evil.example.com", "EVIL.Example.COM"),
        ("EVIL.example.com", "evil.example.com"),
        ("evil.example.com.", "evil.example.com"),
        ("evil.example.com", "Evil.Example.Com."),
    ],
)
def test_domain_case_and_trailing_dot(literal: str, observed: str) -> None:
    assert matches(f"[domain-name:value = '{literal}']", obs(domain(observed)))
    # also when the value is reached through a reference
    resolved = obs(
        domain("x.example"), {"type": "network-traffic", "dst_ref": "2"}, domain(observed)
    )
    assert matches(f"[network-traffic:dst_ref.value = '{literal}']", resolved)


def test_case_is_kept_where_it_matters() -> None:
    assert not matches("[file:name = 'SETUP.EXE']", obs({"type": "file", "name": "setup.exe"}))
    email = {"type": "email-addr", "value": "Bob.Smith@example.com"}
    holder = {"type": "email-message", "from_ref": "0"}
    assert not matches(
        "[email-message:from_ref.value = 'bob.smith@example.com']", obs(email, holder)
    )


@pytest.mark.parametrize(
    ("literal", "observed"),
    [
        ("2001:db8::1", "2001:DB8:0:0:0:0:0:1"),
        ("2001:DB8:0000::1", "2001:db8::1"),
        ("2001:0db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
        ("::ffff:192.0.2.1", "0:0:0:0:0:ffff:c000:201"),
    ],
)
def test_ipv6_canonical_form(literal: str, observed: str) -> None:
    assert matches(f"[ipv6-addr:value = '{literal}']", obs(ip(observed)))
    traffic = obs(ip(observed), {"type": "network-traffic", "dst_ref": "0"})
    assert matches(f"[network-traffic:dst_ref.value = '{literal}']", traffic)
    assert ipv6_value(literal) == ipv6_value(observed)


@pytest.mark.parametrize(
    ("literal", "observed"),
    [
        ("10.1.2.3/8", "10.0.0.0/8"),
        ("10.0.0.0/8", "10.200.3.4/8"),
        ("192.0.2.7/32", "192.0.2.7"),
        ("192.0.2.7", "192.0.2.7/32"),
    ],
)
def test_ipv4_cidr_host_bits_in_equality(literal: str, observed: str) -> None:
    assert matches(f"[ipv4-addr:value = '{literal}']", obs(ip(observed)))
    assert ipv4_value(literal) == ipv4_value(observed)


@pytest.mark.parametrize(
    ("literal", "observed"),
    [("2001:db8:1:2::5/32", "2001:db8::/32"), ("2001:db8::1/128", "2001:db8::1")],
)
def test_ipv6_cidr_host_bits_in_equality(literal: str, observed: str) -> None:
    assert matches(f"[ipv6-addr:value = '{literal}']", obs(ip(observed)))


def test_cidr_host_bits_in_issubset() -> None:
    assert matches("[ipv4-addr:value ISSUBSET '10.1.2.3/8']", obs(ip("10.200.0.1")))
    assert matches("[ipv6-addr:value ISSUBSET '2001:db8:ffff::1/32']", obs(ip("2001:db8::7")))
    assert matches("[ipv6-addr:value ISSUBSET '2001:db8::/32']", obs(ip("2001:DB8:0:0::7")))
    assert not matches("[ipv4-addr:value ISSUBSET '10.1.2.3/16']", obs(ip("10.2.0.1")))


def test_mac_addresses() -> None:
    assert matches(
        "[mac-addr:value = 'aa:bb:cc:dd:ee:ff']",
        obs({"type": "mac-addr", "value": "AA-BB-CC-DD-EE-FF"}),
    )


def test_like_and_matches_see_the_observed_spelling() -> None:
    # Normalisation is for =, != and IN: LIKE and MATCHES are about the text as seen.
    assert matches("[domain-name:value LIKE '%.COM']", obs(domain("evil.example.COM")))
    assert not matches("[domain-name:value LIKE '%.com']", obs(domain("evil.example.COM")))


def test_not_equal_uses_the_same_normalisation() -> None:
    assert not matches("[domain-name:value != 'example.com']", obs(domain("EXAMPLE.com.")))
