"""``vers`` version range specifiers into :class:`VersionRange` unions (issue 6).

``vers`` is the range notation of the package URL project; CSAF 2.x uses it in
``product_version_range`` branches::

    vers:<type>/<constraint>|<constraint>|...

Read: the versioning ``type`` (lower case), then constraints separated by ``|``, each an
optional comparator (``=``, ``!=``, ``<``, ``<=``, ``>``, ``>=``; none means ``=``) and a
percent-encoded version; ``*`` alone means every version. Whitespace is not significant.

The result is a union of ranges: each ``>``/``>=`` constraint opens an interval that the
next ``<``/``<=`` closes (a leading ``<``/``<=`` closes one that starts at the first
version; a trailing ``>``/``>=`` leaves it open), each ``=`` is an exact version, and each
``!=`` version is cut out of the interval that holds it (``>=1.0|!=1.5|<2.0`` is
``[1.0, 1.5)`` and ``(1.5, 2.0)``). ``!=`` constraints with no interval at all mean
"every version but these" -- the spec's reading of a single ``!=``, and the broader, so
the safer, reading of several.

The spec's well-formedness rules are enforced because a malformed range would otherwise
read as a smaller set and turn "affected" into "not affected": versions must be unique and
sorted (``>=2.0|<1.0`` is refused, not read as empty), ``>``-like and ``<``-like
comparators must alternate, and an ``=`` may not sit inside an interval. Any violation,
or a sort that the scheme cannot decide, raises :class:`CannotDecide` (``scheme="vers"``)
so that callers report "cannot decide".

Ordering: ``npm``, ``cargo``, ``golang``, ``semver`` -> semver; ``deb``/``debian`` -> Debian;
``maven``, ``rpm``, ``apk``/``alpine``, ``alpm``, ``gentoo`` -> unsupported (their orders
differ from the vendor scheme in ways it would not notice); every other type (``generic``,
``intdot``, ``pypi``, vendor types) -> vendor, which refuses anything it cannot order.

>>> [str(r) for r in parse_vers("vers:generic/>=7.0.2.3|<7.0.3").ranges]
['>=7.0.2.3, <7.0.3']
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise
from urllib.parse import unquote

from kakehashi.advisories.errors import CannotDecide
from kakehashi.advisories.versions import Scheme, VersionRange, compare, scheme_for_purl_type

__all__ = ["Vers", "parse_vers", "scheme_for_vers_type"]

_TYPE = re.compile(r"[a-z][a-z0-9.+\-]*")
_COMPARATORS = (">=", "<=", "!=", "<", ">", "=")  # two-character ones first
_LOWER = (">", ">=")
_UPPER = ("<", "<=")
_TYPES = {
    "generic": Scheme.VENDOR,
    "intdot": Scheme.VENDOR,
    "semver": Scheme.SEMVER,
    "debian": Scheme.DEBIAN,
    "maven": Scheme.UNSUPPORTED,
    "rpm": Scheme.UNSUPPORTED,
    "apk": Scheme.UNSUPPORTED,
    "alpine": Scheme.UNSUPPORTED,
    "alpm": Scheme.UNSUPPORTED,
    "gentoo": Scheme.UNSUPPORTED,
}


def scheme_for_vers_type(vers_type: str) -> Scheme:
    """The scheme that orders versions of a ``vers`` type (see the module docstring)."""
    key = vers_type.strip().lower()
    if key in _TYPES:
        return _TYPES[key]
    scheme = scheme_for_purl_type(key)
    return Scheme.VENDOR if scheme is Scheme.UNSUPPORTED else scheme


@dataclass(frozen=True, slots=True)
class Vers:
    """A parsed ``vers``: its type, the scheme that orders it, and the union of its ranges.

    Attributes:
        text: the specifier as written.
        type: the versioning type (``generic``, ``npm``, ``deb``, ...), lower case.
        scheme: how versions of that type are ordered.
        ranges: the intervals and exact versions whose union the specifier means.
    """

    text: str
    type: str
    scheme: Scheme
    ranges: tuple[VersionRange, ...]

    def contains(self, version: str) -> bool:
        """Whether ``version`` is in one of the ranges.

        Raises:
            CannotDecide: no range contains it and one of them cannot be evaluated.
        """
        undecided: CannotDecide | None = None
        for rng in self.ranges:
            try:
                if rng.contains(version):
                    return True
            except CannotDecide as exc:
                undecided = undecided or exc
        if undecided is not None:
            raise undecided
        return False


def _fail(text: str, reason: str) -> CannotDecide:
    return CannotDecide(reason, version=text, scheme="vers")


def _constraint(item: str, text: str) -> tuple[str, str]:
    if not item:
        raise _fail(text, "empty constraint between '|'")
    if item == "*":
        raise _fail(text, "'*' must be the only constraint")
    comparator = next((c for c in _COMPARATORS if item.startswith(c)), "")
    version = unquote(item[len(comparator) :])
    if not version:
        raise _fail(text, f"constraint {item!r} has no version")
    if version[0] in "<>=!":
        raise _fail(text, f"constraint {item!r} has an unknown comparator")
    return comparator or "=", version


def parse_vers(text: str) -> Vers:
    """Parse a ``vers:`` specifier.

    Raises:
        CannotDecide: the text is not a well-formed ``vers`` (``scheme`` is ``vers``), or
            its versions cannot be put in order by the type's scheme.

    >>> parse_vers("vers:npm/1.2.3|>=2.0.0|<5.0.0").contains("3.1.0")
    True
    """
    spec = "".join(text.split())
    if not spec.startswith("vers:"):
        raise _fail(text, "does not start with 'vers:'")
    vers_type, slash, body = spec[len("vers:") :].partition("/")
    vers_type = vers_type.lower()
    if not _TYPE.fullmatch(vers_type):
        raise _fail(text, f"bad versioning type {vers_type!r}")
    if not slash or not body:
        raise _fail(text, "no constraints after the type")
    scheme = scheme_for_vers_type(vers_type)
    if body == "*":
        return Vers(text, vers_type, scheme, (VersionRange(scheme=scheme),))
    constraints = [_constraint(item, text) for item in body.split("|")]
    _check_order(constraints, scheme, text)
    ranges: list[VersionRange] = []
    bounds = [(c, v) for c, v in constraints if c in _LOWER + _UPPER]
    i = 0
    while i < len(bounds):
        comparator, version = bounds[i]
        if comparator in _UPPER:  # only possible first: alternation is checked
            ranges.append(VersionRange(None, version, True, comparator == "<=", scheme))
            i += 1
        elif i + 1 < len(bounds):
            upper_comparator, upper = bounds[i + 1]
            ranges.append(
                VersionRange(version, upper, comparator == ">=", upper_comparator == "<=", scheme)
            )
            i += 2
        else:
            ranges.append(VersionRange(version, None, comparator == ">=", False, scheme))
            i += 1
    excluded = [v for c, v in constraints if c == "!="]
    if excluded and not ranges:
        ranges.append(VersionRange(scheme=scheme))
    for version in excluded:
        ranges = _cut(ranges, version)
    ranges.extend(VersionRange.exact(v, scheme) for c, v in constraints if c == "=")
    return Vers(text, vers_type, scheme, tuple(ranges))


def _check_order(constraints: list[tuple[str, str]], scheme: Scheme, text: str) -> None:
    """The spec's rules: unique sorted versions, alternating bounds, no ``=`` inside."""
    for (_, a), (_, b) in pairwise(constraints):
        try:
            ordered = compare(a, b, scheme) < 0
        except CannotDecide as exc:
            raise _fail(text, f"cannot sort its versions: {exc}") from None
        if not ordered:
            raise _fail(text, f"versions must be unique and sorted: {a!r} then {b!r}")
    significant = [c for c, _ in constraints if c != "!="]
    for current, following in pairwise(significant):
        if current in _LOWER and following not in _UPPER and following != "=":
            raise _fail(text, f"{current!r} must be followed by '<' or '<='")
        if current in _UPPER and following in _UPPER:
            raise _fail(text, f"{current!r} must be followed by '>' or '>='")
        if current == "=" and following in _UPPER:
            raise _fail(text, "an '=' version lies inside an interval")
    open_interval = False
    for comparator in significant:
        if comparator in _LOWER:
            open_interval = True
        elif comparator in _UPPER:
            open_interval = False
        elif open_interval:
            raise _fail(text, "an '=' version lies inside an interval")


def _cut(ranges: list[VersionRange], version: str) -> list[VersionRange]:
    """``ranges`` with ``version`` removed from the interval that holds it."""
    out: list[VersionRange] = []
    for rng in ranges:
        if rng.is_exact or not rng.contains(version):
            out.append(rng)
            continue
        out.append(VersionRange(rng.lower, version, rng.lower_inclusive, False, rng.scheme))
        out.append(VersionRange(version, rng.upper, False, rng.upper_inclusive, rng.scheme))
    return out
