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
_EPOCH_ORDINAL = datetime(1970, 1, 1, tzinfo=UTC).toordinal()


def parse_timestamp_us(text: str) -> int:
    """Parse a STIX timestamp (``2016-05-12T08:17:27.000Z``) into epoch microseconds.

    Raises:
        ValueError: when ``text`` is not a valid STIX timestamp; the message says why.
    """
    match = _STIX_TIMESTAMP.match(text)
    if match is None:
        raise ValueError(
            f"{text!r} is not a STIX timestamp (expected YYYY-MM-DDTHH:MM:SS[.fraction]Z)"
        )
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction = match.group(7) or ""
    try:
        # Leap second 60 is legal in RFC 3339; fold it onto :59.999999 for ordering.
        if second == 60:
            moment = datetime(year, month, day, hour, minute, 59, tzinfo=UTC)
            micros = 999_999
        else:
            moment = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
            micros = int((fraction + "000000")[:6])
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a valid date/time: {exc}") from exc
    days = moment.toordinal() - _EPOCH_ORDINAL
    seconds = days * 86_400 + moment.hour * 3600 + moment.minute * 60 + moment.second
    return seconds * 1_000_000 + micros


def format_us(value: int) -> str:
    """Format epoch microseconds as a TAXII timestamp with microsecond precision."""
    seconds, micros = divmod(value, 1_000_000)
    moment = datetime.fromtimestamp(seconds, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{micros:06d}Z"


def now_us() -> int:
    """The current wall-clock time in epoch microseconds."""
    return time.time_ns() // 1000
