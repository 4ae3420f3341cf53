"""Operator inventories into :class:`Asset` records: CSV and CycloneDX JSON (1.2 to 1.7).

The CSV format (one header line, UTF-8, comma-separated)::

    site,sector,vendor,product,version,cpe,purl,criticality
    tokyo-core-1,telecom,Acme Networks,BaseStation OS,7.0.2.5,,,critical

``vendor``, ``product`` and ``version`` columns are required (a cell may be empty only
when ``cpe`` or ``purl`` names the product); the others are optional; ``criticality`` is
``low``, ``medium``, ``high``, ``critical`` or empty. Unknown columns are ignored. Rows
stream through :func:`iter_csv_assets`; :func:`read_csv_assets` keeps nothing if any row
is bad. Errors name the 1-based line.

CycloneDX: every component (nested ones too, and ``metadata.component``) becomes an asset;
the vendor is ``supplier.name``, else ``manufacturer.name``, else ``publisher``, else the
package URL's namespace. :func:`iter_cyclonedx_assets` streams a file of any size (consume
it to the end before committing: errors can come last); :func:`parse_cyclonedx` reads a
document held in a string. Errors name the line where the JSON broke, or the JSON path of
a bad component.
"""

from __future__ import annotations

import collections
import csv
import io
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, BinaryIO, NoReturn

import ijson

from kakehashi.advisories.errors import InventoryFormatError
from kakehashi.advisories.model import Asset, Criticality

__all__ = [
    "CSV_COLUMNS",
    "iter_csv_assets",
    "iter_cyclonedx_assets",
    "parse_cyclonedx",
    "read_csv_assets",
]

CSV_COLUMNS = ("site", "sector", "vendor", "product", "version", "cpe", "purl", "criticality")
_REQUIRED = ("vendor", "product", "version")
# Issue 6 names 1.5 and 1.6; the fields read here (name, version, supplier,
# manufacturer, publisher, cpe, purl, bom-ref, components) mean the same in every JSON
# CycloneDX from 1.2 (the first with JSON) to 1.7, and 1.4 is still what many tools export.
_CYCLONEDX_VERSIONS = ("1.2", "1.3", "1.4", "1.5", "1.6", "1.7")


def iter_csv_assets(
    lines: Iterable[str], *, organization: str, source: str = "<stdin>"
) -> Iterator[Asset]:
    """Yield one :class:`Asset` per CSV row, streaming.

    Args:
        lines: the text lines (an open file works; open it with ``newline=""``).
        organization: the operator's key, stored on every asset.
        source: file name for errors and ``Asset.ref``.

    Raises:
        InventoryFormatError: a missing column (line 1) or a bad row (its line).
    """
    reader = csv.DictReader(lines)
    header = reader.fieldnames
    if header is None:
        raise InventoryFormatError("empty file: no header line", source=source, line=1)
    columns = {name.strip().lower() for name in header}
    missing = [c for c in _REQUIRED if c not in columns]
    if missing:
        raise InventoryFormatError(
            f"missing column(s): {', '.join(missing)}", source=source, line=1
        )
    try:
        for row in reader:
            line = reader.line_num
            yield _csv_asset(row, organization, source, line)
    except csv.Error as exc:
        raise InventoryFormatError(str(exc), source=source, line=reader.line_num) from exc


def _csv_asset(row: Mapping[str | None, Any], organization: str, source: str, line: int) -> Asset:
    if None in row:
        raise InventoryFormatError("more cells than columns", source=source, line=line)
    cells = {str(k).strip().lower(): (v or "").strip() for k, v in row.items()}
    if any(v is None for v in row.values()):
        raise InventoryFormatError("fewer cells than columns", source=source, line=line)
    if not (cells.get("product") or cells.get("cpe") or cells.get("purl")):
        raise InventoryFormatError("needs product, cpe or purl", source=source, line=line)
    if cells.get("purl") and not cells["purl"].startswith("pkg:"):
        raise InventoryFormatError("purl must start with 'pkg:'", source=source, line=line)
    if cells.get("cpe") and not cells["cpe"].lower().startswith(("cpe:2.3:", "cpe:/")):
        raise InventoryFormatError(
            "cpe must start with 'cpe:2.3:' or 'cpe:/'", source=source, line=line
        )
    try:
        criticality = Criticality.parse(cells.get("criticality", ""))
    except ValueError as exc:
        raise InventoryFormatError(str(exc), source=source, line=line) from None
    return Asset(
        organization=organization,
        vendor=cells["vendor"],
        product=cells["product"],
        version=cells["version"],
        site=cells.get("site", ""),
        sector=cells.get("sector", ""),
        cpe=cells.get("cpe", ""),
        purl=cells.get("purl", ""),
        criticality=criticality,
        ref=f"{source}:{line}",
    )


def read_csv_assets(
    lines: Iterable[str], *, organization: str, source: str = "<stdin>"
) -> list[Asset]:
    """All assets of a CSV inventory, or an error and nothing (see :func:`iter_csv_assets`)."""
    return list(iter_csv_assets(lines, organization=organization, source=source))


def iter_cyclonedx_assets(
    stream: BinaryIO,
    *,
    organization: str,
    source: str = "<stdin>",
    criticality: Criticality = Criticality.UNKNOWN,
) -> Iterator[Asset]:
    """Yield the components of a CycloneDX JSON document (1.2 to 1.7) as assets, streaming.

    The document is parsed as it is read (``ijson``, its C backend when installed): only
    a 64 KiB chunk, the component being read and its enclosing ones are held (and the
    longest single value), so memory does not grow with the file. Every component becomes
    an asset: ``components[]``, the components nested in them at any depth, and
    ``metadata.component`` with its nested components.
    A component is yielded when its closing brace is read, so it comes *after* the
    components nested in it (:func:`parse_cyclonedx` gives the document order).

    Contract: an error can come after assets were yielded, since ``bomFormat`` and
    ``specVersion`` may follow ``components`` in the file (or be missing, which is found
    only at its end) and the file may break anywhere. **Consume the whole iterator before
    committing** what it yielded, in one transaction, and roll back on an error; then a
    bad file imports nothing.

    Args:
        stream: the document's bytes (UTF-8; a leading byte order mark is skipped), e.g.
            a file opened with ``"rb"``. It is read to its end, not closed.
        organization: the operator's key, stored on every asset.
        source: file name for errors and ``Asset.ref``.
        criticality: given to every asset (an SBOM does not say it).

    Raises:
        InventoryFormatError: truncated or invalid JSON, with ``line``, the 1-based line
            where it broke (the last line when the file ends too early); not CycloneDX
            1.2 to 1.7, with ``path`` ``$.bomFormat`` or ``$.specVersion``; a malformed
            component, with its JSON ``path`` (``$.components[12].version``). ``bomFormat``
            and ``specVersion`` are checked where they stand in the file, or at its end
            when missing; other errors come in file order.
    """
    for _, asset in _iter_keyed(stream, organization, source, criticality):
        yield asset


def parse_cyclonedx(
    text: str,
    *,
    organization: str,
    source: str = "<stdin>",
    criticality: Criticality = Criticality.UNKNOWN,
) -> list[Asset]:
    """All components of a CycloneDX JSON document (1.2 to 1.7) as assets, or an error and none.

    The list is in document order: ``metadata.component`` and the components nested in
    it first, then ``components[]``, each component before the ones nested in it. Fields,
    refs and errors are those of :func:`iter_cyclonedx_assets`.

    Raises:
        InventoryFormatError: truncated or invalid JSON (with the line where it broke), not
            CycloneDX 1.2 to 1.7, or a malformed component (with its JSON path).
    """
    stream = io.BytesIO(text.encode("utf-8", "surrogatepass"))
    keyed = list(_iter_keyed(stream, organization, source, criticality))
    keyed.sort(key=lambda pair: pair[0])
    return [asset for _, asset in keyed]


# The parser reads the file in chunks of this many bytes.
_CHUNK = 64 * 1024
# Deepest nesting of ``components`` accepted (real SBOMs nest a handful of levels).
_MAX_DEPTH = 100
# Component keys an asset is built from; every other key is skipped without being built.
_TEXT_KEYS = frozenset({"name", "version", "purl", "cpe", "publisher", "bom-ref"})
_PARTY_KEYS = frozenset({"supplier", "manufacturer"})
_OPEN = frozenset({"start_map", "start_array"})
_CLOSE = frozenset({"end_map", "end_array"})
# Stands for an object or array where a string or number was expected (never a ``str``).
_NOT_SCALAR = object()

# The place of a component in document order (``parse_cyclonedx`` sorts on it):
# ``(0,)`` is metadata.component, ``(1, 4, 2)`` is ``$.components[4].components[2]``.
_Key = tuple[int, ...]
_Event = tuple[str, Any]


class _Discard:
    """A parser's target that drops its events."""

    send = collections.deque[object](maxlen=0).append


class _LineReader:
    """The byte stream as the JSON parser reads it, with what it takes to place an error.

    ijson's errors carry no position. The reader counts the newlines before the chunk the
    parser is reading, and feeds each chunk the parser got through to a second parser
    that drops its events (in C, cheap). When the first parser fails in a chunk, the
    second one stands at the start of that chunk: fed the chunk line by line, it fails
    on the line where the document broke (at the end of the file: its last line).
    """

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._chunk = b""  # the chunk the parser is reading
        self._newlines = 0  # newlines before it
        self._started = False
        self._shadow: Any = ijson.basic_parse_coro(_Discard())

    def read(self, size: int = -1) -> bytes:
        if size == 0:  # ijson probes with read(0) for bytes or text
            return b""
        if self._chunk:
            self._newlines += self._chunk.count(b"\n")
            self._feed_shadow(self._chunk)
        chunk = self._raw.read(_CHUNK) or b""
        if not self._started:
            self._started = True
            chunk = chunk.removeprefix(b"\xef\xbb\xbf")
        self._chunk = chunk
        return chunk

    def error_line(self) -> int:
        """The 1-based line where the parser failed, in the chunk it was reading."""
        line = self._newlines + 1
        chunk = self._chunk
        if not chunk:  # the parser failed at the end of the file
            return line
        start = 0
        while start < len(chunk):
            end = chunk.find(b"\n", start)
            end = len(chunk) if end < 0 else end + 1
            if not self._feed_shadow(chunk[start:end]):
                return line
            if end < len(chunk):
                line += 1
            start = end
        return line  # not found again (cannot happen): the chunk's last line

    def _feed_shadow(self, data: bytes) -> bool:
        """Whether the second parser takes ``data``; once it failed, it takes nothing."""
        if self._shadow is None:
            return False
        try:
            self._shadow.send(data)
        except ijson.JSONError:
            self._shadow = None
            return False
        return True


def _iter_keyed(
    stream: BinaryIO, organization: str, source: str, criticality: Criticality
) -> Iterator[tuple[_Key, Asset]]:
    reader = _LineReader(stream)
    events: Iterator[_Event] = ijson.basic_parse(reader, buf_size=_CHUNK)
    walk = _Walk(events, organization, source, criticality)
    try:
        yield from walk.document()
    except ijson.JSONError as exc:
        raise InventoryFormatError(
            f"not valid JSON: {_parser_reason(exc)}", source=source, line=reader.error_line()
        ) from exc


def _parser_reason(exc: Exception) -> str:
    """The first line of a yajl message, without its excerpt of the document."""
    text = str(exc)
    if text.startswith(("b'", 'b"')):  # ijson's repr of a message with invalid UTF-8
        text = text[2:].replace("\\n", "\n")
    first = text.split("\n", 1)[0].strip()
    for prefix in ("parse error: ", "lexical error: "):
        first = first.removeprefix(prefix)
    return first or "cannot parse"


class _Walk:
    """Reads one document from the parser's events, yielding its components in turn."""

    def __init__(
        self, events: Iterator[_Event], organization: str, source: str, crit: Criticality
    ) -> None:
        self._events = events
        self._next = events.__next__
        self._organization = organization
        self._source = source
        self._criticality = crit

    def document(self) -> Iterator[tuple[_Key, Asset]]:
        if self._next()[0] != "start_map":
            self._fail("not a CycloneDX document", "$.bomFormat")
        has_format = has_version = False
        while (key := self._key()) is not None:
            if key == "bomFormat":
                if self._scalar() != "CycloneDX":
                    self._fail("not a CycloneDX document", "$.bomFormat")
                has_format = True
            elif key == "specVersion":
                if self._scalar() not in _CYCLONEDX_VERSIONS:
                    self._fail("specVersion must be 1.2 to 1.7", "$.specVersion")
                has_version = True
            elif key == "metadata":
                yield from self._metadata()
            elif key == "components":
                yield from self._components("$.components", (1,), 1)
            else:
                self._skip(self._next()[0])
        # Asking for the end of the events makes the parser reject anything after the
        # document (and is where a missing bomFormat is found, after all components).
        for _ in self._events:
            pass
        if not has_format:
            self._fail("not a CycloneDX document", "$.bomFormat")
        if not has_version:
            self._fail("specVersion must be 1.2 to 1.7", "$.specVersion")

    def _metadata(self) -> Iterator[tuple[_Key, Asset]]:
        event = self._next()[0]
        if event != "start_map":
            self._skip(event)
            return
        while (key := self._key()) is not None:
            if key == "component":
                event = self._next()[0]
                yield from self._component(event, "$.metadata.component", (0,), 1)
            else:
                self._skip(self._next()[0])

    def _components(self, path: str, key: _Key, depth: int) -> Iterator[tuple[_Key, Asset]]:
        event = self._next()[0]
        if event == "null":
            return
        if event != "start_array":
            self._fail("must be an array", path)
        if depth > _MAX_DEPTH:
            self._fail(f"components nested more than {_MAX_DEPTH} deep", path)
        i = 0
        while (event := self._next()[0]) != "end_array":
            yield from self._component(event, f"{path}[{i}]", (*key, i), depth)
            i += 1

    def _component(
        self, event: str, path: str, key: _Key, depth: int
    ) -> Iterator[tuple[_Key, Asset]]:
        if event != "start_map":
            self._fail("must be an object", path)
        next_event = self._next  # this loop runs for every key of every component
        fields: dict[str, object] = {}
        while True:
            kind, name = next_event()
            if kind == "end_map":
                break
            # kind is "map_key"
            if name in _TEXT_KEYS:
                kind, value = next_event()
                if kind in _OPEN:
                    self._skip(kind)
                    value = _NOT_SCALAR
                fields[name] = value
            elif name in _PARTY_KEYS:
                fields[name] = self._party()
            elif name == "components":
                yield from self._components(f"{path}.components", key, depth + 1)
            else:
                self._skip(next_event()[0])
        yield key, _component(fields, path, self._organization, self._source, self._criticality)

    def _party(self) -> dict[str, object] | None:
        """A ``supplier`` or ``manufacturer``: its ``name`` only (``None`` if no object)."""
        event = self._next()[0]
        if event != "start_map":
            self._skip(event)
            return None
        party: dict[str, object] = {}
        while (key := self._key()) is not None:
            if key == "name":
                party["name"] = self._scalar()
            else:
                self._skip(self._next()[0])
        return party

    def _key(self) -> str | None:
        """The next key of the object being read, or ``None`` at its end."""
        event, value = self._next()
        if event == "end_map":
            return None
        return str(value)  # the only other event here is "map_key"

    def _scalar(self) -> object:
        """The next value if a string, number, boolean or null; else ``_NOT_SCALAR``."""
        event, value = self._next()
        if event in _OPEN:
            self._skip(event)
            return _NOT_SCALAR
        return value

    def _skip(self, event: str) -> None:
        """Consume the rest of the value that began with ``event``, building nothing."""
        if event not in _OPEN:
            return
        depth = 1
        for event, _ in self._events:
            if event in _OPEN:
                depth += 1
            elif event in _CLOSE:
                depth -= 1
                if depth == 0:
                    return

    def _fail(self, reason: str, path: str) -> NoReturn:
        raise InventoryFormatError(reason, source=self._source, path=path)


def _field(component: Mapping[str, Any], key: str, path: str, source: str) -> str:
    value = component.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InventoryFormatError("must be a string", source=source, path=f"{path}.{key}")
    return value.strip()


def _component(
    component: Mapping[str, Any], path: str, organization: str, source: str, crit: Criticality
) -> Asset:
    name = _field(component, "name", path, source)
    if not name:
        raise InventoryFormatError("is required", source=source, path=f"{path}.name")
    purl = _field(component, "purl", path, source)
    vendor = ""
    for key in ("supplier", "manufacturer"):
        party = component.get(key)
        if isinstance(party, dict) and isinstance(party.get("name"), str):
            vendor = party["name"].strip()
            break
    vendor = vendor or _field(component, "publisher", path, source)
    if not vendor and purl.startswith("pkg:") and purl.count("/") >= 2:
        vendor = purl.split("@", 1)[0].split("/")[1]
    ref = _field(component, "bom-ref", path, source)
    return Asset(
        organization=organization,
        vendor=vendor,
        product=name,
        version=_field(component, "version", path, source),
        cpe=_field(component, "cpe", path, source),
        purl=purl,
        criticality=crit,
        ref=f"{source}#{ref}" if ref else f"{source}:{path}",
    )
