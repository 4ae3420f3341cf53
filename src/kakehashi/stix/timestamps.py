"""STIX / TAXII timestamps: strict parsing, microsecond integers, canonical text.

Inside the hub every instant is an ``int`` of microseconds since the Unix epoch (UTC):
it sorts and compares in SQL without parsing, and TAXII's ``date_added`` precision is the
microsecond. STIX allows more sub-second digits than that; extra digits are truncated for
comparison only (the stored JSON keeps what the producer wrote).
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

__all__ = [
    "format_us",
    "now_us",
    "parse_timestamp_us",
]

# RFC 3339 as STIX 2.1 section 3.2 restricts it: always UTC ("Z"), optional fraction.
_STIX_TIMESTAMP = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?Z$")


_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 (Howard Hinnant's algorithm): integer maths, no datetime."""
    year -= month <= 2
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146_097 + day_of_era - 719_468


def parse_timestamp_us(text: str) -> int:
    """Parse a STIX timestamp (``2016-05-12T08:17:27.000Z``) into epoch microseconds.

    Ingest parses two or three timestamps per object, so this avoids ``datetime``.

    Raises:
        ValueError: when ``text`` is not a valid STIX timestamp; the message says why.
    """
    match = _STIX_TIMESTAMP.match(text)
    if match is None:
        raise ValueError(
            f"{text!r} is not a STIX timestamp (expected YYYY-MM-DDTHH:MM:SS[.fraction]Z)"
        )
    year_s, month_s, day_s, hour_s, minute_s, second_s, fraction = match.groups()
    year, month, day = int(year_s), int(month_s), int(day_s)
    hour, minute, second = int(hour_s), int(minute_s), int(second_s)
    if not 1 <= month <= 12:
        raise ValueError(f"{text!r} is not a valid date/time: month must be in 1..12")
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    if not 1 <= day <= _DAYS_IN_MONTH[month - 1] + (month == 2 and leap):
        raise ValueError(f"{text!r} is not a valid date/time: day is out of range for month")
    if year == 0 or hour > 23 or minute > 59 or second > 60:
        raise ValueError(f"{text!r} is not a valid date/time: a field is out of range")
    if second == 60:
        # Leap second 60 is legal in RFC 3339; fold it onto :59.999999 for ordering.
        second, micros = 59, 999_999
    else:
        micros = int((fraction + "000000")[:6]) if fraction else 0
    days = _days_from_civil(year, month, day)
    return ((days * 24 + hour) * 60 + minute) * 60_000_000 + second * 1_000_000 + micros


def format_us(value: int) -> str:
    """Format epoch microseconds as a TAXII timestamp with microsecond precision."""
    seconds, micros = divmod(value, 1_000_000)
    moment = datetime.fromtimestamp(seconds, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{micros:06d}Z"


def now_us() -> int:
    """The current wall-clock time in epoch microseconds."""
    return time.time_ns() // 1000
