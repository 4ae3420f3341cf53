"""Evaluate comparison expressions on one observation: the exact semantics, no index.

The semantics are those of STIX 2.1 part 9 as the OASIS matcher (stix2-matcher) reads
them, which the differential test checks:

- A path selects values from each object of its type (the *root* objects): ``*_ref``
  properties are followed to the object they name in the same observation, ``*_refs`` to
  a list of objects, ``[n]`` picks a list element, ``[*]`` every element; ``*_hex`` and
  ``*_bin`` values are compared as bytes.
- A comparison holds on a root object when one of its selected values passes the test;
  ``NOT`` negates the test per value, so a path that selects nothing never holds.
- ``AND`` needs both sides to hold on the same root object; ``OR`` on either.
- ``=`` between unlike types is false (``1 = '1'`` is false, ``1 = 1.0`` true, ``true = 1``
  false); ``<`` and friends between unlike types are false even under ``NOT``.
- ``LIKE`` is SQL's: ``%`` any run, ``_`` one character, the whole value; ``MATCHES`` is a
  Python regex searched anywhere in the value. Both compare NFC-normalised text.
- ``ISSUBSET``: the value (an address or CIDR) lies inside the literal CIDR;
  ``ISSUPERSET``: the literal lies inside the value. IPv4 and IPv6 both.
- ``EXISTS path`` holds on a root object where the path selects something; ``NOT EXISTS``
  where it selects nothing.

Equality and ``IN`` compare normalised values (:mod:`kakehashi.match.normalise`).
"""

from __future__ import annotations

import base64
import binascii
import operator
import re
import socket
import unicodedata
from collections.abc import Callable, Mapping
from typing import Any

from kakehashi.match.ast import (
    BinaryLiteral,
    BoolLiteral,
    Comparison,
    ComparisonAnd,
    ComparisonExpression,
    ComparisonGroup,
    ComparisonOr,
    Exists,
    FloatLiteral,
    IntLiteral,
    KeyStep,
    Literal,
    ObjectPath,
    Operator,
    SetLiteral,
    StringLiteral,
    TimestampLiteral,
)
from kakehashi.match.normalise import Normaliser, canonical_hash_name, value_normaliser
from kakehashi.match.observation import SCO
from kakehashi.match.parse import compile_regex, parse_network
from kakehashi.stix.timestamps import parse_timestamp_us

__all__ = [
    "MISSING",
    "ObservationView",
    "RootsOf",
    "Selected",
    "Stamp",
    "Test",
    "compile_expression",
    "compile_test",
    "equal",
    "hash_entry",
    "ip_value",
    "like_regex",
    "literal_value",
    "nfc",
    "select",
    "within",
]

#: A selected value, the type of the object holding it, and the keys inside that object.
Selected = tuple[Any, str | None, tuple[str, ...]]
#: A value test: (value, holder type, keys) -> passes.
Test = Callable[[Any, str | None, tuple[str, ...]], bool]
#: A compiled comparison expression: the keys of the root objects on which it holds.
RootsOf = Callable[["ObservationView"], set[str]]

#: What a path step finds when the property is absent.
MISSING = object()
_REFS = ("*refs*",)  # marks a list of objects reached through a *_refs property


class ObservationView:
    """An observation's objects with a lazily built by-type index."""

    __slots__ = ("_by_type", "objects")

    def __init__(self, objects: Mapping[str, SCO]) -> None:
        self.objects = objects
        self._by_type: dict[str, list[tuple[str, SCO]]] | None = None

    def of_type(self, object_type: str) -> list[tuple[str, SCO]]:
        if self._by_type is None:
            by_type: dict[str, list[tuple[str, SCO]]] = {}
            for key, obj in self.objects.items():
                if isinstance(obj, Mapping):  # anything else in a bundle is not an SCO
                    by_type.setdefault(str(obj.get("type")), []).append((key, obj))
            self._by_type = by_type
        return self._by_type.get(object_type, [])


# -- paths ----------------------------------------------------------------------------------


def hash_entry(hashes: Mapping[str, Any], name: str) -> Any:
    if name in hashes:
        return hashes[name]
    for key, value in hashes.items():
        if canonical_hash_name(key) == name:
            return value
    return MISSING


def _decoded(name: str, value: Any) -> Any:
    """``*_hex`` and ``*_bin`` values as bytes (``MISSING`` when they do not decode)."""
    if not isinstance(value, str):
        return MISSING
    try:
        if name.endswith("_hex"):
            return binascii.a2b_hex(value)
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return MISSING


def select(path: ObjectPath, root: SCO, objects: Mapping[str, SCO]) -> list[Selected]:
    """The values ``path`` selects from ``root`` (an object of ``path.object_type``)."""
    current: list[Selected] = [(root, root.get("type"), ())]
    for step in path.steps:
        found: list[Selected] = []
        if isinstance(step, KeyStep):
            for value, owner, keys in current:
                if not isinstance(value, Mapping):
                    continue
                name = step.name
                if keys and keys[-1] == "hashes":
                    name = canonical_hash_name(name)
                    item = hash_entry(value, name)
                else:
                    item = value.get(name, MISSING)
                if item is MISSING:
                    continue
                if name.endswith(("_hex", "_bin")):
                    item = _decoded(name, item)
                    if item is MISSING:
                        continue
                if name.endswith("_ref"):
                    target = objects.get(item) if isinstance(item, str) else None
                    if target is not None:
                        found.append((target, target.get("type"), ()))
                elif name.endswith("_refs"):
                    if isinstance(item, list):
                        targets = [objects[r] for r in item if isinstance(r, str) and r in objects]
                        if targets:
                            found.append((targets, None, _REFS))
                else:
                    found.append((item, owner, (*keys, name)))
        else:
            for value, owner, keys in current:
                if not isinstance(value, list):
                    continue
                items = value if step.index is None else value[step.index : step.index + 1]
                if step.index is not None and step.index < 0:
                    items = []  # as stix2-matcher: negative indexes select nothing
                for item in items:
                    if keys is _REFS:
                        found.append((item, item.get("type"), ()))
                    else:
                        found.append((item, owner, keys))
        current = found
        if not current:
            break
    return current


# -- literals and values --------------------------------------------------------------------


class Stamp(int):
    """A timestamp literal's value: epoch microseconds, kept apart from integers."""


def literal_value(literal: Literal) -> Any:
    """The Python value a literal compares as: str, int, float, bool, bytes or :class:`Stamp`."""
    if isinstance(literal, TimestampLiteral):
        return Stamp(literal.micros)
    assert isinstance(
        literal, StringLiteral | IntLiteral | FloatLiteral | BoolLiteral | BinaryLiteral
    )
    return literal.value


def _latin1(text: str) -> bytes | None:
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return None


def _stamp(value: str) -> int | None:
    try:
        return parse_timestamp_us(value)
    except ValueError:
        return None


def equal(value: Any, lit: Any) -> bool:
    """STIX equality between an observed value and a literal's value (typed, see above)."""
    kind = type(lit)
    seen = type(value)
    if kind is str:
        if seen is str:
            return bool(value == lit)
        return seen is bytes and _latin1(lit) == value
    if kind is int or kind is float:
        return (seen is int or seen is float) and value == lit
    if kind is bool:
        return seen is bool and value is lit
    if kind is bytes:
        if seen is bytes:
            return bool(value == lit)
        return seen is str and _latin1(value) == lit
    if kind is Stamp:
        return seen is str and _stamp(value) == lit
    return False


_INCOMPARABLE = object()
_UNCONVERTIBLE = object()


def _compare(value: Any, lit: Any) -> Any:
    """-1, 0 or 1; ``_INCOMPARABLE`` for unlike types; ``_UNCONVERTIBLE`` for bytes against
    text with characters above U+00FF (stix2-matcher's two kinds of "false")."""
    kind = type(lit)
    seen = type(value)
    if kind is Stamp:
        if seen is not str:
            return _INCOMPARABLE
        stamp = _stamp(value)
        if stamp is None:
            return _INCOMPARABLE
        value, lit = stamp, int(lit)
    elif kind is int or kind is float:
        if seen is not int and seen is not float:
            return _INCOMPARABLE
    elif kind is str:
        if seen is bytes:
            converted = _latin1(lit)
            if converted is None:
                return _UNCONVERTIBLE
            lit = converted
        elif seen is not str:
            return _INCOMPARABLE
    elif kind is bytes:
        if seen is str:
            converted = _latin1(value)
            if converted is None:
                return _UNCONVERTIBLE
            value = converted
        elif seen is not bytes:
            return _INCOMPARABLE
    else:
        return _INCOMPARABLE
    return (value > lit) - (value < lit)


def like_regex(like: str) -> re.Pattern[str]:
    """SQL ``LIKE`` as a regex for ``fullmatch``: ``%`` any run, ``_`` one character."""
    like = unicodedata.normalize("NFC", like)
    parts = [".*" if c == "%" else "." if c == "_" else re.escape(c) for c in like]
    return re.compile("".join(parts), re.DOTALL)


def nfc(text: str) -> str:
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def ip_value(text: str) -> tuple[int, int, int] | None:
    """``(bits, address as int, prefix length)`` of an address or CIDR text, else ``None``."""
    address, slash, length = text.partition("/")
    family, bits = (socket.AF_INET6, 128) if ":" in address else (socket.AF_INET, 32)
    try:
        number = int.from_bytes(socket.inet_pton(family, address), "big")
    except (OSError, ValueError):
        return None
    if not slash:
        return bits, number, bits
    if not length.isdigit() or not length.isascii() or int(length) > bits:
        return None
    return bits, number, int(length)


def within(inner: tuple[int, int, int], outer: tuple[int, int, int]) -> bool:
    """Whether address/CIDR ``inner`` lies inside CIDR ``outer`` (same family)."""
    bits, number, length = inner
    outer_bits, outer_number, outer_length = outer
    if bits != outer_bits or length < outer_length:
        return False
    shift = bits - outer_length
    return number >> shift == outer_number >> shift


# -- tests ----------------------------------------------------------------------------------

_ORDER: dict[Operator, Callable[[int, int], bool]] = {
    Operator.LT: operator.lt,
    Operator.LE: operator.le,
    Operator.GT: operator.gt,
    Operator.GE: operator.ge,
}


def _normalised(lit: Any) -> Callable[[Normaliser], Any]:
    """The literal under a normalisation rule, memoised per rule."""
    cache: dict[Normaliser, Any] = {}

    def under(rule: Normaliser) -> Any:
        if rule not in cache:
            cache[rule] = rule(lit) if isinstance(lit, str) else lit
        return cache[rule]

    return under


def compile_test(comparison: Comparison) -> Test:
    """The value test of a comparison (everything but the path)."""
    op, negated = comparison.operator, comparison.negated
    if op in (Operator.EQ, Operator.NEQ, Operator.IN):
        if isinstance(comparison.value, SetLiteral):
            members = [literal_value(item) for item in comparison.value.items]
        else:
            members = [literal_value(comparison.value)]
        under = [_normalised(member) for member in members]
        flip = negated != (op is Operator.NEQ)

        def equality(value: Any, owner: str | None, keys: tuple[str, ...]) -> bool:
            rule = value_normaliser(owner, keys)
            if rule is not None and type(value) is str:
                value = rule(value)
                return any(equal(value, norm(rule)) for norm in under) != flip
            return any(equal(value, member) for member in members) != flip

        return equality
    assert not isinstance(comparison.value, SetLiteral)
    if op in _ORDER:
        lit = literal_value(comparison.value)
        order = _ORDER[op]

        def ordering(value: Any, owner: str | None, keys: tuple[str, ...]) -> bool:
            result = _compare(value, lit)
            if result is _INCOMPARABLE:
                return False
            return (result is not _UNCONVERTIBLE and order(result, 0)) != negated

        return ordering
    assert isinstance(comparison.value, StringLiteral)
    text = comparison.value.value
    if op is Operator.LIKE:
        regex = like_regex(text)
        binary = all(ord(c) < 256 for c in text)

        def like(value: Any, owner: str | None, keys: tuple[str, ...]) -> bool:
            if type(value) is bytes and binary:
                try:
                    value = value.decode("utf-8")
                except UnicodeDecodeError:
                    return negated
            if type(value) is not str:
                return negated
            return (regex.fullmatch(nfc(value)) is not None) != negated

        return like
    if op is Operator.MATCHES:
        text_regex, bytes_regex = compile_regex(text)

        def matches(value: Any, owner: str | None, keys: tuple[str, ...]) -> bool:
            if type(value) is str:
                return (text_regex.search(nfc(value)) is not None) != negated
            if type(value) is bytes and bytes_regex is not None:
                return (bytes_regex.search(value) is not None) != negated
            return negated

        return matches
    network = parse_network(text)
    assert network is not None  # parse() refuses anything else
    literal_ip = (network.max_prefixlen, int(network.network_address), network.prefixlen)
    subset = op is Operator.ISSUBSET

    def cidr(value: Any, owner: str | None, keys: tuple[str, ...]) -> bool:
        if type(value) is not str:
            return negated
        seen = ip_value(value)
        if seen is None:
            return negated
        inside = within(seen, literal_ip) if subset else within(literal_ip, seen)
        return inside != negated

    return cidr


def compile_expression(expression: ComparisonExpression) -> RootsOf:
    """A function giving the root objects of an observation on which ``expression`` holds."""
    if isinstance(expression, ComparisonGroup):
        return compile_expression(expression.inner)
    if isinstance(expression, ComparisonAnd | ComparisonOr):
        parts = [compile_expression(op) for op in expression.operands]
        if isinstance(expression, ComparisonAnd):

            def all_of(view: ObservationView) -> set[str]:
                roots = parts[0](view)
                for part in parts[1:]:
                    if not roots:
                        break
                    roots &= part(view)
                return roots

            return all_of

        def any_of(view: ObservationView) -> set[str]:
            roots: set[str] = set()
            for part in parts:
                roots |= part(view)
            return roots

        return any_of
    path = expression.path
    object_type = path.object_type
    if isinstance(expression, Exists):
        negated = expression.negated

        def exists(view: ObservationView) -> set[str]:
            return {
                key
                for key, obj in view.of_type(object_type)
                if bool(select(path, obj, view.objects)) != negated
            }

        return exists
    test = compile_test(expression)

    def compare(view: ObservationView) -> set[str]:
        return {
            key
            for key, obj in view.of_type(object_type)
            if any(test(*item) for item in select(path, obj, view.objects))
        }

    return compare
