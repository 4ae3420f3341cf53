"""Version comparators and ranges: every trap named in issue 6 has a test here."""

from __future__ import annotations

import pytest

from kakehashi.advisories.errors import CannotDecide
from kakehashi.advisories.versions import (
    Scheme,
    VersionRange,
    compare,
    scheme_for_purl_type,
    scheme_for_version_type,
)


def test_firmware_numeric_parts_compare_as_numbers() -> None:
    assert compare("7.0.10", "7.0.9") == 1
    assert compare("7.0.9", "7.0.10") == -1


def test_four_part_firmware_inside_half_open_range() -> None:
    rng = VersionRange.between("7.0.2.3", "7.0.3")
    assert rng.contains("7.0.2.5")
    assert rng.contains("7.0.2.3")
    assert not rng.contains("7.0.3")
    assert not rng.contains("7.0.2.2")
    assert not rng.contains("7.0.3.0.1")


def test_trailing_zeros_are_equal() -> None:
    assert compare("7.0", "7.0.0") == 0
    assert compare("7", "7.0.0.0") == 0
    assert compare("7.0.0.1", "7.0") == 1


def test_dash_and_underscore_separate_parts() -> None:
    assert compare("7-0-10", "7.0.9") == 1
    assert compare("v2.1_3", "2.1.3") == 0


@pytest.mark.parametrize(
    ("lower", "higher"),
    [
        ("3.12.0rc1", "3.12.0"),
        ("3.12.0a1", "3.12.0b1"),
        ("3.12.0b2", "3.12.0rc1"),
        ("1.0-alpha", "1.0-beta"),
        ("1.0-beta.2", "1.0-rc.1"),
        ("1.0-rc.1", "1.0-rc.2"),
        ("1.0-rc.1", "1.0"),
        ("1.0.dev1", "1.0a1"),
        ("1.0", "1.0.post1"),
        ("3.11.9", "3.12.0rc1"),
    ],
)
def test_pre_releases_sort_before_the_release(lower: str, higher: str) -> None:
    assert compare(lower, higher) == -1
    assert compare(higher, lower) == 1


def test_pre_release_of_fixed_version_is_still_affected() -> None:
    assert VersionRange.less_than("3.12.0").contains("3.12.0rc1")


@pytest.mark.parametrize("bad", ["15.2(4)M3", "1.1.1a", "R2.1", "", "latest", "1.0-SNAPSHOT"])
def test_unparseable_vendor_version_cannot_be_decided(bad: str) -> None:
    with pytest.raises(CannotDecide) as excinfo:
        compare(bad, "1.0")
    assert excinfo.value.version == bad
    assert excinfo.value.scheme == "vendor"


def test_range_with_unparseable_version_raises_never_answers_false() -> None:
    with pytest.raises(CannotDecide):
        VersionRange.between("1.0", "2.0").contains("2.x-beta-build")


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("1:2.0", "3.0", 1),
        ("1.0~rc1", "1.0", -1),
        ("1.0~rc1", "1.0~rc2", -1),
        ("1.0~~", "1.0~", -1),
        ("2.36-9+deb12u4", "2.36-9+deb12u3", 1),
        ("2.36-9", "2.36-9+deb12u1", -1),
        ("1.2.3-1", "1.2.3-1", 0),
        ("1.2.3", "1.2.3-0", 0),
        ("0:1.0", "1.0", 0),
        ("1.10", "1.9", 1),
        ("1.0a", "1.0", 1),
        ("1.0+dfsg-1", "1.0-1", 1),
        ("1.0-1-2", "1.0-1-1", 1),
    ],
)
def test_debian_epochs_tildes_and_revisions(a: str, b: str, expected: int) -> None:
    assert compare(a, b, Scheme.DEBIAN) == expected


def test_debian_upstream_must_start_with_digit() -> None:
    with pytest.raises(CannotDecide):
        compare("abc", "1.0", Scheme.DEBIAN)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("1.0.0+build.1", "1.0.0+build.2", 0),
        ("1.0.0-alpha", "1.0.0", -1),
        ("1.0.0-alpha", "1.0.0-alpha.1", -1),
        ("1.0.0-alpha.1", "1.0.0-alpha.beta", -1),
        ("1.0.0-beta.2", "1.0.0-beta.11", -1),
        ("1.0.0-rc.1", "1.0.0", -1),
        ("1.10.0", "1.9.0", 1),
        ("v2.0.0", "2.0.0", 0),
    ],
)
def test_semver_precedence_ignores_build_metadata(a: str, b: str, expected: int) -> None:
    assert compare(a, b, Scheme.SEMVER) == expected


def test_semver_needs_three_parts() -> None:
    with pytest.raises(CannotDecide):
        compare("1.0", "1.0.0", Scheme.SEMVER)


def test_unsupported_scheme_never_decides() -> None:
    with pytest.raises(CannotDecide):
        compare("abc123", "abc123", Scheme.UNSUPPORTED)


def test_range_shapes_and_bounds() -> None:
    assert VersionRange.less_than_or_equal("2.4", lower="2.0").contains("2.4")
    assert not VersionRange.less_than("2.4").contains("2.4")
    assert VersionRange.exact("1.2").contains("1.2.0")
    assert not VersionRange.exact("1.2").contains("1.2.1")
    assert VersionRange().contains("anything-goes") is True
    exclusive = VersionRange("1.0", None, lower_inclusive=False)
    assert not exclusive.contains("1.0")
    assert exclusive.contains("1.0.1")


def test_range_says_why() -> None:
    check = VersionRange.between("7.0.2.3", "7.0.3").check("7.0.2.5")
    assert check.inside
    assert check.why == "7.0.2.5 >= 7.0.2.3 and 7.0.2.5 < 7.0.3 (vendor)"
    outside = VersionRange.between("7.0.2.3", "7.0.3").check("7.0.3")
    assert outside.why == "7.0.3 >= 7.0.3 (vendor)"
    assert "!=" in VersionRange.exact("1.0").check("1.1").why


def test_range_text() -> None:
    assert str(VersionRange.between("7.0.2.3", "7.0.3")) == ">=7.0.2.3, <7.0.3"
    assert str(VersionRange.less_than_or_equal("2.4")) == "<=2.4"
    assert str(VersionRange.exact("1.0")) == "=1.0"
    assert str(VersionRange()) == "*"


def test_scheme_lookup() -> None:
    assert scheme_for_version_type(None) is Scheme.VENDOR
    assert scheme_for_version_type("custom") is Scheme.VENDOR
    assert scheme_for_version_type("semver") is Scheme.SEMVER
    assert scheme_for_version_type("git") is Scheme.UNSUPPORTED
    assert scheme_for_purl_type("deb") is Scheme.DEBIAN
    assert scheme_for_purl_type("npm") is Scheme.SEMVER
    assert scheme_for_purl_type("maven") is Scheme.UNSUPPORTED
