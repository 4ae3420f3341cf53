"""Checking TOML tables against declared fields, with errors that name the key and line.

tomllib gives no positions, so :class:`Locator` scans the text for table headers to find
the line of a key path such as ``("collections", 1, "can_read")``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from kakehashi.config.model import Field
from kakehashi.errors import ConfigError

# -- locating keys in the source text --------------------------------------------------------

_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-\"' ]+?)\s*\]\]?\s*(?:#.*)?$")


class Locator:
    """Finds the line of a key path like ``("collections", 1, "can_read")`` in TOML text.

    tomllib gives no positions, so the text is scanned for table headers; this covers the
    shapes hub.toml uses (tables, arrays of tables, nested arrays of tables).
    """

    def __init__(self, text: str) -> None:
        self._lines = text.splitlines()

    def line_of(self, path: Sequence[str | int]) -> int | None:
        # Split the path into the table it names (names followed by an index, or a leading
        # plain table such as "hub") and the key inside it.
        table: list[str] = []
        wanted: list[int] = []
        key: str | None = None
        for i, part in enumerate(path):
            if isinstance(part, int):
                continue
            nxt = path[i + 1] if i + 1 < len(path) else None
            if isinstance(nxt, int):
                table.append(part)
                wanted.append(nxt)
            elif not table and nxt is not None:
                table.append(part)
            else:
                key = part
                break
        return self._find(table, wanted, key)

    def _find(self, table: list[str], wanted: list[int], key: str | None) -> int | None:
        counts: dict[str, int] = {}
        target = ".".join(table)
        inside = not table  # top-level keys come before any header
        header_line: int | None = None
        key_line = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=") if key else None
        for number, line in enumerate(self._lines, start=1):
            header = _HEADER.match(line)
            if header:
                name = re.sub(r"[\"' ]", "", header.group(2))
                if inside and table:
                    return header_line  # the target table ended without the key
                inside = False
                counts[name] = counts.get(name, -1) + 1
                for other in [o for o in counts if o.startswith(name + ".")]:
                    del counts[other]
                if not table and key is not None and name.split(".")[0] == key:
                    return number  # an unknown top-level section (or a dotted table of it)
                if table and name == target and self._matches(table, wanted, counts):
                    if key_line is None:
                        return number
                    header_line, inside = number, True
                continue
            if inside and key_line is not None and key_line.match(line):
                return number
        return header_line

    @staticmethod
    def _matches(table: list[str], wanted: list[int], counts: dict[str, int]) -> bool:
        for depth, index in enumerate(wanted):
            name = ".".join(table[: depth + 1])
            if counts.get(name, -1) != index:
                return False
        return True


# -- reading tables --------------------------------------------------------------------------


class Reader:
    """Checks tables against their declared fields and raises located ConfigErrors."""

    def __init__(self, text: str, source: str) -> None:
        self._locator = Locator(text)
        self.source = source

    def error(self, reason: str, path: Sequence[str | int]) -> ConfigError:
        return ConfigError(
            reason, key=_dotted(path), line=self._locator.line_of(path), path=self.source
        )

    def table(
        self, raw: object, fields: Sequence[Field], path: Sequence[str | int]
    ) -> dict[str, Any]:
        if not isinstance(raw, Mapping):
            raise self.error("must be a table", path)
        known = {f.name for f in fields}
        for name in raw:
            if name not in known:
                allowed = ", ".join(sorted(known))
                raise self.error(f"unknown key (allowed here: {allowed})", [*path, name])
        values: dict[str, Any] = {}
        for spec in fields:
            if spec.name not in raw:
                if spec.default is ...:
                    raise self.error("is required", [*path, spec.name])
                values[spec.name] = spec.default
                continue
            value = raw[spec.name]
            expected = spec.type
            if (isinstance(value, bool) and expected is int) or not isinstance(value, expected):
                type_name = expected.__name__ if isinstance(expected, type) else str(expected)
                raise self.error(
                    f"must be {_article(type_name)}, not {type(value).__name__}",
                    [*path, spec.name],
                )
            if isinstance(value, str) and spec.default is ... and not value.strip():
                raise self.error("must not be empty", [*path, spec.name])
            values[spec.name] = value
        return values

    def array(self, raw: Mapping[str, Any], name: str) -> list[Any]:
        value = raw.get(name, [])
        if not isinstance(value, list):
            raise self.error("must be an array of tables ([[" + name + "]])", [name])
        return value


def _article(type_name: str) -> str:
    words = {"str": "a string", "int": "an integer", "list": "a list", "bool": "a boolean"}
    return words.get(type_name, type_name)


def _dotted(path: Sequence[str | int]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out
