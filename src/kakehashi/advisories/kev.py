"""The CISA Known Exploited Vulnerabilities catalog (JSON) as a lookup (issue 6).

Read per entry of ``vulnerabilities[]``: ``cveID`` (required), ``dueDate`` and
``dateAdded`` (``YYYY-MM-DD``), ``vendorProject``, ``product``, ``requiredAction`` and
``knownRansomwareCampaignUse``. Other fields are ignored.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from kakehashi.advisories.errors import AdvisoryFormatError
from kakehashi.advisories.model import Advisory

__all__ = ["KevCatalog", "KevEntry", "parse_kev_catalog"]


@dataclass(frozen=True, slots=True)
class KevEntry:
    """One known-exploited CVE."""

    cve_id: str
    due_date: date | None = None
    date_added: date | None = None
    vendor: str = ""
    product: str = ""
    required_action: str = ""
    ransomware: bool = False


@dataclass(frozen=True, slots=True)
class KevCatalog:
    """The catalog, keyed by CVE id (upper case)."""

    entries: Mapping[str, KevEntry]
    version: str = ""

    def get(self, cve_id: str) -> KevEntry | None:
        """The entry for ``cve_id``, or ``None`` if it is not known to be exploited."""
        return self.entries.get(cve_id.upper())

    def apply(self, advisory: Advisory) -> Advisory:
        """``advisory`` with ``known_exploited`` and the earliest due date of its CVEs set."""
        found = [e for e in (self.get(c) for c in advisory.cve_ids) if e is not None]
        if not found:
            return advisory
        dues = [e.due_date for e in found if e.due_date is not None]
        return dataclasses.replace(
            advisory, known_exploited=True, kev_due_date=min(dues) if dues else None
        )


def _date(entry: Mapping[str, object], key: str, path: str, source: str) -> date | None:
    value = entry.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise AdvisoryFormatError(
            "must be a YYYY-MM-DD string", path=f"{path}.{key}", source=source
        )
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise AdvisoryFormatError(
            f"{value!r} is not a YYYY-MM-DD date", path=f"{path}.{key}", source=source
        ) from None


def _text(entry: Mapping[str, object], key: str, path: str, source: str) -> str:
    value = entry.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise AdvisoryFormatError("must be a string", path=f"{path}.{key}", source=source)
    return value


def parse_kev_catalog(document: object, *, source: str = "") -> KevCatalog:
    """Build a :class:`KevCatalog` from the decoded KEV JSON feed.

    Raises:
        AdvisoryFormatError: with the JSON path of the first problem, e.g.
            ``$.vulnerabilities[3].dueDate``.
    """
    if not isinstance(document, Mapping):
        raise AdvisoryFormatError("must be an object", path="$", source=source)
    vulns = document.get("vulnerabilities")
    if not isinstance(vulns, list):
        raise AdvisoryFormatError("must be an array", path="$.vulnerabilities", source=source)
    entries: dict[str, KevEntry] = {}
    for i, raw in enumerate(vulns):
        path = f"$.vulnerabilities[{i}]"
        if not isinstance(raw, Mapping):
            raise AdvisoryFormatError("must be an object", path=path, source=source)
        cve_id = _text(raw, "cveID", path, source).strip().upper()
        if not cve_id.startswith("CVE-"):
            raise AdvisoryFormatError("must be a CVE id", path=f"{path}.cveID", source=source)
        entries[cve_id] = KevEntry(
            cve_id=cve_id,
            due_date=_date(raw, "dueDate", path, source),
            date_added=_date(raw, "dateAdded", path, source),
            vendor=_text(raw, "vendorProject", path, source),
            product=_text(raw, "product", path, source),
            required_action=_text(raw, "requiredAction", path, source),
            ransomware=_text(raw, "knownRansomwareCampaignUse", path, source).lower() == "known",
        )
    version = document.get("catalogVersion")
    return KevCatalog(entries=entries, version=version if isinstance(version, str) else "")
