"""Version comparators and version ranges for exposure matching (issue 6).

Every comparator either orders two versions or raises :class:`CannotDecide`; none of them
guesses. Three schemes are implemented here (no third-party library: ``univers`` gets
4-part firmware versions wrong, see the issue):

``vendor`` (firmware and most vendor products, also PyPI-style versions)
    Numeric parts separated by ``.``, ``-`` or ``_``, any number of them, compared as
    numbers (``7.0.10 > 7.0.9``; ``7.0.2.5`` lies inside ``[7.0.2.3, 7.0.3)``); trailing
    zeros do not count (``7.0 == 7.0.0``); a leading ``v`` is ignored. An optional
    pre-release or post-release tag follows: ``dev < alpha (a) < beta (b) < rc (c, pre,
    preview) < release < post``, with an optional number (``3.12.0rc1``, ``1.0-rc.1``,
    ``2.0.beta2``). Anything else (``15.2(4)M3``, ``1.1.1a``, ``R2.1``) cannot be decided:
    a trailing letter means "after" to OpenSSL and "before" to others.

``semver`` (npm, Cargo, Go)
    ``MAJOR.MINOR.PATCH[-pre][+build]`` by semver 2.0 precedence; build metadata is ignored.

``debian``
    ``[epoch:]upstream[-revision]`` by dpkg's algorithm: the epoch wins (``1:2.0 > 3.0``),
    ``~`` sorts before everything including the end (``1.0~rc1 < 1.0``).

>>> compare("7.0.10", "7.0.9")
1
>>> VersionRange.between("7.0.2.3", "7.0.3").contains("7.0.2.5")
True
"""

from __future__ import annotations

import enum
import functools
import re
from dataclasses import dataclass
from typing import Any

from kakehashi.advisories.errors import CannotDecide

__all__ = [
    "RangeCheck",
    "Scheme",
    "VersionRange",
    "compare",
    "range_contains",
    "scheme_for_purl_type",
    "scheme_for_version_type",
]


class Scheme(enum.Enum):
    """How versions of a product are ordered."""

    VENDOR = "vendor"
    SEMVER = "semver"
    DEBIAN = "debian"
    #: a version type we do not order (git commits, unknown ``versionType``): always undecided
    UNSUPPORTED = "unsupported"


_VERSION_TYPES = {
    "": Scheme.VENDOR,
    "custom": Scheme.VENDOR,
    "vendor": Scheme.VENDOR,
    "firmware": Scheme.VENDOR,
    "python": Scheme.VENDOR,
    "pypi": Scheme.VENDOR,
    "semver": Scheme.SEMVER,
    "npm": Scheme.SEMVER,
    "cargo": Scheme.SEMVER,
    "deb": Scheme.DEBIAN,
    "debian": Scheme.DEBIAN,
    "dpkg": Scheme.DEBIAN,
}

_PURL_TYPES = {
    "deb": Scheme.DEBIAN,
    "npm": Scheme.SEMVER,
    "cargo": Scheme.SEMVER,
    "golang": Scheme.SEMVER,
    "pypi": Scheme.VENDOR,
    "generic": Scheme.VENDOR,
}


def scheme_for_version_type(version_type: str | None) -> Scheme:
    """The scheme for a CVE JSON 5 ``versionType`` (``None``/``custom`` -> vendor).

    Types we do not order (``git``, ``rpm``, ``maven``, ...) map to ``UNSUPPORTED``, so that
    matching reports "cannot decide" rather than a wrong answer.
    """
    return _VERSION_TYPES.get((version_type or "").strip().lower(), Scheme.UNSUPPORTED)


def scheme_for_purl_type(purl_type: str) -> Scheme:
    """The scheme for a package URL type (``deb`` -> debian, ``npm`` -> semver, ...)."""
    return _PURL_TYPES.get(purl_type.lower(), Scheme.UNSUPPORTED)


# --- vendor ---------------------------------------------------------------------------

_PHASES = {
    "dev": 0,
    "a": 1,
    "alpha": 1,
    "b": 2,
    "beta": 2,
    "c": 3,
    "rc": 3,
    "pre": 3,
    "preview": 3,
    "post": 5,
}
_FINAL = 4
_VENDOR = re.compile(
    r"""
    [vV]?
    (?P<release>[0-9]+(?:[.\-_][0-9]+)*)
    (?:
        [.\-_]?
        (?P<tag>dev|alpha|beta|preview|pre|post|rc|a|b|c)
        (?:[.\-_]?(?P<num>[0-9]+))?
    )?
    """,
    re.VERBOSE | re.IGNORECASE,
)

_VendorKey = tuple[tuple[int, ...], int, int]


def _vendor_key(version: str) -> _VendorKey:
    match = _VENDOR.fullmatch(version.strip())
    if match is None:
        raise CannotDecide(
            "not numeric parts with an optional dev/alpha/beta/rc/post tag",
            version=version,
            scheme=Scheme.VENDOR.value,
        )
    parts = [int(p) for p in re.split(r"[.\-_]", match["release"])]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    tag = match["tag"]
    if tag is None:
        return (tuple(parts), _FINAL, 0)
    tag = tag.lower()
    # "1.0a" (no number) is ambiguous: OpenSSL's 1.0.2a comes after 1.0.2.
    if tag in {"a", "b", "c"} and match["num"] is None:
        raise CannotDecide(
            f"a bare letter {tag!r} may mean before or after the release",
            version=version,
            scheme=Scheme.VENDOR.value,
        )
    return (tuple(parts), _PHASES[tag], int(match["num"] or 0))


# --- semver ---------------------------------------------------------------------------

_SEMVER = re.compile(
    r"[vV]?(?P<major>0|[1-9][0-9]*)\.(?P<minor>0|[1-9][0-9]*)\.(?P<patch>0|[1-9][0-9]*)"
    r"(?:-(?P<pre>[0-9A-Za-z\-]+(?:\.[0-9A-Za-z\-]+)*))?"
    r"(?:\+[0-9A-Za-z\-]+(?:\.[0-9A-Za-z\-]+)*)?"
)


def _compare_semver(a: str, b: str) -> int:
    ka, pa = _semver_parts(a)
    kb, pb = _semver_parts(b)
    if ka != kb:
        return -1 if ka < kb else 1
    if pa == pb:
        return 0
    if not pa:
        return 1  # a release is greater than any of its pre-releases
    if not pb:
        return -1
    for x, y in zip(pa, pb, strict=False):
        if x == y:
            continue
        if x.isdigit() and y.isdigit():
            return -1 if int(x) < int(y) else 1
        if x.isdigit():
            return -1  # numeric identifiers sort before alphanumeric ones
        if y.isdigit():
            return 1
        return -1 if x < y else 1
    return -1 if len(pa) < len(pb) else (1 if len(pa) > len(pb) else 0)


def _semver_parts(version: str) -> tuple[tuple[int, int, int], tuple[str, ...]]:
    match = _SEMVER.fullmatch(version.strip())
    if match is None:
        raise CannotDecide(
            "not MAJOR.MINOR.PATCH[-pre][+build]", version=version, scheme=Scheme.SEMVER.value
        )
    core = (int(match["major"]), int(match["minor"]), int(match["patch"]))
    pre = tuple(match["pre"].split(".")) if match["pre"] else ()
    return core, pre


# --- debian ---------------------------------------------------------------------------

_DEBIAN = re.compile(
    r"(?:(?P<epoch>[0-9]+):)?(?P<upstream>[0-9][A-Za-z0-9.+~:\-]*?)(?:-(?P<rev>[A-Za-z0-9.+~]+))?"
)


def _debian_parts(version: str) -> tuple[int, str, str]:
    match = _DEBIAN.fullmatch(version.strip())
    if match is None:
        raise CannotDecide(
            "not [epoch:]upstream[-revision] with upstream starting with a digit",
            version=version,
            scheme=Scheme.DEBIAN.value,
        )
    upstream = match["upstream"]
    if ":" in upstream and match["epoch"] is None:
        raise CannotDecide(
            "a colon in the upstream version needs an epoch",
            version=version,
            scheme=Scheme.DEBIAN.value,
        )
    return int(match["epoch"] or 0), upstream, match["rev"] or "0"


def _order(char: str) -> int:
    if char == "~":
        return -1
    if char.isdigit() or not char:
        return 0
    if char.isalpha():
        return ord(char)
    return ord(char) + 256


def _verrevcmp(a: str, b: str) -> int:
    """dpkg's ``verrevcmp``: alternate non-digit runs (by ``_order``) and digit runs."""
    i = j = 0
    while i < len(a) or j < len(b):
        first_diff = 0
        while (i < len(a) and not a[i].isdigit()) or (j < len(b) and not b[j].isdigit()):
            ac = _order(a[i]) if i < len(a) else 0
            bc = _order(b[j]) if j < len(b) else 0
            if ac != bc:
                return -1 if ac < bc else 1
            i += 1
            j += 1
        while i < len(a) and a[i] == "0":
            i += 1
        while j < len(b) and b[j] == "0":
            j += 1
        while i < len(a) and a[i].isdigit() and j < len(b) and b[j].isdigit():
            if not first_diff:
                first_diff = ord(a[i]) - ord(b[j])
            i += 1
            j += 1
        if i < len(a) and a[i].isdigit():
            return 1
        if j < len(b) and b[j].isdigit():
            return -1
        if first_diff:
            return -1 if first_diff < 0 else 1
    return 0


def _compare_debian(a: str, b: str) -> int:
    ea, ua, ra = _debian_parts(a)
    eb, ub, rb = _debian_parts(b)
    if ea != eb:
        return -1 if ea < eb else 1
    return _verrevcmp(ua, ub) or _verrevcmp(ra, rb)


# --- public ---------------------------------------------------------------------------


def compare(a: str, b: str, scheme: Scheme = Scheme.VENDOR) -> int:
    """Order two versions: ``-1`` if ``a < b``, ``0`` if equal, ``1`` if ``a > b``.

    Raises:
        CannotDecide: either version does not parse under ``scheme``, or the scheme is
            ``UNSUPPORTED``.

    >>> compare("1:2.0", "3.0", Scheme.DEBIAN)
    1
    """
    ka = _key(a, scheme)
    kb = _key(b, scheme)
    if ka is None or kb is None:
        return _compare_slow(a, b, scheme)
    return (ka > kb) - (ka < kb)


def _compare_slow(a: str, b: str, scheme: Scheme) -> int:
    """The comparators themselves, without sort keys (the reference for the keys)."""
    if scheme is Scheme.VENDOR:
        ka, kb = _vendor_key(a), _vendor_key(b)
        return (ka > kb) - (ka < kb)
    if scheme is Scheme.SEMVER:
        return _compare_semver(a, b)
    if scheme is Scheme.DEBIAN:
        return _compare_debian(a, b)
    raise CannotDecide("this version type is not ordered", version=a, scheme=scheme.value)


# --- sort keys, cached ------------------------------------------------------------------
#
# Matching a country's inventory compares the same few thousand version strings millions
# of times, so each version is parsed once into a sort key (a tuple that orders exactly as
# the comparator above) and the key is cached. A version that does not parse caches its
# reason, and raises a fresh CannotDecide each time. ``None`` means "no key: use the
# comparator" (semver pre-release numbers with leading zeros, where the comparator's
# answer is not an order).

_CACHE_SIZE = 1 << 16
_Key = tuple[Any, ...]
_VENDOR_SCHEME, _SEMVER_SCHEME, _DEBIAN_SCHEME = Scheme.VENDOR, Scheme.SEMVER, Scheme.DEBIAN


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _vendor_cached(version: str) -> _Key | str:
    try:
        return _vendor_key(version)
    except CannotDecide as exc:
        return exc.reason


def _semver_key(version: str) -> _Key | None:
    core, pre = _semver_parts(version)
    if not pre:
        return (core, 1, ())
    ids: list[tuple[int, int | str]] = []
    for part in pre:
        if part.isdigit():
            if len(part) > 1 and part[0] == "0":
                return None
            ids.append((0, int(part)))
        else:
            ids.append((1, part))
    return (core, 0, tuple(ids))


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _semver_cached(version: str) -> _Key | str | None:
    try:
        return _semver_key(version)
    except CannotDecide as exc:
        return exc.reason


def _dpkg_key(text: str) -> _Key:
    """A key that orders as ``_verrevcmp``: (non-digit run, number) pairs, then an end mark.

    A non-digit run is the ``_order`` of its characters followed by 0, the order of what
    comes after it (a digit or the end); a digit run is its number. The end of the string
    is an empty run and 0, which sorts after ``~`` and before anything else, as in dpkg
    (an empty run can only start the string, so "0" at the start is the end too).
    """
    out: list[Any] = []
    i, n = 0, len(text)
    while i < n:
        j = i
        while j < n and not text[j].isdigit():
            j += 1
        out.append((*(_order(c) for c in text[i:j]), 0))
        k = j
        while k < n and text[k].isdigit():
            k += 1
        out.append(int(text[j:k]) if k > j else 0)
        i = k
    while out[-2:] == [(0,), 0]:  # only zeros ("0", "00"): the same as the end
        del out[-2:]
    out.append((0,))
    out.append(0)
    # A version that starts with zero digits ("0~1", "0a") begins with the same pair as
    # the end mark of an empty one, and a tuple that ends first sorts first; dpkg instead
    # goes on comparing the end with what follows the zeros ("" > "0~1", "" < "0a"). So
    # the first number carries that answer: (n, -1) when a "~" run follows zeros, (n, +1)
    # when anything else does, (n, 0) otherwise.
    follows = 0
    if out[1] == 0 and len(out) > 2:
        follows = 1 if out[2] > (0,) else -1
    out[1] = (out[1], follows)
    return tuple(out)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _debian_cached(version: str) -> _Key | str:
    try:
        epoch, upstream, revision = _debian_parts(version)
    except CannotDecide as exc:
        return exc.reason
    return (epoch, _dpkg_key(upstream), _dpkg_key(revision))


def _key(version: str, scheme: Scheme) -> _Key | None:
    """The cached sort key of ``version`` (``None``: compare without keys).

    Raises:
        CannotDecide: as the comparator would, for this version.
    """
    if scheme is _VENDOR_SCHEME:
        key: _Key | str | None = _vendor_cached(version)
    elif scheme is _SEMVER_SCHEME:
        key = _semver_cached(version)
    elif scheme is _DEBIAN_SCHEME:
        key = _debian_cached(version)
    else:
        raise CannotDecide("this version type is not ordered", version=version, scheme=scheme.value)
    if type(key) is str:
        raise CannotDecide(key, version=version, scheme=scheme.value)
    return key  # type: ignore[return-value]


def _cmp(a: str, b: str, scheme: Scheme) -> int:
    ka = _key(a, scheme)
    kb = _key(b, scheme)
    if ka is None or kb is None:
        return _compare_slow(a, b, scheme)
    return (ka > kb) - (ka < kb)


def range_contains(rng: VersionRange, version: str, scheme: Scheme | None = None) -> bool:
    """``rng.contains(version)`` with ``rng``'s scheme replaced by ``scheme`` when given,
    without building the explanation: the matcher's hot path.

    Compares in the same order as :meth:`VersionRange.check`, so it raises
    :class:`CannotDecide` exactly when ``check`` would.
    """
    if scheme is None:
        scheme = rng.scheme
    lower = rng.lower
    upper = rng.upper
    if lower is not None and lower == upper and rng.lower_inclusive and rng.upper_inclusive:
        return _cmp(version, lower, scheme) == 0
    if lower is not None:
        c = _cmp(version, lower, scheme)
        if not (c > 0 or (c == 0 and rng.lower_inclusive)):
            return False
    if upper is not None:
        c = _cmp(version, upper, scheme)
        if not (c < 0 or (c == 0 and rng.upper_inclusive)):
            return False
    return True


@dataclass(frozen=True, slots=True)
class RangeCheck:
    """The answer of :meth:`VersionRange.check`: inside or not, and why in words."""

    inside: bool
    why: str


@dataclass(frozen=True, slots=True)
class VersionRange:
    """A set of versions between two optional bounds, ordered by ``scheme``.

    ``lower=None`` means "from the first version", ``upper=None`` "with no end". An exact
    version is a range whose bounds are equal and inclusive. Build one with the class
    methods, which mirror the shapes of CVE JSON 5 and OSV/CSAF ranges::

        VersionRange.between("7.0.2.3", "7.0.3")         # introduced / fixed: [a, b)
        VersionRange.less_than("2.4")                    # lessThan (no lower bound)
        VersionRange.less_than_or_equal("2.4", lower="2.0")
        VersionRange.exact("1.2.3")
    """

    lower: str | None = None
    upper: str | None = None
    lower_inclusive: bool = True
    upper_inclusive: bool = False
    scheme: Scheme = Scheme.VENDOR

    @classmethod
    def exact(cls, version: str, scheme: Scheme = Scheme.VENDOR) -> VersionRange:
        """Exactly ``version``."""
        return cls(version, version, True, True, scheme)

    @classmethod
    def between(
        cls, introduced: str | None, fixed: str | None, scheme: Scheme = Scheme.VENDOR
    ) -> VersionRange:
        """From ``introduced`` (inclusive) up to ``fixed`` (exclusive)."""
        return cls(introduced, fixed, True, False, scheme)

    @classmethod
    def less_than(
        cls, version: str, *, lower: str | None = None, scheme: Scheme = Scheme.VENDOR
    ) -> VersionRange:
        """Below ``version`` (exclusive), from ``lower`` (inclusive) if given."""
        return cls(lower, version, True, False, scheme)

    @classmethod
    def less_than_or_equal(
        cls, version: str, *, lower: str | None = None, scheme: Scheme = Scheme.VENDOR
    ) -> VersionRange:
        """Up to ``version`` (inclusive), from ``lower`` (inclusive) if given."""
        return cls(lower, version, True, True, scheme)

    @property
    def is_exact(self) -> bool:
        """Whether the range holds one version only."""
        return (
            self.lower is not None
            and self.lower == self.upper
            and self.lower_inclusive
            and self.upper_inclusive
        )

    def check(self, version: str) -> RangeCheck:
        """Whether ``version`` is in the range, with the comparisons that decided it.

        Raises:
            CannotDecide: ``version`` or a bound does not parse under the scheme.
        """
        if self.is_exact and self.lower is not None:
            same = compare(version, self.lower, self.scheme) == 0
            sign = "==" if same else "!="
            return RangeCheck(same, f"{version} {sign} {self.lower} ({self.scheme.value})")
        reasons: list[str] = []
        if self.lower is not None:
            c = compare(version, self.lower, self.scheme)
            ok = c > 0 or (c == 0 and self.lower_inclusive)
            op = (">=" if self.lower_inclusive else ">") if ok else "<"
            if not ok and c == 0:
                op = "=="
            reasons.append(f"{version} {op} {self.lower}")
            if not ok:
                return RangeCheck(False, f"{reasons[-1]} ({self.scheme.value})")
        if self.upper is not None:
            c = compare(version, self.upper, self.scheme)
            ok = c < 0 or (c == 0 and self.upper_inclusive)
            op = ("<=" if self.upper_inclusive else "<") if ok else ">="
            if not ok and c > 0:
                op = ">"
            reasons.append(f"{version} {op} {self.upper}")
            if not ok:
                return RangeCheck(False, f"{reasons[-1]} ({self.scheme.value})")
        if not reasons:
            return RangeCheck(True, f"all versions ({self.scheme.value})")
        return RangeCheck(True, f"{' and '.join(reasons)} ({self.scheme.value})")

    def contains(self, version: str) -> bool:
        """Whether ``version`` is in the range (raises :class:`CannotDecide` if unknowable)."""
        return self.check(version).inside

    def __str__(self) -> str:
        if self.is_exact:
            return f"={self.lower}"
        parts = []
        if self.lower is not None:
            parts.append(f"{'>=' if self.lower_inclusive else '>'}{self.lower}")
        if self.upper is not None:
            parts.append(f"{'<=' if self.upper_inclusive else '<'}{self.upper}")
        return ", ".join(parts) if parts else "*"
