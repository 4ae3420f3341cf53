"""Typed records of the exposure engine: advisories, affected products, assets, exposures.

All records are frozen dataclasses; parsers (``cve``, ``kev``, ``inventory``) build them
and the matcher reads them. No I/O here.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date

from kakehashi.advisories.versions import VersionRange
from kakehashi.stix.markings import Tlp

__all__ = [
    "Advisory",
    "AffectedProduct",
    "Asset",
    "Criticality",
    "Decision",
    "Exposure",
    "MatchRule",
    "Status",
    "StatusRange",
]


class Status(enum.Enum):
    """The status of product versions in an advisory (CSAF names; CVE ``unaffected`` =
    ``known_not_affected``)."""

    AFFECTED = "affected"
    FIXED = "fixed"
    KNOWN_NOT_AFFECTED = "known_not_affected"
    UNDER_INVESTIGATION = "under_investigation"
    UNKNOWN = "unknown"

    @property
    def is_safe(self) -> bool:
        """Whether versions with this status are not exposed."""
        return self in (Status.FIXED, Status.KNOWN_NOT_AFFECTED)


class Criticality(enum.IntEnum):
    """How much an asset matters to its operator (higher is more urgent)."""

    UNKNOWN = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, text: str) -> Criticality:
        """``low``, ``medium``, ``high``, ``critical`` (any case); empty is ``UNKNOWN``."""
        key = text.strip().upper()
        if not key:
            return cls.UNKNOWN
        try:
            return cls[key]
        except KeyError:
            raise ValueError(f"{text!r} is not one of low, medium, high, critical") from None


@dataclass(frozen=True, slots=True)
class StatusRange:
    """One range of versions of a product with the status the advisory gives them."""

    range: VersionRange
    status: Status


@dataclass(frozen=True, slots=True)
class AffectedProduct:
    """A product named by an advisory, with the versions it covers.

    Attributes:
        vendor, product: names as the advisory writes them.
        cpes: CPE 2.3 (or 2.2 URI) names given for the product.
        purl: package URL without version, when the advisory names a package.
        ranges: version ranges, each with its own status.
        status: status of the versions no range covers (CVE ``defaultStatus``; ``unknown``
            when absent).
        fixed_version: the first fixed version, when the advisory says it.
        remediation: what the operator should do, in the advisory's words.
        product_ids: the advisory's own identifiers for the product (CSAF product ids),
            so that an exposure can be traced back to the document.
    """

    vendor: str
    product: str
    cpes: tuple[str, ...] = ()
    purl: str = ""
    ranges: tuple[StatusRange, ...] = ()
    status: Status = Status.UNKNOWN
    fixed_version: str = ""
    remediation: str = ""
    product_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Advisory:
    """One advisory (a CVE record, later a CSAF document).

    Attributes:
        id: the advisory's identifier (``CVE-2024-3400``).
        source: where it came from (``cve``, ``csaf``, a file name).
        cve_ids: the CVEs it covers.
        severity: ``critical``/``high``/... as given, or ``""``.
        cvss: the highest CVSS base score given, or ``None``.
        known_exploited: listed in the CISA KEV catalog.
        kev_due_date: KEV remediation due date.
        tlp: the document's TLP (CVE records are public: ``CLEAR``).
    """

    id: str
    source: str
    title: str = ""
    cve_ids: tuple[str, ...] = ()
    severity: str = ""
    cvss: float | None = None
    known_exploited: bool = False
    kev_due_date: date | None = None
    tlp: Tlp = Tlp.CLEAR
    products: tuple[AffectedProduct, ...] = ()


@dataclass(frozen=True, slots=True)
class Asset:
    """One inventory entry of an operator.

    Attributes:
        organization: the operator's key (who may see exposures of this asset).
        site, sector: where it runs and the sector (``telecom``, ``energy``, ``health``...).
        vendor, product, version: as the operator recorded them.
        cpe, purl: identifiers when known (``purl`` may carry the version).
        criticality: how much it matters.
        ref: where the entry came from (``inventory.csv:12``, a CycloneDX ``bom-ref``).
    """

    organization: str
    vendor: str
    product: str
    version: str
    site: str = ""
    sector: str = ""
    cpe: str = ""
    purl: str = ""
    criticality: Criticality = Criticality.UNKNOWN
    ref: str = ""


class MatchRule(enum.Enum):
    """Which identifier tied an asset to an advisory product, strongest first."""

    PURL = "purl"
    CPE = "cpe"
    NAME = "vendor+product name"


class Decision(enum.Enum):
    """What the matcher concluded for one asset and advisory."""

    AFFECTED = "affected"
    UNDER_INVESTIGATION = "under investigation"
    CANNOT_DECIDE = "cannot decide"


@dataclass(frozen=True, slots=True)
class Exposure:
    """An asset hit (or possibly hit) by an advisory, and why.

    Attributes:
        rule: the identifier that matched.
        range: the range that decided, or ``None`` when the product's default status did.
        decision: affected, under investigation, or cannot decide.
        why: the rule, the range and the comparisons, in words.
        fixed_version: the version that fixes it, when known.
    """

    asset: Asset
    advisory: Advisory
    product: AffectedProduct
    rule: MatchRule
    decision: Decision
    why: str
    range: VersionRange | None = None
    fixed_version: str = ""
