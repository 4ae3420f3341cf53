"""Parse STIX 2.1 pattern text into :mod:`kakehashi.match.ast` nodes.

The grammar is the OASIS one, run by ``stix2-patterns`` (ANTLR). Its parse tree is turned
into typed nodes here, and the literals are checked beyond what the grammar can say
(timestamps that name no day, ``REPEATS 0``, regexes that do not compile, CIDRs that are
not CIDRs, sets that mix types), so that a pattern that parses can always be evaluated.

Nearly every indicator in a real feed is one ``[…]`` of comparisons joined by ``AND`` or
``OR`` (``[file:hashes.MD5 = '…' OR file:hashes.'SHA-256' = '…']``). ANTLR in Python takes
~130 µs for the simplest of them and milliseconds for longer ones — two minutes or more for
a million indicators — so that shape (single spaces, no parentheses, string and integer
literals) is read with regular expressions instead; ``tests/match/test_parse.py`` checks
that both routes give the same nodes, and everything else goes through ANTLR.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
import unicodedata
from typing import Any

from stix2patterns.v21.pattern import Pattern as _AntlrPattern  # type: ignore[import-untyped]

from kakehashi.match.ast import (
    KEYWORDS,
    BinaryLiteral,
    BoolLiteral,
    Comparison,
    ComparisonAnd,
    ComparisonExpression,
    ComparisonGroup,
    ComparisonOr,
    Exists,
    FloatLiteral,
    FollowedBy,
    IndexStep,
    IntLiteral,
    KeyStep,
    Literal,
    ObjectPath,
    ObservationAnd,
    ObservationExpression,
    ObservationGroup,
    ObservationLeaf,
    ObservationOr,
    Operator,
    Pattern,
    Repeats,
    SetLiteral,
    StartStop,
    Step,
    StringLiteral,
    TimestampLiteral,
    Within,
)
from kakehashi.match.errors import PatternSyntaxError
from kakehashi.stix.timestamps import parse_timestamp_us

__all__ = ["compile_regex", "parse", "parse_network"]

# The fast path: one [...] of comparisons joined by AND/OR, single spaces, no parentheses,
# string or integer literals. Anything else, and anything odd in here, goes to ANTLR.
_FAST_COMPARISON = re.compile(
    r"([A-Za-z_][A-Za-z0-9_-]*):([A-Za-z_][A-Za-z0-9_]*)"
    r"((?:\.(?:[A-Za-z_][A-Za-z0-9_]*|'[^'\\]*'))*)"
    r" (NOT )?(=|!=|<|<=|>|>=|LIKE|MATCHES|ISSUBSET|ISSUPERSET)"
    r" (?:'((?:[^'\\]|\\['\\])*)'|([+-]?(?:0|[1-9][0-9]*))(?![0-9.]))"
)
_FAST_JOIN = re.compile(r" (AND|OR) ")
_FAST_STEP = re.compile(r"\.(?:([A-Za-z_][A-Za-z0-9_]*)|'([^'\\]*)')")
_UNESCAPE = re.compile(r"\\(['\\])")
_ERROR_AT = re.compile(r"^\d+:(\d+): ")
_STRING_ONLY = frozenset({Operator.LIKE, Operator.MATCHES, Operator.ISSUBSET, Operator.ISSUPERSET})


def parse(text: str) -> Pattern:
    """Parse a STIX 2.1 pattern.

    Raises:
        PatternSyntaxError: when the text is not a valid pattern, or names something that
            cannot be evaluated (an invalid regex or CIDR, ``REPEATS 0 TIMES``, ...).

    Example::

        >>> parse("[domain-name:value = 'example.com']").root
        ObservationLeaf(expression=Comparison(...))
    """
    fast = _parse_flat(text)
    if fast is not None:
        return fast
    return _Builder(text).pattern(_antlr_tree(text))


def _parse_flat(text: str) -> Pattern | None:
    """``[a:b = 'x' OR a:c = 1 AND …]`` read by regular expressions, or ``None``."""
    if not (text.startswith("[") and text.endswith("]")):
        return None
    pos, end = 1, len(text) - 1
    ors: list[list[ComparisonExpression]] = [[]]
    while True:
        found = _FAST_COMPARISON.match(text, pos, end)
        if found is None:
            return None
        comparison = _flat_comparison(found)
        if comparison is None:
            return None
        _check_comparison(comparison, text)
        ors[-1].append(comparison)
        pos = found.end()
        if pos == end:
            break
        join = _FAST_JOIN.match(text, pos, end)
        if join is None:
            return None
        if join[1] == "OR":
            ors.append([])
        pos = join.end()
    parts = [ands[0] if len(ands) == 1 else ComparisonAnd(tuple(ands)) for ands in ors]
    return Pattern(ObservationLeaf(parts[0] if len(parts) == 1 else ComparisonOr(tuple(parts))))


def _flat_comparison(found: re.Match[str]) -> Comparison | None:
    object_type, first, rest, negation, op_text, string, number = found.groups()
    if object_type in KEYWORDS or first in KEYWORDS:
        return None
    steps: list[Step] = [KeyStep(first)]
    for name, quoted in _FAST_STEP.findall(rest):
        if name in KEYWORDS:
            return None
        steps.append(KeyStep(name) if name else KeyStep(quoted, quoted=True))
    op = Operator(op_text)
    value: Literal
    if string is not None:
        value = StringLiteral(_UNESCAPE.sub(r"\1", string))
    elif op in _STRING_ONLY:
        return None
    else:
        value = IntLiteral(int(number), number)
    return Comparison(ObjectPath(object_type, tuple(steps)), op, value, negation is not None)


def _antlr_tree(text: str) -> Any:
    try:
        parsed = _AntlrPattern(text)
    except RecursionError as exc:
        raise PatternSyntaxError("the pattern nests too deeply", pattern=text) from exc
    except Exception as exc:  # ParseException, and antlr's own errors on odd input
        message = str(exc) or type(exc).__name__
        at = _ERROR_AT.match(message)
        column = int(at[1]) + 1 if at else None
        reason = message[at.end() :] if at else message
        raise PatternSyntaxError(reason, pattern=text, column=column) from exc
    # Pattern.visit() hands the root of the parse tree to visitor.visit(); this "visitor"
    # just returns it, and _Builder walks it with the typed accessors of each context.
    return parsed.visit(_TreeGrabber())


class _TreeGrabber:
    def visit(self, tree: Any) -> Any:
        return tree


def compile_regex(
    source: str, *, pattern: str = ""
) -> tuple[re.Pattern[str], re.Pattern[bytes] | None]:
    """The ``MATCHES`` regex (Python syntax, searched, not anchored) and its bytes twin.

    The bytes twin exists when every character is below U+0100, so that ``*_hex`` and
    ``*_bin`` values can be searched as bytes, as stix2-matcher does.

    Raises:
        PatternSyntaxError: when the regex does not compile.
    """
    source = unicodedata.normalize("NFC", source)
    try:
        text_regex = re.compile(source)
        bytes_regex = (
            re.compile(source.encode("latin-1")) if all(ord(c) < 256 for c in source) else None
        )
    except (re.error, OverflowError) as exc:
        raise PatternSyntaxError(
            f"MATCHES {source!r} is not a valid regex: {exc}", pattern=pattern
        ) from exc
    return text_regex, bytes_regex


def parse_network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """``10.0.0.0/8``, ``2001:db8::/32`` or a bare address, host bits allowed; else ``None``."""
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


def _check_comparison(comparison: Comparison, pattern: str) -> None:
    """Refuse what parses but cannot be evaluated."""
    op, value = comparison.operator, comparison.value
    if op is Operator.MATCHES:
        assert isinstance(value, StringLiteral)
        compile_regex(value.value, pattern=pattern)
    elif op in (Operator.ISSUBSET, Operator.ISSUPERSET):
        assert isinstance(value, StringLiteral)
        if parse_network(value.value) is None:
            raise PatternSyntaxError(
                f"{op.value} needs an IPv4 or IPv6 address or CIDR, not {value}", pattern=pattern
            )
    elif op is Operator.IN:
        assert isinstance(value, SetLiteral)
        kinds = {_kind(item) for item in value.items}
        if len(kinds) > 1:
            raise PatternSyntaxError(f"the set {value} mixes types", pattern=pattern)


def _kind(literal: Literal) -> str:
    if isinstance(literal, IntLiteral | FloatLiteral):
        return "number"
    return type(literal).__name__


class _Builder:
    """Turns an ANTLR parse tree (stix2-patterns' v21 grammar) into typed nodes."""

    def __init__(self, text: str) -> None:
        self.text = text

    def fail(self, reason: str) -> PatternSyntaxError:
        return PatternSyntaxError(reason, pattern=self.text)

    def pattern(self, ctx: Any) -> Pattern:
        return Pattern(self.observations(ctx.observationExpressions()))

    # observation expressions: FOLLOWEDBY < OR < AND < qualified < [ ] and ( )

    def observations(self, ctx: Any) -> ObservationExpression:
        parts = ctx.observationExpressions()
        if parts:
            return _observations(FollowedBy, [self.observations(p) for p in parts])
        return self.observation_or(ctx.observationExpressionOr())

    def observation_or(self, ctx: Any) -> ObservationExpression:
        parts = ctx.observationExpressionOr()
        if parts:
            return _observations(ObservationOr, [self.observation_or(p) for p in parts])
        return self.observation_and(ctx.observationExpressionAnd())

    def observation_and(self, ctx: Any) -> ObservationExpression:
        parts = ctx.observationExpressionAnd()
        if parts:
            return _observations(ObservationAnd, [self.observation_and(p) for p in parts])
        return self.observation(ctx.observationExpression())

    def observation(self, ctx: Any) -> ObservationExpression:
        kind = type(ctx).__name__
        if kind == "ObservationExpressionSimpleContext":
            return ObservationLeaf(self.comparison_or(ctx.comparisonExpression()))
        if kind == "ObservationExpressionCompoundContext":
            return ObservationGroup(self.observations(ctx.observationExpressions()))
        inner = self.observation(ctx.observationExpression())
        if kind == "ObservationExpressionWithinContext":
            qualifier = ctx.withinQualifier()
            token = qualifier.IntPosLiteral() or qualifier.FloatPosLiteral()
            seconds = token.getText()
            if float(seconds) <= 0:
                raise self.fail(f"WITHIN {seconds} SECONDS: the window must be positive")
            return Within(inner, seconds)
        if kind == "ObservationExpressionRepeatedContext":
            times = int(ctx.repeatedQualifier().IntPosLiteral().getText())
            if times < 1:
                raise self.fail(f"REPEATS {times} TIMES: the count must be at least 1")
            return Repeats(inner, times)
        if kind == "ObservationExpressionStartStopContext":
            qualifier = ctx.startStopQualifier()
            start = self.timestamp(qualifier.TimestampLiteral(0).getText())
            stop = self.timestamp(qualifier.TimestampLiteral(1).getText())
            return StartStop(inner, start, stop)
        raise self.fail(f"unexpected observation expression {ctx.getText()!r}")

    # comparison expressions: OR < AND < comparison and ( )

    def comparison_or(self, ctx: Any) -> ComparisonExpression:
        parts = ctx.comparisonExpression()
        if parts:
            return _comparisons(ComparisonOr, [self.comparison_or(p) for p in parts])
        return self.comparison_and(ctx.comparisonExpressionAnd())

    def comparison_and(self, ctx: Any) -> ComparisonExpression:
        parts = ctx.comparisonExpressionAnd()
        if parts:
            return _comparisons(ComparisonAnd, [self.comparison_and(p) for p in parts])
        return self.prop_test(ctx.propTest())

    def prop_test(self, ctx: Any) -> ComparisonExpression:
        kind = type(ctx).__name__
        if kind == "PropTestParenContext":
            return ComparisonGroup(self.comparison_or(ctx.comparisonExpression()))
        path = self.path(ctx.objectPath())
        negated = ctx.NOT() is not None
        if kind == "PropTestExistsContext":
            return Exists(path, negated)
        value: Literal | SetLiteral
        if kind == "PropTestEqualContext":
            op = Operator.EQ if ctx.EQ() is not None else Operator.NEQ
            value = self.literal(ctx.primitiveLiteral())
        elif kind == "PropTestOrderContext":
            token = ctx.GT() or ctx.LT() or ctx.GE() or ctx.LE()
            op = Operator(token.getText())
            value = self.literal(ctx.orderableLiteral())
        elif kind == "PropTestSetContext":
            op = Operator.IN
            value = SetLiteral(tuple(self.literal(p) for p in ctx.setLiteral().primitiveLiteral()))
        else:
            op = {
                "PropTestLikeContext": Operator.LIKE,
                "PropTestRegexContext": Operator.MATCHES,
                "PropTestIsSubsetContext": Operator.ISSUBSET,
                "PropTestIsSupersetContext": Operator.ISSUPERSET,
            }[kind]
            value = StringLiteral(_string(ctx.StringLiteral().getText()))
        comparison = Comparison(path, op, value, negated)
        _check_comparison(comparison, self.text)
        return comparison

    # object paths

    def path(self, ctx: Any) -> ObjectPath:
        type_token = (
            ctx.objectType().IdentifierWithoutHyphen() or ctx.objectType().IdentifierWithHyphen()
        )
        first = ctx.firstPathComponent()
        steps: list[Step] = [self.key(first)]
        component = ctx.objectPathComponent()
        if component is not None:
            self.components(component, steps)
        return ObjectPath(type_token.getText(), tuple(steps))

    def key(self, ctx: Any) -> KeyStep:
        bare = ctx.IdentifierWithoutHyphen()
        if bare is not None:
            return KeyStep(bare.getText())
        return KeyStep(_string(ctx.StringLiteral().getText()), quoted=True)

    def components(self, ctx: Any, steps: list[Step]) -> None:
        kind = type(ctx).__name__
        if kind == "PathStepContext":
            for part in ctx.objectPathComponent():
                self.components(part, steps)
        elif kind == "KeyPathStepContext":
            steps.append(self.key(ctx))
        elif ctx.ASTERISK() is not None:
            steps.append(IndexStep(None))
        else:
            steps.append(IndexStep(int((ctx.IntPosLiteral() or ctx.IntNegLiteral()).getText())))

    # literals

    def literal(self, ctx: Any) -> Literal:
        if type(ctx).__name__ == "PrimitiveLiteralContext":
            boolean = ctx.BoolLiteral()
            if boolean is not None:
                return BoolLiteral(boolean.getText() == "true")
            ctx = ctx.orderableLiteral()
        token = ctx.getChild(0)
        text = token.getText()
        name = token.getSymbol().type
        parser = ctx.parser
        if name in (parser.IntPosLiteral, parser.IntNegLiteral):
            return IntLiteral(int(text), text)
        if name in (parser.FloatPosLiteral, parser.FloatNegLiteral):
            return FloatLiteral(float(text), text)
        if name == parser.StringLiteral:
            return StringLiteral(_string(text))
        if name == parser.HexLiteral:
            return BinaryLiteral(binascii.a2b_hex(text[2:-1]), text)
        if name == parser.BinaryLiteral:
            try:
                return BinaryLiteral(base64.b64decode(text[2:-1], validate=True), text)
            except binascii.Error as exc:
                raise self.fail(f"{text} is not valid base64") from exc
        if name == parser.TimestampLiteral:
            return self.timestamp(text)
        raise self.fail(f"unexpected literal {text!r}")

    def timestamp(self, text: str) -> TimestampLiteral:
        inner = text[2:-1]
        try:
            return TimestampLiteral(inner, parse_timestamp_us(inner))
        except ValueError as exc:
            raise self.fail(str(exc)) from exc


def _string(token: str) -> str:
    return _UNESCAPE.sub(r"\1", token[1:-1])


def _observations(
    kind: type[ObservationAnd | ObservationOr | FollowedBy], parts: list[ObservationExpression]
) -> ObservationExpression:
    """``kind(parts)``, absorbing operands of the same kind (the grammar nests them left)."""
    operands: list[ObservationExpression] = []
    for part in parts:
        if type(part) is kind:
            operands.extend(part.operands)
        else:
            operands.append(part)
    return kind(tuple(operands))


def _comparisons(
    kind: type[ComparisonAnd | ComparisonOr], parts: list[ComparisonExpression]
) -> ComparisonExpression:
    """``kind(parts)``, absorbing operands of the same kind."""
    operands: list[ComparisonExpression] = []
    for part in parts:
        if type(part) is kind:
            operands.extend(part.operands)
        else:
            operands.append(part)
    return kind(tuple(operands))
