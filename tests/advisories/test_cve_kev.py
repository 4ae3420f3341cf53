"""CVE JSON 5 records and the KEV catalog into advisories."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pytest

from advisories.records import FIRMWARE, KEV, cve_record
from kakehashi.advisories.cve import parse_cve_record
from kakehashi.advisories.errors import AdvisoryFormatError
from kakehashi.advisories.kev import parse_kev_catalog
from kakehashi.advisories.model import Status
from kakehashi.advisories.versions import Scheme, VersionRange
from kakehashi.stix.markings import Tlp


def test_firmware_record_fields() -> None:
    adv = parse_cve_record(FIRMWARE, source="cve.json")
    assert adv.id == "CVE-2024-0001"
    assert adv.source == "cve.json"
    assert adv.title == "Acme BaseStation OS remote code execution"
    assert adv.cve_ids == ("CVE-2024-0001",)
    assert (adv.cvss, adv.severity, adv.tlp) == (9.8, "high", Tlp.CLEAR)
    (product,) = adv.products
    assert (product.vendor, product.product) == ("Acme Networks", "BaseStation OS")
    assert product.cpes == ("cpe:2.3:o:acme:basestation_os:*:*:*:*:*:*:*:*",)
    assert product.status is Status.KNOWN_NOT_AFFECTED
    assert product.fixed_version == "7.0.3"
    assert product.remediation == "Upgrade to 7.0.3 or later."
    assert [(str(r.range), r.status) for r in product.ranges] == [
        (">=7.0.2.3, <7.0.3", Status.AFFECTED),
        ("=7.0.2.4", Status.KNOWN_NOT_AFFECTED),
    ]


def test_title_falls_back_to_english_description() -> None:
    adv = parse_cve_record(cve_record("CVE-2024-0002", [{"vendor": "v", "product": "p"}]))
    assert adv.title == "CVE-2024-0002 description"
    assert adv.source == "cve"
    assert adv.cvss is None


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"version": "0", "lessThan": "2.4", "status": "affected"}, VersionRange(None, "2.4")),
        (
            {"version": "*", "lessThanOrEqual": "2.4", "status": "affected"},
            VersionRange(None, "2.4", upper_inclusive=True),
        ),
        ({"version": "2.0", "lessThan": "*", "status": "affected"}, VersionRange("2.0", None)),
        (
            {"version": "5.15", "lessThanOrEqual": "5.15.*", "status": "unaffected"},
            VersionRange.between("5.15", "5.16"),
        ),
        ({"version": "*", "status": "affected"}, VersionRange()),
        (
            {
                "version": "1.0.0",
                "lessThan": "1.2.0",
                "status": "affected",
                "versionType": "semver",
            },
            VersionRange.between("1.0.0", "1.2.0", Scheme.SEMVER),
        ),
    ],
)
def test_cve_version_shapes(entry: dict[str, Any], expected: VersionRange) -> None:
    adv = parse_cve_record(
        cve_record("CVE-2024-0003", [{"vendor": "v", "product": "p", "versions": [entry]}])
    )
    assert adv.products[0].ranges[0].range == expected


def test_git_only_items_are_left_out_and_packages_get_a_purl() -> None:
    adv = parse_cve_record(
        cve_record(
            "CVE-2024-0004",
            [
                {
                    "product": "Linux",
                    "versions": [
                        {
                            "version": "abc",
                            "lessThan": "def",
                            "status": "affected",
                            "versionType": "git",
                        }
                    ],
                },
                {
                    "collectionURL": "https://pypi.org/",
                    "packageName": "jinja2",
                    "versions": [{"version": "0", "lessThan": "3.1.4", "status": "affected"}],
                },
            ],
        )
    )
    (product,) = adv.products
    assert product.purl == "pkg:pypi/jinja2"
    assert product.product == "jinja2"


def test_adp_score_higher_than_cna_wins() -> None:
    record = cve_record("CVE-2024-0005", [{"vendor": "v", "product": "p"}], score=5.0)
    record["containers"]["adp"] = [
        {"metrics": [{"cvssV3_1": {"baseScore": 7.5, "baseSeverity": "HIGH"}}]}
    ]
    assert parse_cve_record(record).cvss == 7.5


def test_rejected_record_has_no_products() -> None:
    record = copy.deepcopy(FIRMWARE)
    record["cveMetadata"]["state"] = "REJECTED"
    assert parse_cve_record(record).products == ()


def _broken(mutate: Any) -> dict[str, Any]:
    record = copy.deepcopy(FIRMWARE)
    mutate(record)
    return record


@pytest.mark.parametrize(
    ("record", "path"),
    [
        ([], "$"),
        ({"containers": {}}, "$.cveMetadata"),
        (_broken(lambda r: r["cveMetadata"].pop("cveId")), "$.cveMetadata.cveId"),
        (
            _broken(
                lambda r: r["containers"]["cna"]["affected"][0]["versions"][1].update(
                    status="patched"
                )
            ),
            "$.containers.cna.affected[0].versions[1].status",
        ),
        (
            _broken(
                lambda r: r["containers"]["cna"]["affected"][0]["versions"][0].update(
                    lessThanOrEqual="7.1"
                )
            ),
            "$.containers.cna.affected[0].versions[0]",
        ),
        (
            _broken(lambda r: r["containers"]["cna"]["affected"][0].update(cpes="cpe")),
            "$.containers.cna.affected[0].cpes",
        ),
        (
            _broken(
                lambda r: r["containers"]["cna"]["metrics"][0]["cvssV3_1"].update(baseScore="high")
            ),
            "$.containers.cna.metrics[0].cvssV3_1.baseScore",
        ),
        (
            _broken(lambda r: r["containers"]["cna"]["affected"].append({"vendor": "x"})),
            "$.containers.cna.affected[1]",
        ),
    ],
)
def test_bad_record_names_path_of_first_problem(record: Any, path: str) -> None:
    with pytest.raises(AdvisoryFormatError) as excinfo:
        parse_cve_record(record, source="bad.json")
    assert excinfo.value.path == path
    assert str(excinfo.value).startswith(f"bad.json: {path}: ")


def test_kev_marks_advisory_known_exploited() -> None:
    catalog = parse_kev_catalog(KEV)
    assert catalog.version == "2024.06.01"
    entry = catalog.get("cve-2024-0001")
    assert entry is not None
    assert entry.due_date == date(2024, 5, 22)
    assert not entry.ransomware
    adv = catalog.apply(parse_cve_record(FIRMWARE))
    assert adv.known_exploited
    assert adv.kev_due_date == date(2024, 5, 22)
    other = parse_cve_record(cve_record("CVE-2024-0009", []))
    assert catalog.apply(other) is other


@pytest.mark.parametrize(
    ("doc", "path"),
    [
        ({}, "$.vulnerabilities"),
        ({"vulnerabilities": ["x"]}, "$.vulnerabilities[0]"),
        ({"vulnerabilities": [{"cveID": "nope"}]}, "$.vulnerabilities[0].cveID"),
        (
            {"vulnerabilities": [{"cveID": "CVE-1-2"}, {"cveID": "CVE-1-3", "dueDate": "May"}]},
            "$.vulnerabilities[1].dueDate",
        ),
    ],
)
def test_bad_kev_names_path(doc: Any, path: str) -> None:
    with pytest.raises(AdvisoryFormatError) as excinfo:
        parse_kev_catalog(doc)
    assert excinfo.value.path == path
