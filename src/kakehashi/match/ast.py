"""Typed nodes of a STIX 2.1 pattern; ``str(node)`` is pattern text that parses back to it.

The shape follows the grammar (STIX 2.1 part 9): a :class:`Pattern` holds one observation
expression; observation expressions combine ``[comparison expressions]`` with ``AND``,
``OR`` and ``FOLLOWEDBY`` and qualify them with ``WITHIN``, ``REPEATS`` and ``START …
STOP``; comparison expressions combine comparisons with ``AND`` and ``OR``.

Parentheses written in the pattern are kept as :class:`ComparisonGroup` and
:class:`ObservationGroup` nodes so that the canonical text of a parsed pattern is the text
it came from (single spaces, no comments)::

    >>> from kakehashi.match.parse import parse
    >>> str(parse("[ipv4-addr:value = '198.51.100.7'] WITHIN 5 SECONDS"))
    "[ipv4-addr:value = '198.51.100.7'] WITHIN 5 SECONDS"

Nodes built by hand need no groups: ``__str__`` adds the parentheses that precedence
requires (``AND`` binds tighter than ``OR``, which binds tighter than ``FOLLOWEDBY``).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

__all__ = [
    "BinaryLiteral",
    "BoolLiteral",
    "Comparison",
    "ComparisonAnd",
    "ComparisonExpression",
    "ComparisonGroup",
    "ComparisonOr",
    "Exists",
    "FloatLiteral",
    "FollowedBy",
    "IndexStep",
    "IntLiteral",
    "KeyStep",
    "Literal",
    "ObjectPath",
    "ObservationAnd",
    "ObservationExpression",
    "ObservationGroup",
    "ObservationLeaf",
    "ObservationOr",
    "Operator",
    "Pattern",
    "Repeats",
    "SetLiteral",
    "StartStop",
    "StringLiteral",
    "TimestampLiteral",
    "Within",
    "quote",
]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: Words the lexer reads as keywords; a property with one of these names must be quoted.
KEYWORDS = frozenset(
    [
        "AND",
        "OR",
        "NOT",
        "FOLLOWEDBY",
        "LIKE",
        "MATCHES",
        "ISSUPERSET",
        "ISSUBSET",
        "EXISTS",
        "LAST",
        "IN",
        "START",
        "STOP",
        "SECONDS",
        "true",
        "false",
        "WITHIN",
        "REPEATS",
        "TIMES",
    ]
)


def quote(text: str) -> str:
    """``text`` as a pattern string literal: quotes and backslashes escaped."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


# -- literals -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StringLiteral:
    """``'text'``; ``value`` is unescaped."""

    value: str

    def __str__(self) -> str:
        return quote(self.value)


@dataclass(frozen=True, slots=True)
class IntLiteral:
    """An integer; ``text`` is how the pattern wrote it (``+5`` and ``5`` are both 5)."""

    value: int
    text: str

    @classmethod
    def of(cls, value: int) -> IntLiteral:
        return cls(value, str(value))

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class FloatLiteral:
    """A decimal number (``1.5``, ``-.5``); ``text`` as written."""

    value: float
    text: str

    @classmethod
    def of(cls, text: str) -> FloatLiteral:
        return cls(float(text), text)

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class BoolLiteral:
    """``true`` or ``false`` (lower case: the grammar knows no other spelling)."""

    value: bool

    def __str__(self) -> str:
        return "true" if self.value else "false"


@dataclass(frozen=True, slots=True)
class BinaryLiteral:
    """``h'0aff'`` (hex) or ``b'aGk='`` (base64); ``value`` is the decoded bytes."""

    value: bytes
    text: str

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class TimestampLiteral:
    """``t'2024-01-01T00:00:00Z'``; ``micros`` is epoch microseconds (UTC)."""

    text: str
    micros: int

    def __str__(self) -> str:
        return f"t'{self.text}'"


Literal = StringLiteral | IntLiteral | FloatLiteral | BoolLiteral | BinaryLiteral | TimestampLiteral


@dataclass(frozen=True, slots=True)
class SetLiteral:
    """``('a', 'b')`` — the right side of ``IN``."""

    items: tuple[Literal, ...]

    def __str__(self) -> str:
        return "(" + ", ".join(str(item) for item in self.items) + ")"


# -- object paths ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KeyStep:
    """A property name; ``quoted`` when the pattern wrote it as a string literal."""

    name: str
    quoted: bool = False

    def text(self) -> str:
        if self.quoted or not _IDENTIFIER.fullmatch(self.name) or self.name in KEYWORDS:
            return quote(self.name)
        return self.name

    def __str__(self) -> str:
        return "." + self.text()


@dataclass(frozen=True, slots=True)
class IndexStep:
    """A list index ``[2]``, or every element ``[*]`` when ``index`` is ``None``."""

    index: int | None

    def __str__(self) -> str:
        return "[*]" if self.index is None else f"[{self.index}]"


Step = KeyStep | IndexStep


@dataclass(frozen=True, slots=True)
class ObjectPath:
    """``file:hashes.'SHA-256'``: an object type and the steps into the object.

    The first step is always a :class:`KeyStep` (the grammar's first path component).
    """

    object_type: str
    steps: tuple[Step, ...]

    @property
    def has_references(self) -> bool:
        """Whether a step follows a ``*_ref`` or ``*_refs`` property into another object."""
        return any(
            isinstance(step, KeyStep) and step.name.endswith(("_ref", "_refs"))
            for step in self.steps
        )

    def __str__(self) -> str:
        first, rest = self.steps[0], self.steps[1:]
        assert isinstance(first, KeyStep)
        return f"{self.object_type}:{first.text()}" + "".join(str(step) for step in rest)


# -- comparison expressions -----------------------------------------------------------------


class Operator(enum.Enum):
    """Comparison operators, valued by their pattern text."""

    EQ = "="
    NEQ = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="
    IN = "IN"
    LIKE = "LIKE"
    MATCHES = "MATCHES"
    ISSUBSET = "ISSUBSET"
    ISSUPERSET = "ISSUPERSET"


@dataclass(frozen=True, slots=True)
class Comparison:
    """``path [NOT] OPERATOR value``."""

    path: ObjectPath
    operator: Operator
    value: Literal | SetLiteral
    negated: bool = False

    def __str__(self) -> str:
        negation = "NOT " if self.negated else ""
        return f"{self.path} {negation}{self.operator.value} {self.value}"


@dataclass(frozen=True, slots=True)
class Exists:
    """``[NOT] EXISTS path``."""

    path: ObjectPath
    negated: bool = False

    def __str__(self) -> str:
        return f"{'NOT ' if self.negated else ''}EXISTS {self.path}"


@dataclass(frozen=True, slots=True)
class ComparisonAnd:
    """Comparisons that must all hold on the same object."""

    operands: tuple[ComparisonExpression, ...]

    def __str__(self) -> str:
        return " AND ".join(
            f"({op})" if isinstance(op, ComparisonOr) else str(op) for op in self.operands
        )


@dataclass(frozen=True, slots=True)
class ComparisonOr:
    """Comparisons of which one must hold."""

    operands: tuple[ComparisonExpression, ...]

    def __str__(self) -> str:
        return " OR ".join(str(op) for op in self.operands)


@dataclass(frozen=True, slots=True)
class ComparisonGroup:
    """Parentheses around a comparison expression, as written in the pattern."""

    inner: ComparisonExpression

    def __str__(self) -> str:
        return f"({self.inner})"


ComparisonExpression = Comparison | Exists | ComparisonAnd | ComparisonOr | ComparisonGroup


# -- observation expressions ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ObservationLeaf:
    """``[comparison expression]``: what one observation must show."""

    expression: ComparisonExpression

    def __str__(self) -> str:
        return f"[{self.expression}]"


@dataclass(frozen=True, slots=True)
class ObservationGroup:
    """Parentheses around an observation expression, as written in the pattern."""

    inner: ObservationExpression

    def __str__(self) -> str:
        return f"({self.inner})"


def _primary(node: ObservationExpression) -> str:
    """``node`` as the operand of a qualifier: parenthesised unless it is primary."""
    if isinstance(node, ObservationLeaf | ObservationGroup | Within | Repeats | StartStop):
        return str(node)
    return f"({node})"


@dataclass(frozen=True, slots=True)
class Within:
    """``expression WITHIN n SECONDS``; ``seconds`` is the number as written."""

    expression: ObservationExpression
    seconds: str

    @property
    def micros(self) -> int:
        """The window in whole microseconds (rounded half to even, as ``timedelta`` does)."""
        return int((Decimal(self.seconds) * 1_000_000).to_integral_value())

    def __str__(self) -> str:
        return f"{_primary(self.expression)} WITHIN {self.seconds} SECONDS"


@dataclass(frozen=True, slots=True)
class Repeats:
    """``expression REPEATS n TIMES``."""

    expression: ObservationExpression
    times: int

    def __str__(self) -> str:
        return f"{_primary(self.expression)} REPEATS {self.times} TIMES"


@dataclass(frozen=True, slots=True)
class StartStop:
    """``expression START t'…' STOP t'…'``."""

    expression: ObservationExpression
    start: TimestampLiteral
    stop: TimestampLiteral

    def __str__(self) -> str:
        return f"{_primary(self.expression)} START {self.start} STOP {self.stop}"


def _operand(node: ObservationExpression, above: type) -> str:
    """``node`` inside an n-ary observation operator of kind ``above``."""
    rank: dict[type, int] = {FollowedBy: 0, ObservationOr: 1, ObservationAnd: 2}
    mine = rank.get(type(node), 3)
    return f"({node})" if mine <= rank[above] and type(node) is not above else str(node)


@dataclass(frozen=True, slots=True)
class ObservationAnd:
    """Observation expressions that must all match, each with its own observations."""

    operands: tuple[ObservationExpression, ...]

    def __str__(self) -> str:
        return " AND ".join(_operand(op, ObservationAnd) for op in self.operands)


@dataclass(frozen=True, slots=True)
class ObservationOr:
    """Observation expressions of which one must match."""

    operands: tuple[ObservationExpression, ...]

    def __str__(self) -> str:
        return " OR ".join(_operand(op, ObservationOr) for op in self.operands)


@dataclass(frozen=True, slots=True)
class FollowedBy:
    """``a FOLLOWEDBY b FOLLOWEDBY c``: each operand matches no earlier than all before it."""

    operands: tuple[ObservationExpression, ...]

    def __str__(self) -> str:
        return " FOLLOWEDBY ".join(_operand(op, FollowedBy) for op in self.operands)


ObservationExpression = (
    ObservationLeaf
    | ObservationGroup
    | ObservationAnd
    | ObservationOr
    | FollowedBy
    | Within
    | Repeats
    | StartStop
)


@dataclass(frozen=True, slots=True)
class Pattern:
    """A whole STIX pattern."""

    root: ObservationExpression

    def __str__(self) -> str:
        return str(self.root)

    def leaves(self) -> Iterator[ObservationLeaf]:
        """The ``[…]`` observation expressions, left to right."""
        return _leaves(self.root)


def _leaves(node: ObservationExpression) -> Iterator[ObservationLeaf]:
    if isinstance(node, ObservationLeaf):
        yield node
    elif isinstance(node, ObservationGroup):
        yield from _leaves(node.inner)
    elif isinstance(node, Within | Repeats | StartStop):
        yield from _leaves(node.expression)
    else:
        for operand in node.operands:
            yield from _leaves(operand)
