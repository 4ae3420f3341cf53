"""The parser: typed nodes that print back to the pattern, and the fast path equals ANTLR."""

from __future__ import annotations

import pytest

from kakehashi.match.ast import (
    Comparison,
    ComparisonAnd,
    ComparisonOr,
    FollowedBy,
    IntLiteral,
    KeyStep,
    ObjectPath,
    ObservationAnd,
    ObservationLeaf,
    ObservationOr,
    Operator,
    Pattern,
    StringLiteral,
    Within,
)
from kakehashi.match.errors import PatternSyntaxError
from kakehashi.match.parse import _antlr_tree, _Builder, _parse_flat, parse

from .randomstix import Generator

ROUND_TRIP = [
    # each operator
    "[ipv4-addr:value = '198.51.100.1']",
    "[ipv4-addr:value != '198.51.100.1']",
    "[network-traffic:dst_port < 1024]",
    "[network-traffic:dst_port <= 1024]",
    "[network-traffic:dst_port > 1024]",
    "[network-traffic:dst_port >= -5]",
    "[file:size > 1.5]",
    "[network-traffic:dst_port IN (22, 23, 3389)]",
    "[network-traffic:dst_port NOT IN (80, 443)]",
    "[x:y IN ()]",
    "[file:name LIKE 'setup_%.exe']",
    "[url:value MATCHES '^https?://[a-z]+\\\\.example/']",
    "[ipv4-addr:value ISSUBSET '10.0.0.0/8']",
    "[ipv6-addr:value ISSUBSET '2001:db8::/32']",
    "[ipv4-addr:value ISSUPERSET '10.0.0.1']",
    "[ipv4-addr:value NOT ISSUBSET '10.0.0.0/8']",
    "[file:name NOT LIKE '%.pdf']",
    "[file:name NOT MATCHES 'x']",
    "[file:name NOT = 'a']",
    "[file:name NOT != 'a']",
    "[EXISTS file:name]",
    "[NOT EXISTS file:hashes.MD5]",
    # literals
    "[x:y = true]",
    "[x:y = false]",
    "[x:y = +5]",
    "[x:y = -0]",
    "[x:y = .5]",
    "[x:y = -1.25]",
    "[x:y = h'0aff']",
    "[x:y = b'aGk=']",
    "[x:y = t'2024-01-01T00:00:00Z']",
    "[x:y = t'2024-01-01T00:00:00.123456789Z']",
    "[x:y = 'it\\'s a \\\\ path']",
    "[x:y = 'caf\u00e9']",
    "[x:y = '']",
    # paths
    "[file:hashes.'SHA-256' = 'ab']",
    "[file:hashes.MD5 = 'ab']",
    "[x:'quoted first' = 1]",
    "[x:'y' = 1]",
    "[email-message:to_refs[*].value = 'a@example.com']",
    "[email-message:to_refs[0].value = 'a@example.com']",
    "[x:y[-1] = 1]",
    "[x:y[0][1].z = 1]",
    "[network-traffic:extensions.'http-request-ext'.request_header.'User-Agent' LIKE 'curl%']",
    "[network-traffic:dst_ref.value = '10.0.0.1']",
    "[x:'AND' = 1]",
    # comparison expressions
    "[a:b = 1 AND a:c = 2]",
    "[a:b = 1 OR a:c = 2 AND a:d = 3]",
    "[(a:b = 1 OR a:c = 2) AND a:d = 3]",
    "[((a:b = 1))]",
    "[a:b = 1 AND NOT EXISTS a:c]",
    # observation expressions and qualifiers
    "[a:b = 1] AND [a:b = 2]",
    "[a:b = 1] OR [a:b = 2]",
    "[a:b = 1] FOLLOWEDBY [a:b = 2] FOLLOWEDBY [a:b = 3]",
    "[a:b = 1] AND [a:b = 2] OR [a:b = 3] FOLLOWEDBY [a:b = 4]",
    "([a:b = 1] OR [a:b = 2]) AND [a:b = 3]",
    "[a:b = 1] WITHIN 5 SECONDS",
    "[a:b = 1] WITHIN 2.5 SECONDS",
    "[a:b = 1] REPEATS 3 TIMES",
    "[a:b = 1] START t'2024-01-01T00:00:00Z' STOP t'2024-01-02T00:00:00Z'",
    "[a:b = 1] REPEATS 2 TIMES WITHIN 10 SECONDS",
    "([a:b = 1] FOLLOWEDBY [a:b = 2]) WITHIN 60 SECONDS",
    "[a:b = 1] FOLLOWEDBY ([a:b = 2] REPEATS 2 TIMES) START t'2024-01-01T00:00:00Z'"
    " STOP t'2024-02-01T00:00:00Z'",
]


@pytest.mark.parametrize("text", ROUND_TRIP)
def test_round_trip(text: str) -> None:
    assert str(parse(text)) == text


@pytest.mark.parametrize("text", ROUND_TRIP)
def test_the_fast_path_and_antlr_agree(text: str) -> None:
    fast = _parse_flat(text)
    if fast is not None:
        assert fast == _Builder(text).pattern(_antlr_tree(text))


def test_the_fast_path_takes_the_feed_shapes() -> None:
    for text in (
        "[ipv4-addr:value = '198.51.100.1']",
        "[file:hashes.MD5 = 'ab' OR file:hashes.'SHA-256' = 'cd']",
        "[network-traffic:dst_ref.value = '10.0.0.1' AND network-traffic:dst_port = 443]",
    ):
        assert _parse_flat(text) is not None, text


@pytest.mark.parametrize("seed", range(4))
def test_the_fast_path_equals_antlr_on_random_leaves(seed: int) -> None:
    generator = Generator(seed)
    taken = 0
    for _ in range(300):
        text = f"[{generator.comparison_expression()}]"
        try:
            fast = _parse_flat(text)
        except PatternSyntaxError:
            with pytest.raises(PatternSyntaxError):
                _Builder(text).pattern(_antlr_tree(text))
            continue
        if fast is not None:
            taken += 1
            assert fast == _Builder(text).pattern(_antlr_tree(text)), text
    assert taken > 50


def test_whitespace_and_comments_do_not_matter() -> None:
    assert str(parse("[ a:b=1  AND\ta:c = 'x' ]   /* note */ WITHIN  5 SECONDS")) == (
        "[a:b = 1 AND a:c = 'x'] WITHIN 5 SECONDS"
    )


def test_the_nodes() -> None:
    pattern = parse("[a:b = 1 OR a:c = 'x' AND a:d = 'y'] FOLLOWEDBY [a:b = 2] WITHIN 3 SECONDS")
    b = ObjectPath("a", (KeyStep("b"),))
    assert isinstance(pattern.root, FollowedBy)
    first, second = pattern.root.operands
    assert first == ObservationLeaf(
        ComparisonOr(
            (
                Comparison(b, Operator.EQ, IntLiteral(1, "1")),
                ComparisonAnd(
                    (
                        Comparison(
                            ObjectPath("a", (KeyStep("c"),)), Operator.EQ, StringLiteral("x")
                        ),
                        Comparison(
                            ObjectPath("a", (KeyStep("d"),)), Operator.EQ, StringLiteral("y")
                        ),
                    )
                ),
            )
        )
    )
    assert isinstance(second, Within)
    assert second.micros == 3_000_000
    assert [str(leaf) for leaf in pattern.leaves()] == [
        "[a:b = 1 OR a:c = 'x' AND a:d = 'y']",
        "[a:b = 2]",
    ]


def test_nodes_built_by_hand_print_the_parentheses_precedence_needs() -> None:
    a = ObservationLeaf(Comparison(ObjectPath("a", (KeyStep("b"),)), Operator.EQ, IntLiteral.of(1)))
    tree = Pattern(Within(ObservationAnd((ObservationOr((a, a)), a)), "5"))
    text = str(tree)
    assert text == "(([a:b = 1] OR [a:b = 1]) AND [a:b = 1]) WITHIN 5 SECONDS"
    assert str(parse(text)) == text


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("[ipv4-addr:value = '1.2.3.4'", "expecting ']'"),
        ("[x:y = TRUE]", "no viable alternative"),
        ("[x:y = 01]", "mismatched input"),
        ("[x:y > true]", "mismatched input"),
        ("ipv4-addr:value = '1.2.3.4'", ""),
        ("", ""),
        ("[x:y = 'a'] REPEATS 0 TIMES", "REPEATS 0 TIMES: the count must be at least 1"),
        ("[x:y = 'a'] WITHIN 0 SECONDS", "the window must be positive"),
        ("[x:y MATCHES '(']", "is not a valid regex"),
        ("[x:y ISSUBSET 'example.com']", "needs an IPv4 or IPv6 address or CIDR"),
        ("[x:y IN (1, 'a')]", "mixes types"),
        ("[x:y = t'2023-02-29T00:00:00Z']", "day is out of range"),
        ("[x:y = b'YQ']", ""),
    ],
)
def test_bad_patterns_say_why(text: str, reason: str) -> None:
    with pytest.raises(PatternSyntaxError) as caught:
        parse(text)
    assert reason in caught.value.reason
    assert caught.value.pattern == text


def test_syntax_errors_carry_the_column() -> None:
    with pytest.raises(PatternSyntaxError) as caught:
        parse("[ipv4-addr:value = '1.2.3.4' AND]")
    assert caught.value.column == 33


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    with pytest.raises(PatternSyntaxError):
        parse("(" * 3000 + "[a:b = 1]" + ")" * 3000)
