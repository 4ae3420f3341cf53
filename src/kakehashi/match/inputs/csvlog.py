"""CSV with a header row, mapped to STIX by the user: ``COLUMN=TYPE[#N]:PATH``.

``--csv-map src=ipv4-addr:value --csv-map dst=ipv4-addr#2:value
--csv-map sha=file:hashes.'SHA-256' --csv-time when`` makes each row an observation with
up to three SCOs: the columns mapped to the same ``TYPE[#N]`` fill one object, ``#N`` tells
two objects of one type apart. An address column mapped to ``ipv4-addr`` that holds an
IPv6 address makes an ``ipv6-addr`` (and the reverse). Properties STIX defines as integers
(ports, counts, ``size``) are read as integers. The time column holds epoch seconds or
RFC 3339; without one, every row is observed when the run started. Empty cells are absent
properties.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from kakehashi.match.errors import MatchInputError
from kakehashi.match.inputs.common import InputFile, Truncated, stamp_us
from kakehashi.match.observation import Observation, Problem

__all__ = ["ColumnMap", "CsvLayout", "parse_column_map", "read_csv"]

_MAP = re.compile(
    r"(?P<column>[^=]+)=(?P<type>[a-z0-9][a-z0-9-]*)(?:#(?P<label>\w+))?:"
    r"(?P<path>(?:[A-Za-z_][A-Za-z0-9_]*|'[^']+')(?:\.(?:[A-Za-z_][A-Za-z0-9_]*|'[^']+'))*)"
)
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|'([^']+)'")
_INTEGERS = frozenset(
    [
        "src_port",
        "dst_port",
        "size",
        "src_byte_count",
        "dst_byte_count",
        "src_packets",
        "dst_packets",
        "number_of_subkeys",
        "pid",
    ]
)


@dataclass(frozen=True, slots=True)
class ColumnMap:
    """One ``COLUMN=TYPE[#N]:PATH``."""

    column: str
    object_type: str
    label: str
    keys: tuple[str, ...]


def parse_column_map(text: str) -> ColumnMap:
    """Read ``src_ip=ipv4-addr:value``.

    Raises:
        ValueError: when it is not ``COLUMN=TYPE[#N]:PATH``.
    """
    found = _MAP.fullmatch(text.strip())
    if found is None:
        raise ValueError(
            f"{text!r} is not COLUMN=TYPE[#N]:PATH (e.g. src=ipv4-addr:value,"
            " sha=file:hashes.'SHA-256')"
        )
    keys = tuple(m[1] or m[0] for m in _KEY.finditer(found["path"]))
    return ColumnMap(found["column"].strip(), found["type"], found["label"] or "", keys)


@dataclass(frozen=True, slots=True)
class CsvLayout:
    """How to read a CSV file: the column maps, the time column, the delimiter."""

    columns: tuple[ColumnMap, ...]
    time_column: str | None = None
    delimiter: str = ","


def _set(obj: dict[str, Any], keys: Sequence[str], value: Any) -> None:
    for key in keys[:-1]:
        inner = obj.get(key)
        if not isinstance(inner, dict):
            inner = obj[key] = {}
        obj = inner
    if keys[-1] in _INTEGERS and value.isdigit():
        value = int(value)
    obj[keys[-1]] = value


def _row_objects(layout: CsvLayout, row: dict[str, str]) -> dict[str, dict[str, Any]]:
    objects: dict[str, dict[str, Any]] = {}
    for column in layout.columns:
        value = row.get(column.column, "")
        if not value:
            continue
        object_type = column.object_type
        if object_type in ("ipv4-addr", "ipv6-addr") and column.keys == ("value",):
            object_type = "ipv6-addr" if ":" in value else "ipv4-addr"
        key = f"{column.object_type}#{column.label}"
        obj = objects.setdefault(key, {"type": object_type})
        _set(obj, column.keys, value)
    return {str(n): obj for n, obj in enumerate(objects.values())}


def read_csv(
    source: InputFile, layout: CsvLayout, *, now_us: int
) -> Iterator[Observation | Problem]:
    """Observations from a CSV file, one per row (see the module docstring)."""
    complete = True
    numbers: list[int] = []

    def text_lines() -> Iterator[str]:
        nonlocal complete
        for number, line, ended in source.lines():
            complete = ended
            numbers.append(number)
            yield line.decode("utf-8", "replace") + "\n"

    try:
        reader = csv.reader(text_lines(), delimiter=layout.delimiter)
        header = next(reader, None)
        if header is None:
            return
        header = [h.strip() for h in header]
        wanted = {c.column for c in layout.columns} | (
            {layout.time_column} if layout.time_column else set()
        )
        missing = sorted(wanted - set(header))
        if missing:
            raise MatchInputError(
                f"no column {', '.join(missing)} in the header", source=source.name, line=1
            )
        for cells in reader:
            number = numbers[-1] if numbers else reader.line_num
            if not cells:
                continue
            if len(cells) != len(header):
                reason = f"{len(cells)} cells where the header has {len(header)}"
                if not complete:
                    yield Problem(source.name, number, f"truncated: {reason}", fatal=True)
                    return
                yield Problem(source.name, number, reason)
                continue
            row = dict(zip(header, cells, strict=True))
            moment = now_us
            if layout.time_column:
                try:
                    moment = stamp_us(row[layout.time_column])
                except ValueError as exc:
                    yield Problem(source.name, number, str(exc))
                    continue
            objects = _row_objects(layout, row)
            if objects:
                yield Observation(objects, moment, moment)
    except csv.Error as exc:
        yield Problem(
            source.name, numbers[-1] if numbers else None, f"not CSV: {exc}", fatal=not complete
        )
    except Truncated as exc:
        yield Problem(source.name, None, f"truncated: {exc}", fatal=True)
