"""``vers`` range specifiers: shapes, schemes, and every malformed form refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kakehashi.advisories.errors import CannotDecide
from kakehashi.advisories.vers import parse_vers, scheme_for_vers_type
from kakehashi.advisories.versions import Scheme, VersionRange


def _shape(text: str) -> list[str]:
    return [str(r) for r in parse_vers(text).ranges]


@pytest.mark.parametrize(
    ("text", "ranges"),
    [
        ("vers:generic/>=7.0.2.3|<7.0.3", [">=7.0.2.3, <7.0.3"]),
        ("vers:npm/1.2.3|>=2.0.0|<5.0.0", [">=2.0.0, <5.0.0", "=1.2.3"]),
        ("vers:intdot/<=4.2|>5|<6|>=7", ["<=4.2", ">5, <6", ">=7"]),
        ("vers:pypi/>=1.0|!=1.5|<2.0", [">=1.0, <1.5", ">1.5, <2.0"]),
        ("vers:npm/!=1.0.0", ["<1.0.0", ">1.0.0"]),
        ("vers:generic/*", ["*"]),
        ("vers:generic/ >= 1.0 | < 2.0 ", [">=1.0, <2.0"]),
        ("vers:generic/1.0%2B2", ["=1.0+2"]),
    ],
)
def test_shapes(text: str, ranges: list[str]) -> None:
    assert _shape(text) == ranges


def test_firmware_range_orders_parts_as_numbers() -> None:
    vers = parse_vers("vers:generic/>=7.0.2.3|<7.0.3")
    assert vers.contains("7.0.2.5")
    assert not vers.contains("7.0.10")  # 7.0.10 > 7.0.9 > 7.0.3
    assert not vers.contains("7.0.2.2")
    assert vers.ranges[0] == VersionRange.between("7.0.2.3", "7.0.3")


def test_excluded_version_and_exact_versions() -> None:
    vers = parse_vers("vers:pypi/>=1.0|!=1.5|<2.0|3.0")
    assert [vers.contains(v) for v in ("1.0", "1.5", "1.9", "2.0", "3.0")] == [
        True,
        False,
        True,
        False,
        True,
    ]


@pytest.mark.parametrize(
    ("vers_type", "scheme"),
    [
        ("generic", Scheme.VENDOR),
        ("intdot", Scheme.VENDOR),
        ("npm", Scheme.SEMVER),
        ("semver", Scheme.SEMVER),
        ("deb", Scheme.DEBIAN),
        ("debian", Scheme.DEBIAN),
        ("maven", Scheme.UNSUPPORTED),
        ("rpm", Scheme.UNSUPPORTED),
        ("acme-firmware", Scheme.VENDOR),
    ],
)
def test_schemes(vers_type: str, scheme: Scheme) -> None:
    assert scheme_for_vers_type(vers_type) is scheme
    assert parse_vers(f"vers:{vers_type}/*").scheme is scheme


def test_debian_type_uses_epochs_and_tildes() -> None:
    vers = parse_vers("vers:deb/<3.0.13-1~deb12u1")
    assert vers.contains("3.0.11-1~deb12u2")
    assert not vers.contains("1:3.0.0-1")
    assert not vers.contains("3.0.13-1")


def test_unsupported_type_cannot_decide() -> None:
    vers = parse_vers("vers:rpm/<1.2.3-4")
    with pytest.raises(CannotDecide):
        vers.contains("1.2.3-3")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("1.0", "does not start with 'vers:'"),
        ("vers:/<1.0", "bad versioning type"),
        ("vers:generic", "no constraints"),
        ("vers:generic/", "no constraints"),
        ("vers:generic/>=2.0|<1.0", "unique and sorted"),
        ("vers:generic/1|1", "unique and sorted"),
        ("vers:generic/>=1|>=2", "must be followed by '<'"),
        ("vers:generic/<1|<2", "must be followed by '>'"),
        ("vers:generic/>=1|=1.5|<2", "inside an interval"),
        ("vers:generic/=0.5|<1", "inside an interval"),
        ("vers:generic/<1|*", "'*' must be the only"),
        ("vers:generic/>=1||<2", "empty constraint"),
        ("vers:generic/>=", "has no version"),
        ("vers:generic/>>1", "unknown comparator"),
        ("vers:generic/>=1.0|<1.x", "cannot sort"),
    ],
)
def test_malformed_is_cannot_decide(text: str, reason: str) -> None:
    with pytest.raises(CannotDecide) as excinfo:
        parse_vers(text)
    assert excinfo.value.scheme == "vers"
    assert excinfo.value.version == text
    assert reason in excinfo.value.reason


_VERSIONS = st.lists(st.integers(0, 20), min_size=1, max_size=4).map(
    lambda parts: ".".join(map(str, parts))
)


@given(
    low=_VERSIONS,
    high=_VERSIONS,
    probe=_VERSIONS,
)
def test_interval_agrees_with_version_range(low: str, high: str, probe: str) -> None:
    """A two-bound vers means exactly what VersionRange.between means (when well-formed)."""
    expected = VersionRange.between(low, high)
    try:
        vers = parse_vers(f"vers:generic/>={low}|<{high}")
    except CannotDecide:
        # refused only because the bounds are not strictly increasing
        assert not VersionRange.less_than(high).contains(low)
        return
    assert vers.contains(probe) == expected.contains(probe)
