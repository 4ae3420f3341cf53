"""Small builders shared by the matching tests."""

from __future__ import annotations

from typing import Any

from kakehashi.match.compile import Index, IndexBuilder
from kakehashi.match.engine import IndicatorMatch, Matcher
from kakehashi.match.observation import Observation
from kakehashi.stix.timestamps import parse_timestamp_us

T0 = parse_timestamp_us("2024-01-01T00:00:00Z")
#: Validity is judged at this instant in tests (indicators are valid from 2024-01-01).
NOW = parse_timestamp_us("2025-01-01T00:00:00Z")


def indicator(n: int, pattern: str, **extra: Any) -> dict[str, Any]:
    """A STIX 2.1 indicator with a predictable id."""
    obj: dict[str, Any] = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--00000000-0000-4000-8000-{n:012d}",
        "created": "2024-01-01T00:00:00.000Z",
        "modified": "2024-01-01T00:00:00.000Z",
        "pattern": pattern,
        "pattern_type": "stix",
        "valid_from": "2024-01-01T00:00:00Z",
    }
    obj.update(extra)
    return obj


def index_of(*patterns: str) -> Index:
    builder = IndexBuilder(now_us=NOW)
    for n, pattern in enumerate(patterns):
        builder.add(indicator(n, pattern))
    return builder.build()


def obs(
    *objects: dict[str, Any],
    at: float = 0,
    until: float | None = None,
    number: int = 1,
    ref: str | None = None,
) -> Observation:
    """An observation of ``objects`` (keyed "0", "1", …) ``at`` seconds after T0."""
    first = T0 + round(at * 1_000_000)
    last = T0 + round((at if until is None else until) * 1_000_000)
    return Observation({str(i): o for i, o in enumerate(objects)}, first, last, number, ref)


def run(patterns: list[str], observations: list[Observation]) -> dict[int, IndicatorMatch]:
    """Match; the results by pattern position."""
    matcher = Matcher(index_of(*patterns))
    matcher.feed_all(observations)
    return {int(m.indicator_id.rsplit("-", 1)[1]): m for m in matcher.results()}


def matches(pattern: str, *observations: Observation) -> bool:
    """Whether one pattern matches the observations."""
    return bool(run([pattern], list(observations)))


def ip(value: str) -> dict[str, Any]:
    return {"type": "ipv6-addr" if ":" in value else "ipv4-addr", "value": value}


def domain(value: str) -> dict[str, Any]:
    return {"type": "domain-name", "value": value}
