"""STIX 2.1 ``vulnerability`` objects (a bundle, or a hub collection) as advisories.

A vulnerability SDO names a weakness but not the products it affects; those come from
the objects around it, in the shapes sharing platforms write:

- ``software`` —``has``→ ``vulnerability`` (OpenCTI; Kakehashi's own exposures), and
  ``vulnerability`` —``targets``→ ``software`` / ``vulnerability`` ←``related-to``→
  ``software``: the software is affected in its ``version`` (every version if it has
  none), matched by its ``cpe``, ``x_kakehashi_purl`` or vendor and name.

Read from the vulnerability: the CVE ids (``external_references`` with ``source_name``
``cve``, else a ``name`` of the CVE form), ``name``/``description`` as the title, a CVSS
base score and severity (``x_kakehashi_cvss_base_score``/``x_kakehashi_severity``, or
OpenCTI's ``x_opencti_cvss_base_score``/``x_opencti_cvss_base_severity``), the KEV flag
``x_kakehashi_known_exploited``, and its TLP 2.0 or 1.0 marking (unmarked: AMBER, the
safe reading; the hub it came from showed it to this reader, nothing more is known). Only
the latest version of each object counts (by ``modified`` as a time, not as text);
revoked objects are left out, and :func:`revoked_vulnerabilities` names the revoked
vulnerabilities so that an importer can forget what it stored of them. A vulnerability
with no affected software yields an advisory without products: it matches nothing, and
the CVE record of the same CVE (``kakehashi advisories import``) is what names products.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from kakehashi.advisories.model import Advisory, AffectedProduct, Status, StatusRange
from kakehashi.advisories.versions import VersionRange
from kakehashi.stix.markings import TLP_IDS, Tlp
from kakehashi.stix.timestamps import parse_timestamp_us

__all__ = ["advisories_from_stix", "revoked_vulnerabilities"]

_CVE = re.compile(r"CVE-\d{4}-\d{4,}", re.IGNORECASE)
_SOFTWARE_FIRST = {"has"}
_VULNERABILITY_FIRST = {"targets", "related-to"}


def _modified(obj: Mapping[str, Any]) -> int:
    """``modified`` in microseconds (``2026-01-01T00:00:00Z`` and ``…00.500Z`` compare as
    times, not as text); -1 when missing or not a timestamp."""
    try:
        return parse_timestamp_us(str(obj.get("modified", "")))
    except (ValueError, TypeError):
        return -1


def _all_latest(objects: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    latest: dict[str, Mapping[str, Any]] = {}
    for obj in objects:
        object_id = obj.get("id")
        if not isinstance(object_id, str):
            continue
        current = latest.get(object_id)
        if current is None or _modified(obj) >= _modified(current):
            latest[object_id] = obj
    return latest


def _latest(objects: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    return {k: v for k, v in _all_latest(objects).items() if not v.get("revoked")}


def revoked_vulnerabilities(objects: Iterable[Mapping[str, Any]]) -> set[str]:
    """The ids of the vulnerabilities whose latest version in ``objects`` is revoked."""
    return {
        object_id
        for object_id, obj in _all_latest(objects).items()
        if obj.get("type") == "vulnerability" and obj.get("revoked") is True
    }


def _tlp(obj: Mapping[str, Any]) -> Tlp:
    levels = [TLP_IDS[r] for r in obj.get("object_marking_refs", ()) or () if r in TLP_IDS]
    return max(levels) if levels else Tlp.AMBER


def _score(obj: Mapping[str, Any]) -> float | None:
    for key in ("x_kakehashi_cvss_base_score", "x_opencti_cvss_base_score"):
        value = obj.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    return None


def _severity(obj: Mapping[str, Any]) -> str:
    for key in ("x_kakehashi_severity", "x_opencti_cvss_base_severity"):
        value = obj.get(key)
        if isinstance(value, str) and value:
            return value.lower()
    return ""


def _cve_ids(obj: Mapping[str, Any]) -> tuple[str, ...]:
    found: list[str] = []
    for ref in obj.get("external_references", ()) or ():
        if isinstance(ref, Mapping) and str(ref.get("source_name", "")).lower() == "cve":
            external = ref.get("external_id")
            if isinstance(external, str) and _CVE.fullmatch(external):
                found.append(external.upper())
    name = obj.get("name")
    if not found and isinstance(name, str) and _CVE.fullmatch(name):
        found.append(name.upper())
    return tuple(dict.fromkeys(found))


def _product(software: Mapping[str, Any]) -> AffectedProduct:
    version = str(software.get("version", "") or "")
    cpe = str(software.get("cpe", "") or "")
    ranges = (StatusRange(VersionRange.exact(version), Status.AFFECTED),) if version else ()
    return AffectedProduct(
        vendor=str(software.get("vendor", "") or ""),
        product=str(software.get("name", "") or ""),
        cpes=(cpe,) if cpe else (),
        purl=str(software.get("x_kakehashi_purl", "") or ""),
        ranges=ranges,
        # A software object without a version says "this product is affected".
        status=Status.UNKNOWN if version else Status.AFFECTED,
        product_ids=(str(software["id"]),),
    )


def advisories_from_stix(
    objects: Iterable[Mapping[str, Any]], *, source: str = "stix"
) -> list[Advisory]:
    """One :class:`Advisory` per (latest, not revoked) vulnerability in ``objects``.

    The advisory's id is the vulnerability's STIX id (two hubs' vulnerabilities for one
    CVE stay two advisories); its ``cve_ids`` carry the CVEs.
    """
    latest = _latest(objects)
    affected: dict[str, list[str]] = defaultdict(list)
    for obj in latest.values():
        if obj.get("type") != "relationship":
            continue
        kind = obj.get("relationship_type")
        source_ref, target_ref = obj.get("source_ref"), obj.get("target_ref")
        if not isinstance(source_ref, str) or not isinstance(target_ref, str):
            continue
        if kind in _SOFTWARE_FIRST and target_ref.startswith("vulnerability--"):
            affected[target_ref].append(source_ref)
        elif kind in _VULNERABILITY_FIRST and source_ref.startswith("vulnerability--"):
            affected[source_ref].append(target_ref)
        elif kind == "related-to" and target_ref.startswith("vulnerability--"):
            affected[target_ref].append(source_ref)
    advisories: list[Advisory] = []
    for object_id, obj in latest.items():
        if obj.get("type") != "vulnerability":
            continue
        products = tuple(
            _product(latest[ref])
            for ref in dict.fromkeys(affected.get(object_id, ()))
            if ref in latest and latest[ref].get("type") == "software"
        )
        title = obj.get("description") or obj.get("name") or ""
        advisories.append(
            Advisory(
                id=object_id,
                source=source,
                title=str(title).split("\n", 1)[0][:200],
                cve_ids=_cve_ids(obj),
                severity=_severity(obj),
                cvss=_score(obj),
                known_exploited=obj.get("x_kakehashi_known_exploited") is True,
                tlp=_tlp(obj),
                products=products,
            )
        )
    return advisories
