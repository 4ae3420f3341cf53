"""CVE JSON 5 ``versions[].changes[]``: the status changes within a range."""

from __future__ import annotations

from typing import Any

import pytest

from advisories.records import cve_record
from kakehashi.advisories.cve import parse_cve_record
from kakehashi.advisories.errors import AdvisoryFormatError
from kakehashi.advisories.matcher import AdvisoryIndex
from kakehashi.advisories.model import Asset, Decision


def _record(version: dict[str, Any], default: str = "unaffected") -> dict[str, Any]:
    return cve_record(
        "CVE-2026-1004",
        [
            {
                "vendor": "Acme Networks",
                "product": "BaseStation OS",
                "defaultStatus": default,
                "versions": [version],
            }
        ],
    )


def _decisions(record: dict[str, Any], *versions: str) -> dict[str, str]:
    index = AdvisoryIndex([parse_cve_record(record)])
    found: dict[str, str] = {}
    for version in versions:
        asset = Asset(
            organization="telco", vendor="Acme Networks", product="BaseStation OS", version=version
        )
        exposures = index.exposures_for(asset)
        found[version] = exposures[0].decision.value if exposures else "not exposed"
    return found


def test_a_change_to_unaffected_ends_the_affected_versions() -> None:
    record = _record(
        {
            "version": "7.0.0",
            "lessThan": "7.1",
            "status": "affected",
            "versionType": "custom",
            "changes": [{"at": "7.0.2.4", "status": "unaffected"}],
        }
    )
    assert _decisions(record, "6.9", "7.0.1", "7.0.2.3", "7.0.2.4", "7.0.10", "7.1") == {
        "6.9": "not exposed",
        "7.0.1": Decision.AFFECTED.value,
        "7.0.2.3": Decision.AFFECTED.value,
        "7.0.2.4": "not exposed",
        "7.0.10": "not exposed",
        "7.1": "not exposed",
    }
    (product,) = parse_cve_record(record).products
    assert product.fixed_version == "7.0.2.4"


def test_a_change_to_affected_inside_an_unaffected_range_is_not_missed() -> None:
    """An unaffected range whose later versions became affected: ignoring ``changes``
    would hide them."""
    record = _record(
        {
            "version": "0",
            "lessThanOrEqual": "3.0",
            "status": "unaffected",
            "changes": [
                {"at": "2.0", "status": "affected"},
                {"at": "2.4", "status": "unaffected"},
            ],
        }
    )
    assert _decisions(record, "1.9", "2.0", "2.3.9", "2.4", "3.0") == {
        "1.9": "not exposed",
        "2.0": Decision.AFFECTED.value,
        "2.3.9": Decision.AFFECTED.value,
        "2.4": "not exposed",
        "3.0": "not exposed",
    }


def test_the_last_change_runs_to_an_inclusive_end() -> None:
    record = _record(
        {
            "version": "1.0",
            "lessThanOrEqual": "1.5",
            "status": "unaffected",
            "changes": [{"at": "1.2", "status": "affected"}],
        }
    )
    assert _decisions(record, "1.1", "1.5", "1.6") == {
        "1.1": "not exposed",
        "1.5": Decision.AFFECTED.value,
        "1.6": "not exposed",
    }


def test_a_change_without_at_names_its_path() -> None:
    record = _record(
        {"version": "1.0", "lessThan": "2.0", "status": "affected", "changes": [{"status": "x"}]}
    )
    with pytest.raises(AdvisoryFormatError, match=r"versions\[0\]\.changes\[0\]\.at"):
        parse_cve_record(record)
