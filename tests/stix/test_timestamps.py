"""STIX timestamps to epoch microseconds and back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kakehashi.stix.timestamps import format_us, parse_timestamp_us


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1970-01-01T00:00:00Z", 0),
        ("2016-05-12T08:17:27.000Z", 1_463_041_047_000_000),
        ("2016-05-12T08:17:27.123456789Z", 1_463_041_047_123_456),  # extra digits truncated
        ("2016-05-12T08:17:27.1Z", 1_463_041_047_100_000),
        ("2020-02-29T00:00:00Z", 1_582_934_400_000_000),
        ("2016-12-31T23:59:60Z", 1_483_228_799_999_999),  # a leap second sorts last
        ("1969-12-31T23:59:59.5Z", -500_000),
    ],
)
def test_parse(text: str, expected: int) -> None:
    assert parse_timestamp_us(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "2016-05-12T08:17:27",  # no Z
        "2016-05-12 08:17:27Z",
        "2016-05-12T08:17:27+00:00",
        "2016-5-12T08:17:27Z",
        "2021-02-29T00:00:00Z",
        "2020-13-01T00:00:00Z",
        "2020-00-01T00:00:00Z",
        "2020-01-32T00:00:00Z",
        "2020-01-01T24:00:00Z",
        "2020-01-01T00:60:00Z",
        "2020-01-01T00:00:61Z",
        "0000-01-01T00:00:00Z",
        "2020-01-01T00:00:00.Z",
        "",
    ],
)
def test_rejects(text: str) -> None:
    with pytest.raises(ValueError, match=r"timestamp|date/time"):
        parse_timestamp_us(text)


@given(st.datetimes(min_value=datetime(1000, 1, 1), max_value=datetime(9999, 12, 30)))
def test_agrees_with_datetime(moment: datetime) -> None:
    moment = moment.replace(tzinfo=UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    expected = (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    assert parse_timestamp_us(text) == expected
    if moment.year >= 1970:
        assert format_us(expected) == text
