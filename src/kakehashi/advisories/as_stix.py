"""Exposures as STIX 2.1, each operator's in objects of its own that name it alone.

For every operator (organisation) and advisory that hits at least one of its assets:

- a ``vulnerability`` (name = the CVE id, or the advisory id; ``external_references`` to
  the CVEs and the advisory; CVSS, severity and the KEV flag as ``x_kakehashi_*``
  properties);
- one ``software`` per affected product as the operator runs it (name, vendor, version,
  CPE; the package URL as ``x_kakehashi_purl``);
- a ``relationship`` ``software`` —``has``→ ``vulnerability`` per software (the type
  OpenCTI uses for "this software has this vulnerability"), its description the matcher's
  "why";
- a ``note`` about the vulnerability with the remediation: what to do, the fixed version,
  the affected sites and assets, ordered by urgency.

Every object is created by the reporting CERT (``created_by_ref``), marked with the
stricter of the chosen TLP and the advisory's own TLP (a TLP:AMBER CSAF document never
becomes GREEN), and carries Kakehashi's recipients extension naming the operator's
identity: on a Kakehashi hub, only that operator (within its ceiling) and the CERT see
them, whatever else reads the collection (docs/agreements.md).

Ids are UUIDv5 of the operator's identity and what the object stands for, so a re-run
updates the same objects (a later ``modified``) instead of adding new ones, and no object
is ever shared by two operators: the hub's visibility is per stored object, and one id
serving two operators would link their exposures. (STIX suggests deterministic SCO ids
from the software's own properties; this deliberately adds the operator to them.)
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kakehashi.advisories.model import Asset, Decision, Exposure
from kakehashi.stix.markings import RECIPIENTS_EXTENSION_ID, TLP_2_MARKING_IDS, Tlp
from kakehashi.stix.timestamps import format_us

__all__ = ["EXPOSURE_NAMESPACE", "ExposureReport", "exposure_objects"]

#: The UUIDv5 namespace of every id this module makes.
EXPOSURE_NAMESPACE = uuid.UUID("3f0c2a8e-5b1d-4e7a-9c6f-2d8b0e4a7c15")


@dataclass(frozen=True, slots=True)
class ExposureReport:
    """What :func:`exposure_objects` made, and what it held back.

    Attributes:
        objects: the STIX objects, operator by operator.
        withheld: ``(organization, advisory id, reason)`` for each operator/advisory pair
            left out (its identity is unknown, or its ceiling is below the marking).
    """

    objects: list[dict[str, Any]]
    withheld: list[tuple[str, str, str]]


def _id(kind: str, *parts: str) -> str:
    return f"{kind}--{uuid.uuid5(EXPOSURE_NAMESPACE, ' '.join(parts))}"


def _software_key(asset: Asset) -> tuple[str, str, str, str, str]:
    return (asset.vendor, asset.product, asset.version, asset.cpe, asset.purl)


def exposure_objects(
    exposures: Iterable[Exposure],
    *,
    author: str,
    identities: Mapping[str, str],
    ceilings: Mapping[str, Tlp],
    tlp: Tlp,
    now_us: int,
) -> ExposureReport:
    """The STIX objects that tell each operator about its exposures.

    Args:
        exposures: what :func:`kakehashi.advisories.matcher.find_exposures` found (most
            urgent first; the order is kept in the notes).
        author: the reporting CERT's identity id (``created_by_ref``).
        identities: organisation key -> identity id, for the recipients extension.
        ceilings: organisation key -> the highest TLP it may receive; a pair whose
            marking is above it is withheld (the hub would not show it anyway).
        tlp: the lowest marking to use; the advisory's TLP raises it.
        now_us: ``created``/``modified`` of every object (microseconds).
    """
    stamp = format_us(now_us)
    groups: dict[tuple[str, str], list[Exposure]] = defaultdict(list)
    for exposure in exposures:
        groups[(exposure.asset.organization, exposure.advisory.id)].append(exposure)
    objects: list[dict[str, Any]] = []
    withheld: list[tuple[str, str, str]] = []
    for (organization, advisory_id), found in groups.items():
        identity = identities.get(organization)
        if identity is None:
            withheld.append((organization, advisory_id, "no identity is known for it"))
            continue
        level = max(tlp, found[0].advisory.tlp)
        ceiling = ceilings.get(organization, Tlp.RED)
        if level > ceiling and not (level is Tlp.AMBER_STRICT and ceiling is Tlp.AMBER):
            withheld.append(
                (
                    organization,
                    advisory_id,
                    f"marked {level.label}, above its ceiling {ceiling.label}",
                )
            )
            continue
        common = {
            "spec_version": "2.1",
            "object_marking_refs": [TLP_2_MARKING_IDS[level]],
            "extensions": {
                RECIPIENTS_EXTENSION_ID: {
                    "extension_type": "property-extension",
                    "recipients": [identity],
                }
            },
        }
        objects.extend(_group(found, identity, author, stamp, common))
    return ExposureReport(objects, withheld)


def _group(
    found: list[Exposure], identity: str, author: str, stamp: str, common: dict[str, Any]
) -> list[dict[str, Any]]:
    advisory = found[0].advisory
    sdo = {"created": stamp, "modified": stamp, "created_by_ref": author, **common}
    vulnerability_id = _id("vulnerability", identity, advisory.id)
    references = [{"source_name": "cve", "external_id": cve} for cve in advisory.cve_ids]
    if advisory.id not in advisory.cve_ids:
        references.append(
            {"source_name": advisory.source or "advisory", "external_id": advisory.id}
        )
    vulnerability: dict[str, Any] = {
        "type": "vulnerability",
        "id": vulnerability_id,
        **sdo,
        "name": advisory.cve_ids[0] if advisory.cve_ids else advisory.id,
        "external_references": references,
        "x_kakehashi_known_exploited": advisory.known_exploited,
    }
    if advisory.title:
        vulnerability["description"] = advisory.title
    if advisory.cvss is not None:
        vulnerability["x_kakehashi_cvss_base_score"] = advisory.cvss
    if advisory.severity:
        vulnerability["x_kakehashi_severity"] = advisory.severity
    if advisory.kev_due_date is not None:
        vulnerability["x_kakehashi_kev_due_date"] = advisory.kev_due_date.isoformat()
    out: list[dict[str, Any]] = [vulnerability]
    refs = [vulnerability_id]
    software_ids: dict[tuple[str, str, str, str, str], str] = {}
    for exposure in found:
        asset = exposure.asset
        key = _software_key(asset)
        if key in software_ids:
            continue
        software_id = _id("software", identity, *key)
        software_ids[key] = software_id
        software: dict[str, Any] = {
            "type": "software",
            "id": software_id,
            **common,
            "name": asset.product or asset.purl or asset.cpe,
        }
        for prop, value in (("vendor", asset.vendor), ("version", asset.version)):
            if value:
                software[prop] = value
        if asset.cpe.startswith("cpe:2.3:"):
            software["cpe"] = asset.cpe
        if asset.purl:
            software["x_kakehashi_purl"] = asset.purl
        relationship_id = _id("relationship", identity, software_id, vulnerability_id)
        out.append(software)
        out.append(
            {
                "type": "relationship",
                "id": relationship_id,
                **sdo,
                "relationship_type": "has",
                "source_ref": software_id,
                "target_ref": vulnerability_id,
                "description": exposure.why,
            }
        )
        refs.extend([software_id, relationship_id])
    out.append(
        {
            "type": "note",
            "id": _id("note", identity, advisory.id),
            **sdo,
            "abstract": f"Exposure to {vulnerability['name']}: what to do",
            "content": _remediation_text(found),
            "object_refs": refs,
        }
    )
    return out


def _remediation_text(found: list[Exposure]) -> str:
    advisory = found[0].advisory
    lines = [f"{advisory.id}: {advisory.title}".rstrip(": ")]
    if advisory.known_exploited:
        due = f", remediation due {advisory.kev_due_date}" if advisory.kev_due_date else ""
        lines.append(f"Known exploited (CISA KEV{due}).")
    remedies = sorted({e.product.remediation for e in found if e.product.remediation})
    lines.extend(f"Remediation: {text}" for text in remedies)
    lines.append("Affected assets:")
    for exposure in found:
        asset = exposure.asset
        where = f"{asset.site}: " if asset.site else ""
        fixed = f"; fixed in {exposure.fixed_version}" if exposure.fixed_version else ""
        state = "" if exposure.decision is Decision.AFFECTED else f" [{exposure.decision.value}]"
        lines.append(
            f"- {where}{asset.vendor} {asset.product} {asset.version}".rstrip()
            + f"{state}{fixed} ({exposure.why})"
        )
    return "\n".join(lines)
