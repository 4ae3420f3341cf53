"""Operator inventories into :class:`Asset` records: CSV and CycloneDX 1.5/1.6 JSON.

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
package URL's namespace.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from kakehashi.advisories.errors import InventoryFormatError
from kakehashi.advisories.model import Asset, Criticality

__all__ = ["CSV_COLUMNS", "iter_csv_assets", "parse_cyclonedx", "read_csv_assets"]

CSV_COLUMNS = ("site", "sector", "vendor", "product", "version", "cpe", "purl", "criticality")
_REQUIRED = ("vendor", "product", "version")
_CYCLONEDX_VERSIONS = ("1.5", "1.6")


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


def parse_cyclonedx(
    text: str,
    *,
    organization: str,
    source: str = "<stdin>",
    criticality: Criticality = Criticality.UNKNOWN,
) -> list[Asset]:
    """The components of a CycloneDX 1.5/1.6 JSON document as assets.

    Raises:
        InventoryFormatError: truncated or invalid JSON (with the line where it broke), not
            CycloneDX 1.5/1.6, or a malformed component (with its JSON path).
    """
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InventoryFormatError(
            f"not valid JSON: {exc.msg}", source=source, line=exc.lineno
        ) from exc
    if not isinstance(doc, dict) or doc.get("bomFormat") != "CycloneDX":
        raise InventoryFormatError("not a CycloneDX document", source=source, path="$.bomFormat")
    if doc.get("specVersion") not in _CYCLONEDX_VERSIONS:
        raise InventoryFormatError(
            "specVersion must be 1.5 or 1.6", source=source, path="$.specVersion"
        )
    assets: list[Asset] = []
    metadata = doc.get("metadata")
    if isinstance(metadata, dict) and "component" in metadata:
        _collect(
            [metadata["component"]],
            "$.metadata.component",
            organization,
            source,
            criticality,
            assets,
            single=True,
        )
    _collect(doc.get("components"), "$.components", organization, source, criticality, assets)
    return assets


def _collect(
    components: object,
    path: str,
    organization: str,
    source: str,
    criticality: Criticality,
    out: list[Asset],
    *,
    single: bool = False,
) -> None:
    if components is None:
        return
    if not isinstance(components, list):
        raise InventoryFormatError("must be an array", source=source, path=path)
    for i, component in enumerate(components):
        where = path if single else f"{path}[{i}]"
        if not isinstance(component, dict):
            raise InventoryFormatError("must be an object", source=source, path=where)
        out.append(_component(component, where, organization, source, criticality))
        _collect(
            component.get("components"),
            f"{where}.components",
            organization,
            source,
            criticality,
            out,
        )


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
