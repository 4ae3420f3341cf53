"""Time windows for Sightings: lengths as people write them, windows aligned to the epoch.

With a window length, a run reports one Sighting per indicator per window instead of one
per run. A window is ``[k * length, (k + 1) * length)`` in Unix time for a whole ``k``:
an instant ``t`` falls in the window that starts at ``floor(t / length) * length``. So the
windows do not depend on when a run starts or what it reads: two runs over adjacent logs
use the same grid, and their Sightings of a window can be told apart or added up.
"""

from __future__ import annotations

import re
from typing import NamedTuple

__all__ = ["MAX_WINDOW_S", "Window", "format_duration_s", "parse_duration_s", "window_start_us"]

_DURATION = re.compile(r"(\d+)([smhd]?)", re.IGNORECASE | re.ASCII)
#: Ten years: longer windows would start before year 1 for instants before 1970.
MAX_WINDOW_S = 3650 * 86_400
_UNIT_S = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86_400}


class Window(NamedTuple):
    """One window of a Sighting.

    Attributes:
        start_us: where it starts, epoch microseconds (a multiple of ``length_us``).
        length_us: its length, microseconds (whole seconds).
    """

    start_us: int
    length_us: int

    @property
    def end_us(self) -> int:
        """Where the next window starts (exclusive end of this one)."""
        return self.start_us + self.length_us


def window_start_us(instant_us: int, length_us: int) -> int:
    """The start of the epoch-aligned window of ``length_us`` that holds ``instant_us``."""
    return instant_us // length_us * length_us


def parse_duration_s(text: str) -> int:
    """``"30s"``, ``"15m"``, ``"1h"``, ``"1d"`` or plain seconds (``"900"``) → seconds.

    Raises:
        ValueError: not one of those, zero, or over :data:`MAX_WINDOW_S`; the message
            says what is accepted.
    """
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise ValueError(
            f"{text!r} is not a duration: give whole seconds, or a whole number followed"
            " by s, m, h or d (30s, 15m, 1h, 1d)"
        )
    seconds = int(match.group(1)) * _UNIT_S[match.group(2).lower()]
    if seconds == 0:
        raise ValueError(f"{text!r} is not a window: it must be at least 1 second")
    if seconds > MAX_WINDOW_S:
        raise ValueError(f"{text!r} is not a window: it must be at most 3650d")
    return seconds


def format_duration_s(seconds: int) -> str:
    """The shortest exact spelling: 86400 → ``1d``, 900 → ``15m``, 90 → ``90s``."""
    for unit in ("d", "h", "m"):
        size = _UNIT_S[unit]
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
