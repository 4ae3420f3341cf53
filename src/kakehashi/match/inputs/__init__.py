"""Readers that turn logs into :class:`~kakehashi.match.observation.Observation` streams.

:func:`read_observations` picks the reader by ``fmt`` or, for ``auto``, by the first bytes
(after gunzip): ``#separator`` is a Zeek TSV log; a JSON line with ``event_type`` is
Suricata's eve.json, one with ``_path``, ``uid`` or ``id.orig_h`` a Zeek JSON log, one with
a STIX ``type`` STIX; a ``.csv`` name (or a CSV layout given) is CSV.
"""

from __future__ import annotations

from collections.abc import Iterator

from kakehashi.match.errors import MatchInputError
from kakehashi.match.inputs.common import InputFile, json_line
from kakehashi.match.inputs.csvlog import ColumnMap, CsvLayout, parse_column_map, read_csv
from kakehashi.match.inputs.stix import read_stix
from kakehashi.match.inputs.suricata import read_suricata
from kakehashi.match.inputs.zeek import read_zeek
from kakehashi.match.observation import Observation, Problem

__all__ = [
    "FORMATS",
    "ColumnMap",
    "CsvLayout",
    "InputFile",
    "detect_format",
    "parse_column_map",
    "read_observations",
]

FORMATS = ("auto", "zeek", "suricata", "stix", "csv")


def detect_format(source: InputFile, *, csv_layout: CsvLayout | None = None) -> str:
    """``zeek``, ``suricata``, ``stix`` or ``csv``, from the first bytes of the input.

    Raises:
        MatchInputError: when none fits.
    """
    head = source.head().lstrip()
    if head.startswith(b"#separator") or head.startswith(b"#fields"):
        return "zeek"
    if head.startswith((b"{", b"[")):
        first = head.split(b"\n", 1)[0]
        try:
            value = json_line(first)
        except ValueError:
            value = None
        if isinstance(value, dict):
            if "event_type" in value:
                return "suricata"
            if "_path" in value or "uid" in value or "id.orig_h" in value:
                return "zeek"
        return "stix"  # a STIX line, or a pretty-printed bundle
    if csv_layout is not None or source.name.lower().endswith((".csv", ".csv.gz")):
        return "csv"
    raise MatchInputError(
        "cannot tell the format from the first bytes; give --format", source=source.name
    )


def read_observations(
    source: InputFile,
    fmt: str,
    *,
    now_us: int,
    csv_layout: CsvLayout | None = None,
) -> Iterator[Observation | Problem]:
    """The observations (and problems) of one input.

    Args:
        source: the opened input.
        fmt: one of :data:`FORMATS`.
        now_us: the time given to observations that carry none (bare SCOs, CSV rows
            without a time column).
        csv_layout: required for CSV.

    Raises:
        MatchInputError: when the format cannot be told, or CSV has no layout.
    """
    if fmt == "auto":
        fmt = detect_format(source, csv_layout=csv_layout)
    if fmt == "zeek":
        return read_zeek(source)
    if fmt == "suricata":
        return read_suricata(source)
    if fmt == "stix":
        return read_stix(source, now_us=now_us)
    if fmt == "csv":
        if csv_layout is None or not csv_layout.columns:
            raise MatchInputError("CSV needs a column mapping (--csv-map)", source=source.name)
        return read_csv(source, csv_layout, now_us=now_us)
    raise MatchInputError(f"unknown format {fmt!r}", source=source.name)
