"""Hand-built CVE JSON 5 records and KEV snippets shared by the advisory tests."""

from __future__ import annotations

from typing import Any


def cve_record(
    cve_id: str, affected: list[dict[str, Any]], *, score: float | None = None, **cna: Any
) -> dict[str, Any]:
    """A minimal valid CVE JSON 5.1 record."""
    body: dict[str, Any] = {
        "descriptions": [{"lang": "en", "value": f"{cve_id} description"}],
        "affected": affected,
        **cna,
    }
    if score is not None:
        body["metrics"] = [{"cvssV3_1": {"baseScore": score, "baseSeverity": "HIGH"}}]
    return {
        "dataType": "CVE_RECORD",
        "dataVersion": "5.1",
        "cveMetadata": {"cveId": cve_id, "state": "PUBLISHED"},
        "containers": {"cna": body},
    }


FIRMWARE = cve_record(
    "CVE-2024-0001",
    [
        {
            "vendor": "Acme Networks",
            "product": "BaseStation OS",
            "cpes": ["cpe:2.3:o:acme:basestation_os:*:*:*:*:*:*:*:*"],
            "defaultStatus": "unaffected",
            "versions": [
                {
                    "version": "7.0.2.3",
                    "lessThan": "7.0.3",
                    "status": "affected",
                    "versionType": "custom",
                },
                {"version": "7.0.2.4", "status": "unaffected"},
            ],
        }
    ],
    score=9.8,
    title="Acme BaseStation OS remote code execution",
    solutions=[{"lang": "en", "value": "Upgrade to 7.0.3 or later."}],
)

KEV = {
    "title": "CISA Catalog of Known Exploited Vulnerabilities",
    "catalogVersion": "2024.06.01",
    "vulnerabilities": [
        {
            "cveID": "CVE-2024-0001",
            "vendorProject": "Acme",
            "product": "BaseStation OS",
            "dateAdded": "2024-05-01",
            "dueDate": "2024-05-22",
            "requiredAction": "Apply updates.",
            "knownRansomwareCampaignUse": "Unknown",
        }
    ],
}
