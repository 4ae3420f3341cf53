"""The errors of the matching engine; both derive from :class:`kakehashi.errors.HubError`.

    HubError
     ├── PatternSyntaxError   a STIX pattern that does not parse, or cannot be evaluated
     └── MatchInputError      a log or indicator source that cannot be read at all

A bad pattern never stops a run: the compiler records the indicator as skipped with the
error's ``reason``. A malformed log line is not an exception either (it is counted and
reported with its line number); :class:`MatchInputError` is for a whole source that
cannot be used (unknown format, unreadable file, an indicator source that is not STIX).
"""

from __future__ import annotations

from kakehashi.errors import HubError

__all__ = ["MatchInputError", "PatternSyntaxError"]


class PatternSyntaxError(HubError):
    """A STIX pattern that does not parse, or parses but cannot be evaluated.

    Attributes:
        pattern: the pattern text.
        reason: what is wrong, in plain words.
        column: 1-based column of the fault when the parser knows it, else ``None``.
    """

    def __init__(self, reason: str, *, pattern: str, column: int | None = None) -> None:
        self.pattern = pattern
        self.reason = reason
        self.column = column
        shown = f"column {column}: " if column is not None else ""
        super().__init__(f"{shown}{reason}")


class MatchInputError(HubError):
    """An input that cannot be read at all (as opposed to one bad line in it).

    Attributes:
        source: the file name, ``<stdin>`` or the collection URL.
        line: 1-based line number when the fault is on a line, else ``None``.
        reason: what is wrong.
    """

    def __init__(self, reason: str, *, source: str, line: int | None = None) -> None:
        self.source = source
        self.line = line
        self.reason = reason
        where = f"{source}:{line}" if line is not None else source
        super().__init__(f"{where}: {reason}")
