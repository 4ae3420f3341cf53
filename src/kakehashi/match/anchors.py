"""Anchors: the indexable conditions a ``[…]`` cannot hold without.

An anchor is one fast-path test on one object path — a hash-map key for ``=`` and ``IN``,
a network for ``ISSUBSET``, a ``LIKE`` or ``MATCHES`` pattern, a threshold for ``<``, ``<=``,
``>``, ``>=``. A ``[…]`` is indexed under a set of anchors such that it can only hold on
an observation where one of them fires: every anchor of an ``OR``, the most selective
side of an ``AND``. When each comparison of an ``OR`` (or a lone comparison) is *exactly*
its anchors, a firing anchor decides the ``[…]``; otherwise it makes the ``[…]`` a
candidate that the evaluator checks. A ``[…]`` with no anchors (``!=``, ``NOT …``,
``EXISTS``, timestamps, …) is evaluated on every observation holding an object of a type
it names.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from kakehashi.match.ast import (
    Comparison,
    ComparisonExpression,
    ComparisonGroup,
    ComparisonOr,
    Exists,
    KeyStep,
    ObjectPath,
    Operator,
    SetLiteral,
    StringLiteral,
)
from kakehashi.match.evaluate import Stamp, ip_value, literal_value, nfc
from kakehashi.match.normalise import canonical_hash_name, plausible_forms, value_normaliser

__all__ = [
    "Anchor",
    "PathKey",
    "anchors_of",
    "exact_key",
    "is_disjunction",
    "path_key",
    "static_keys",
    "types_of",
]

#: How probes are shared: (object type, the path's steps as text).
PathKey = tuple[str, str]

# Anchor kinds, most selective first.
EQ, CIDR, LIKE, ORDER, REGEX = range(5)


@dataclass(frozen=True, slots=True)
class Anchor:
    """One indexable condition.

    Attributes:
        path: where the value is read.
        kind: ``EQ``, ``CIDR``, ``LIKE``, ``ORDER`` or ``REGEX``.
        payload: the hash key (``EQ``), ``(bits, network, prefix)`` (``CIDR``), the LIKE or
            regex text, or ``(operator, threshold)`` (``ORDER``).
        exact: whether the anchor firing is the comparison holding.
    """

    path: ObjectPath
    kind: int
    payload: Any
    exact: bool


def path_key(path: ObjectPath) -> PathKey:
    return path.object_type, str(path)[len(path.object_type) + 1 :]


def static_keys(path: ObjectPath) -> tuple[str, ...] | None:
    """The property names a path steps through when it stays inside its root object
    (hash names canonical), or ``None`` when it follows a reference."""
    if path.has_references:
        return None
    keys: list[str] = []
    for step in path.steps:
        if isinstance(step, KeyStep):
            keys.append(
                canonical_hash_name(step.name) if keys and keys[-1] == "hashes" else step.name
            )
    return tuple(keys)


def is_binary(path: ObjectPath) -> bool:
    """Whether the path ends on a ``*_hex``/``*_bin`` property (its values are bytes)."""
    keys = [step.name for step in path.steps if isinstance(step, KeyStep)]
    return bool(keys) and keys[-1].endswith(("_hex", "_bin"))


def exact_key(value: Any) -> Hashable | None:
    """The hash key an observed or literal value is filed under for ``=``, or ``None``.

    Text, numbers and bytes are their own keys (``1`` and ``1.0`` are one key, as they are
    equal in STIX); booleans are tagged so that ``true`` never meets ``1``.
    """
    kind = type(value)
    if kind is str or kind is int or kind is float or kind is bytes:
        return value  # type: ignore[no-any-return]
    if kind is bool:
        return ("bool", value)
    return None


def _eq_anchors(path: ObjectPath, literals: list[Any]) -> list[Anchor] | None:
    keys = static_keys(path)
    binary = is_binary(path)
    exact = keys is not None
    rule = value_normaliser(path.object_type, keys) if keys is not None else None
    anchors: list[Anchor] = []
    for lit in literals:
        if isinstance(lit, Stamp):
            return None  # timestamps compare parsed; leave them to the evaluator
        if binary:
            if isinstance(lit, str):
                try:
                    lit = lit.encode("latin-1")
                except UnicodeEncodeError:
                    continue  # can never equal a bytes value
            if not isinstance(lit, bytes):
                continue
            anchors.append(Anchor(path, EQ, lit, exact))
        elif isinstance(lit, bytes):
            return None  # bytes against text: the evaluator converts
        elif isinstance(lit, str):
            forms = {rule(lit) if rule else lit} if exact else plausible_forms(lit)
            anchors.extend(Anchor(path, EQ, form, exact) for form in sorted(forms))
        else:
            anchors.append(Anchor(path, EQ, exact_key(lit), exact))
    return anchors


def _comparison_anchors(comparison: Comparison) -> list[Anchor] | None:
    path, op = comparison.path, comparison.operator
    if op in (Operator.EQ, Operator.NEQ):
        if (op is Operator.EQ) == comparison.negated:
            return None  # != and NOT =: true for almost everything
        assert not isinstance(comparison.value, SetLiteral)
        return _eq_anchors(path, [literal_value(comparison.value)])
    if comparison.negated:
        return None
    if op is Operator.IN:
        assert isinstance(comparison.value, SetLiteral)
        return _eq_anchors(path, [literal_value(item) for item in comparison.value.items])
    exact = static_keys(path) is not None
    if op in (Operator.LT, Operator.LE, Operator.GT, Operator.GE):
        assert not isinstance(comparison.value, SetLiteral)
        lit = literal_value(comparison.value)
        if isinstance(lit, bool | bytes | Stamp) or is_binary(path):
            return None
        return [Anchor(path, ORDER, (op, lit), exact)]
    if is_binary(path):
        return None  # LIKE, MATCHES, ISSUBSET on bytes: the evaluator's business
    assert isinstance(comparison.value, StringLiteral)
    text = comparison.value.value
    if op is Operator.ISSUBSET:
        network = ip_value(text)
        if network is None:
            return None  # a CIDR with a netmask or other odd spelling: evaluate it
        bits, number, length = network
        shift = bits - length
        return [Anchor(path, CIDR, (bits, (number >> shift) << shift, length), exact)]
    if op is Operator.LIKE:
        return [Anchor(path, LIKE, nfc(text), exact)]
    if op is Operator.MATCHES:
        return [Anchor(path, REGEX, text, exact)]
    return None  # ISSUPERSET


def is_disjunction(expression: ComparisonExpression) -> bool:
    """Whether the expression is comparisons joined by ``OR`` only (groups allowed)."""
    if isinstance(expression, ComparisonGroup):
        return is_disjunction(expression.inner)
    if isinstance(expression, ComparisonOr):
        return all(is_disjunction(op) for op in expression.operands)
    return isinstance(expression, Comparison)


def anchors_of(expression: ComparisonExpression) -> list[Anchor] | None:
    """The anchors of a ``[…]``'s comparison expression, or ``None`` when it has none."""
    if isinstance(expression, ComparisonGroup):
        return anchors_of(expression.inner)
    if isinstance(expression, Exists):
        return None
    if isinstance(expression, Comparison):
        return _comparison_anchors(expression)
    options = [anchors_of(op) for op in expression.operands]
    if isinstance(expression, ComparisonOr):
        if any(option is None for option in options):
            return None
        return [anchor for option in options if option is not None for anchor in option]
    usable = [option for option in options if option is not None]
    if not usable:
        return None
    best = min(usable, key=lambda a: (max((x.kind for x in a), default=EQ), len(a)))
    # One side of an AND firing does not make the AND hold.
    return [Anchor(a.path, a.kind, a.payload, exact=False) for a in best]


def types_of(expression: ComparisonExpression) -> set[str]:
    """Object types the expression's paths start from."""
    if isinstance(expression, ComparisonGroup):
        return types_of(expression.inner)
    if isinstance(expression, Comparison | Exists):
        return {expression.path.object_type}
    return set().union(*(types_of(op) for op in expression.operands))
