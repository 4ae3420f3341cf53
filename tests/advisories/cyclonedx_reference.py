"""The CycloneDX reader as it was before streaming (``json.loads``), kept as the oracle.

This is ``parse_cyclonedx`` and its helpers from commit 509fb6e, renamed
``reference_parse_cyclonedx``. The streaming reader must give the same assets (the same
fields and refs; :func:`~kakehashi.advisories.inventory.parse_cyclonedx` also the same
order) for every valid document.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from kakehashi.advisories.errors import InventoryFormatError
from kakehashi.advisories.model import Asset, Criticality

_CYCLONEDX_VERSIONS = ("1.5", "1.6")


def reference_parse_cyclonedx(
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
