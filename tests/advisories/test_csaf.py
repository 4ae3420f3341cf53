"""CSAF 2.0 and 2.1 documents into advisories, matched end to end against inventories.

Hand-built documents cover each product status, ``vers`` ranges, relationships, package
URLs and CPEs, and TLP; the OASIS TC's own test documents (shipped by the ``csaf``
package, test-only) check that valid documents parse and that the official JSON schema
and this parser reject the same broken ones.
"""

from __future__ import annotations

import copy
import functools
import json
import pathlib
import re
from typing import Any

import csaf
import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4, DRAFT7, DRAFT202012

from kakehashi.advisories.csaf import TLP_WHEN_ABSENT, csaf_version, parse_csaf
from kakehashi.advisories.errors import AdvisoryFormatError
from kakehashi.advisories.matcher import find_exposures
from kakehashi.advisories.model import Advisory, Asset, Decision, Exposure, MatchRule, Status
from kakehashi.advisories.versions import Scheme, VersionRange
from kakehashi.stix.markings import Tlp

Doc = dict[str, Any]

# --- hand-built documents ---------------------------------------------------------------


def _document(version: str, tlp: str | None) -> Doc:
    meta: Doc = {
        "category": "csaf_security_advisory",
        "csaf_version": version,
        "publisher": {
            "category": "vendor",
            "name": "Acme Networks PSIRT",
            "namespace": "https://psirt.acme.example",
        },
        "title": "Acme gNodeB: remote code execution in the O&M interface",
        "tracking": {
            "id": "ACME-SA-2024-0042",
            "status": "final",
            "version": "1",
            "initial_release_date": "2024-06-01T00:00:00.000Z",
            "current_release_date": "2024-06-01T00:00:00.000Z",
            "revision_history": [
                {"date": "2024-06-01T00:00:00.000Z", "number": "1", "summary": "Initial"}
            ],
        },
    }
    if tlp is not None:
        meta["distribution"] = {"tlp": {"label": tlp}}
    doc: Doc = {"document": meta}
    if version == "2.1":
        doc["$schema"] = "https://docs.oasis-open.org/csaf/csaf/v2.1/schema/csaf.json"
    return doc


def _leaf(category: str, name: str, product_id: str, **helper: Any) -> Doc:
    product: Doc = {"name": f"Acme {name}", "product_id": product_id}
    if helper:
        product["product_identification_helper"] = helper
    return {"category": category, "name": name, "product": product}


def _named(name: str, *leaves: Doc) -> Doc:
    return {"category": "product_name", "name": name, "branches": list(leaves)}


BS_CPE = "cpe:2.3:o:acme:gnodeb_os:*:*:*:*:*:*:*:*"


def base_station_20(tlp: str | None = "AMBER") -> Doc:
    """A CSAF 2.0 advisory for 5G base-station firmware and what runs on it."""
    doc = _document("2.0", tlp)
    doc["product_tree"] = {
        "branches": [
            {
                "category": "vendor",
                "name": "Acme Networks",
                "branches": [
                    _named(
                        "gNodeB OS",
                        _leaf(
                            "product_version_range",
                            "vers:generic/>=7.0.2.3|<7.0.3",
                            "BS-RANGE",
                            cpe=BS_CPE,
                        ),
                        _leaf("product_version", "7.0.2.4", "BS-7024", cpe=BS_CPE),
                        _leaf("product_version", "7.0.3", "BS-703", cpe=BS_CPE),
                    ),
                    _named(
                        "Radio Unit",
                        _leaf("product_version", "3.1", "RU-31"),
                        _leaf("product_version", "3.2", "RU-32"),
                    ),
                    _named(
                        "Legacy Controller",
                        _leaf("product_version_range", "all builds before R6", "LC-VLS"),
                    ),
                    _named(
                        "openssl",
                        _leaf(
                            "product_version_range",
                            "vers:deb/<3.0.13-1~deb12u1",
                            "OPENSSL-RANGE",
                            purl="pkg:deb/debian/openssl",
                        ),
                    ),
                    _named(
                        "acme-sshd",
                        _leaf(
                            "product_version",
                            "2.1.0",
                            "SSHD-210",
                            purl="pkg:generic/acme/acme-sshd@2.1.0",
                        ),
                    ),
                ],
            }
        ],
        "full_product_names": [
            {"name": "Acme Core Router 9000", "product_id": "ROUTER"},
            {"name": "Acme Element Manager", "product_id": "EMS"},
        ],
        "relationships": [
            {
                "category": "default_component_of",
                "full_product_name": {
                    "name": "acme-sshd 2.1.0 in Acme Core Router 9000",
                    "product_id": "ROUTER:SSHD-210",
                },
                "product_reference": "SSHD-210",
                "relates_to_product_reference": "ROUTER",
            }
        ],
        "product_groups": [{"group_id": "G-BS", "product_ids": ["BS-RANGE", "BS-703"]}],
    }
    doc["vulnerabilities"] = [
        {
            "cve": "CVE-2024-50001",
            "title": "O&M interface command injection",
            "product_status": {
                "known_affected": ["BS-RANGE", "ROUTER:SSHD-210", "LC-VLS"],
                "fixed": ["BS-7024"],
                "first_fixed": ["BS-703"],
                "known_not_affected": ["RU-31"],
                "under_investigation": ["RU-32"],
            },
            "remediations": [
                {
                    "category": "vendor_fix",
                    "details": "Upgrade gNodeB OS to 7.0.3.",
                    "url": "https://psirt.acme.example/ACME-SA-2024-0042",
                    "group_ids": ["G-BS"],
                },
                {
                    "category": "workaround",
                    "details": "Disable SSH on the O&M VLAN.",
                    "product_ids": ["ROUTER:SSHD-210"],
                },
            ],
            "scores": [
                {
                    "products": ["BS-RANGE"],
                    "cvss_v3": {
                        "version": "3.1",
                        "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                        "baseScore": 9.8,
                        "baseSeverity": "CRITICAL",
                    },
                },
                {
                    "products": ["ROUTER:SSHD-210"],
                    "cvss_v2": {
                        "version": "2.0",
                        "vectorString": "AV:N/AC:L/Au:N/C:P/I:P/A:P",
                        "baseScore": 7.5,
                    },
                },
            ],
        },
        {
            "ids": [{"system_name": "Acme PSIRT", "text": "ACME-BUG-1234"}],
            "product_status": {"known_affected": ["OPENSSL-RANGE"]},
        },
    ]
    return doc


def switch_21(tlp: str = "CLEAR") -> Doc:
    """A CSAF 2.1 advisory: two release lines (first_affected / first_fixed), purls,
    CVSS v4, and a product path."""
    doc = _document("2.1", tlp)
    versions = [("1.0", "TS-10"), ("1.4", "TS-14"), ("2.0", "TS-20"), ("2.3", "TS-23")]
    doc["product_tree"] = {
        "branches": [
            {
                "category": "vendor",
                "name": "Acme Networks",
                "branches": [
                    _named(
                        "Transport Switch",
                        *(
                            _leaf(
                                "product_version",
                                v,
                                pid,
                                purls=[
                                    f"pkg:generic/acme/transport-switch@{v}",
                                    f"pkg:oci/transport-switch@sha256%3A{pid.lower()}",
                                ],
                            )
                            for v, pid in versions
                        ),
                    ),
                    _named("Line Card", _leaf("product_version", "5.0", "LC-50")),
                ],
            }
        ],
        "product_paths": [
            {
                "beginning_product_reference": "LC-50",
                "full_product_name": {"name": "Line Card 5.0 in switch 2.0", "product_id": "P1"},
                "subpaths": [{"category": "installed_on", "next_product_reference": "TS-20"}],
            }
        ],
    }
    doc["vulnerabilities"] = [
        {
            "cve": "CVE-2024-50002",
            "product_status": {
                "first_affected": ["TS-10", "TS-20"],
                "first_fixed": ["TS-14", "TS-23"],
                "known_affected": ["P1"],
            },
            "metrics": [
                {
                    "products": ["TS-10"],
                    "content": {
                        "cvss_v4": {
                            "version": "4.0",
                            "vectorString": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/"
                            "VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
                            "baseScore": 9.3,
                            "baseSeverity": "CRITICAL",
                        }
                    },
                },
                {"products": ["P1"], "content": {"qualitative_severity_rating": "high"}},
            ],
        }
    ]
    return doc


def _acme(product: str, version: str) -> Asset:
    return Asset("op-a", "Acme Networks, Inc.", product, version, ref=f"{product}@{version}")


def _one(assets: list[Asset], advisories: list[Advisory]) -> Exposure:
    (exposure,) = find_exposures(assets, advisories)
    return exposure


# --- advisory fields --------------------------------------------------------------------


def test_one_advisory_per_vulnerability_with_ids_titles_scores_and_tlp() -> None:
    first, second = parse_csaf(base_station_20(), source="acme.json")
    assert first.id == "ACME-SA-2024-0042#CVE-2024-50001"
    assert second.id == "ACME-SA-2024-0042#ACME-BUG-1234"
    assert (first.source, first.cve_ids, second.cve_ids) == ("acme.json", ("CVE-2024-50001",), ())
    assert first.title == "O&M interface command injection"
    assert second.title == "Acme gNodeB: remote code execution in the O&M interface"
    assert (first.cvss, first.severity) == (9.8, "critical")
    assert second.cvss is None
    assert first.tlp is Tlp.AMBER
    assert second.tlp is Tlp.AMBER
    assert csaf_version(base_station_20()) == "2.0"


@pytest.mark.parametrize(
    ("label", "tlp"),
    [("WHITE", Tlp.CLEAR), ("GREEN", Tlp.GREEN), ("AMBER", Tlp.AMBER), ("RED", Tlp.RED)],
)
def test_tlp_20(label: str, tlp: Tlp) -> None:
    assert parse_csaf(base_station_20(label))[0].tlp is tlp


@pytest.mark.parametrize(
    ("label", "tlp"),
    [("CLEAR", Tlp.CLEAR), ("AMBER+STRICT", Tlp.AMBER_STRICT), ("RED", Tlp.RED)],
)
def test_tlp_21(label: str, tlp: Tlp) -> None:
    assert parse_csaf(switch_21(label))[0].tlp is tlp


def test_20_without_tlp_is_not_read_as_clear() -> None:
    assert TLP_WHEN_ABSENT is Tlp.AMBER
    assert parse_csaf(base_station_20(None))[0].tlp is Tlp.AMBER


@pytest.mark.parametrize(("bad", "path"), [("WHITE", "label"), ("AMBER+STRICT", "label")])
def test_tlp_labels_are_per_version(bad: str, path: str) -> None:
    doc = switch_21() if bad == "WHITE" else base_station_20()
    doc["document"]["distribution"]["tlp"]["label"] = bad
    with pytest.raises(AdvisoryFormatError) as excinfo:
        parse_csaf(doc)
    assert excinfo.value.path == f"$.document.distribution.tlp.{path}"


def test_products_grouped_with_status_ranges() -> None:
    first = parse_csaf(base_station_20())[0]
    by_name = {(p.product, p.remediation.startswith("For")): p for p in first.products}
    bs = by_name[("gNodeB OS", False)]
    assert bs.vendor == "Acme Networks"
    assert bs.cpes == (BS_CPE,)
    assert bs.product_ids == ("BS-RANGE", "BS-7024", "BS-703")
    assert bs.status is Status.UNKNOWN
    assert bs.fixed_version == "7.0.3"
    assert [(str(r.range), r.status) for r in bs.ranges] == [
        (">=7.0.2.3, <7.0.3", Status.AFFECTED),
        ("=7.0.2.4", Status.FIXED),
        (">=7.0.3", Status.FIXED),
    ]
    assert bs.remediation == (
        "vendor_fix: Upgrade gNodeB OS to 7.0.3. (https://psirt.acme.example/ACME-SA-2024-0042)"
    )
    sshd = by_name[("acme-sshd", True)]
    assert sshd.purl == "pkg:generic/acme/acme-sshd"
    assert sshd.ranges[0].range == VersionRange.exact("2.1.0")
    assert sshd.remediation == (
        "For acme-sshd as default_component_of Acme Core Router 9000 (ROUTER). "
        "workaround: Disable SSH on the O&M VLAN."
    )
    legacy = by_name[("Legacy Controller", False)]
    assert legacy.ranges[0].range.scheme is Scheme.UNSUPPORTED


def test_21_purls_each_become_a_product_and_cvss_v4_counts() -> None:
    (adv,) = parse_csaf(switch_21())
    assert (adv.cvss, adv.severity) == (9.3, "critical")
    purls = sorted(p.purl for p in adv.products if p.purl)
    assert purls == ["pkg:generic/acme/transport-switch", "pkg:oci/transport-switch"]
    switch = next(p for p in adv.products if p.purl == "pkg:generic/acme/transport-switch")
    assert [(str(r.range), r.status) for r in switch.ranges] == [
        (">=1.0, <1.4", Status.AFFECTED),
        (">=2.0, <2.3", Status.AFFECTED),
        (">=1.4", Status.FIXED),
        (">=2.3", Status.FIXED),
    ]


def test_all_versions_product_uses_the_default_status() -> None:
    doc = switch_21()
    doc["product_tree"]["full_product_names"] = [{"name": "Acme EMS", "product_id": "EMS"}]
    doc["vulnerabilities"][0]["product_status"] = {"known_affected": ["EMS"]}
    (product,) = parse_csaf(doc)[0].products
    assert (product.vendor, product.product, product.ranges) == ("", "Acme EMS", ())
    assert product.status is Status.AFFECTED


# --- end to end through the matcher -----------------------------------------------------

ADVISORIES = parse_csaf(base_station_20(), source="acme.json")


def test_firmware_inside_vers_range_is_affected_with_why() -> None:
    exp = _one([_acme("gNodeB-OS", "7.0.2.5")], ADVISORIES)
    assert exp.decision is Decision.AFFECTED
    assert exp.rule is MatchRule.NAME
    assert exp.advisory.id == "ACME-SA-2024-0042#CVE-2024-50001"
    assert exp.fixed_version == "7.0.3"
    assert exp.why == (
        "vendor+product name match; affected range >=7.0.2.3, <7.0.3: "
        "7.0.2.5 >= 7.0.2.3 and 7.0.2.5 < 7.0.3 (vendor)"
    )


@pytest.mark.parametrize(
    "version",
    [
        "7.0.10",  # 7.0.10 > 7.0.9 > 7.0.3: first_fixed covers it
        "7.0.3",
        "7.0.2.4",  # a backport listed in fixed, inside the affected range
        "7.0.2.2",  # not listed at all: CSAF's default is not "affected"
    ],
)
def test_fixed_backport_and_unlisted_versions_are_not_exposed(version: str) -> None:
    assert find_exposures([_acme("gNodeB OS", version)], ADVISORIES) == []


def test_unparseable_asset_version_is_cannot_decide() -> None:
    exp = _one([_acme("gNodeB OS", "7.0.2.x")], ADVISORIES)
    assert exp.decision is Decision.CANNOT_DECIDE
    assert "7.0.2.x" in exp.why


def test_cpe_identifier_matches() -> None:
    asset = Asset("op-b", "", "", "", cpe="cpe:2.3:o:acme:gnodeb_os:7.0.2.9:*:*:*:*:*:*:*")
    exp = _one([asset], ADVISORIES)
    assert (exp.rule, exp.decision) == (MatchRule.CPE, Decision.AFFECTED)
    assert exp.why.startswith("cpe match; affected range >=7.0.2.3, <7.0.3: 7.0.2.9 >= 7.0.2.3")


def test_known_not_affected_and_under_investigation() -> None:
    assert find_exposures([_acme("Radio Unit", "3.1")], ADVISORIES) == []
    exp = _one([_acme("Radio Unit", "3.2")], ADVISORIES)
    assert exp.decision is Decision.UNDER_INVESTIGATION
    assert exp.why == "vendor+product name match; range =3.2: 3.2 == 3.2 (vendor)"


def test_free_text_range_is_cannot_decide_never_not_affected() -> None:
    exp = _one([_acme("Legacy Controller", "5.0")], ADVISORIES)
    assert exp.decision is Decision.CANNOT_DECIDE
    assert exp.why.startswith("vendor+product name match; =all builds before R6: ")
    assert "not ordered" in exp.why


def test_relationship_component_matches_by_purl_and_names_the_platform() -> None:
    asset = Asset("op-c", "", "", "", purl="pkg:generic/acme/acme-sshd@2.1.0")
    exp = _one([asset], ADVISORIES)
    assert (exp.rule, exp.decision) == (MatchRule.PURL, Decision.AFFECTED)
    assert exp.why == "purl match; affected range =2.1.0: 2.1.0 == 2.1.0 (vendor)"
    assert "default_component_of Acme Core Router 9000 (ROUTER)" in exp.product.remediation
    assert exp.product.product_ids == ("ROUTER:SSHD-210",)
    other = Asset("op-c", "", "", "", purl="pkg:generic/acme/acme-sshd@2.1.1")
    assert find_exposures([other], ADVISORIES) == []


def test_deb_purl_and_vers_deb_use_debian_order() -> None:
    old = Asset("op-d", "", "", "", purl="pkg:deb/debian/openssl@3.0.11-1~deb12u2")
    epoch = Asset("op-d", "", "", "", purl="pkg:deb/debian/openssl@1:3.0.0-1")
    (exp,) = find_exposures([old, epoch], ADVISORIES)
    assert exp.asset is old
    assert exp.advisory.id == "ACME-SA-2024-0042#ACME-BUG-1234"
    assert exp.why.endswith("3.0.11-1~deb12u2 < 3.0.13-1~deb12u1 (debian)")


@pytest.mark.parametrize(
    ("version", "decision", "range_text"),
    [
        ("1.2", Decision.AFFECTED, ">=1.0, <1.4"),
        ("2.1", Decision.AFFECTED, ">=2.0, <2.3"),
        ("1.5", None, ""),
        ("2.5", None, ""),
        ("0.9", None, ""),
    ],
)
def test_two_release_lines_stay_two_intervals(
    version: str, decision: Decision | None, range_text: str
) -> None:
    asset = Asset("op-e", "", "", "", purl=f"pkg:generic/acme/transport-switch@{version}")
    found = find_exposures([asset], parse_csaf(switch_21()))
    if decision is None:
        assert found == []
        return
    (exp,) = found
    assert exp.decision is decision
    assert str(exp.range) == range_text
    assert exp.fixed_version == range_text.rsplit("<", 1)[1]


def test_product_path_component_in_21() -> None:
    exp = _one([_acme("Line Card", "5.0")], parse_csaf(switch_21()))
    assert exp.decision is Decision.AFFECTED
    assert exp.product.remediation == ("For Line Card as installed_on Acme 2.0 (TS-20).")


def test_last_affected_alone_is_an_upper_bound() -> None:
    doc = switch_21()
    doc["vulnerabilities"][0]["product_status"] = {"last_affected": ["TS-14"]}
    doc["vulnerabilities"][0].pop("metrics")
    asset = Asset("op-e", "", "", "", purl="pkg:generic/acme/transport-switch@1.3")
    exp = _one([asset], parse_csaf(doc))
    assert str(exp.range) == "<=1.4"
    newer = Asset("op-e", "", "", "", purl="pkg:generic/acme/transport-switch@1.5")
    assert find_exposures([newer], parse_csaf(doc)) == []


# --- validation -------------------------------------------------------------------------


DELETE = object()
_STEP = re.compile(r"\.([^.\[]+)|\[(\d+)\]")


def _broken(doc: Doc, path: str, value: object) -> Doc:
    """``doc`` with the member at JSON ``path`` set to ``value`` (or deleted)."""
    doc = copy.deepcopy(doc)
    steps: list[str | int] = [
        key if key else int(index) for key, index in _STEP.findall(path.removeprefix("$"))
    ]
    parent: Any = doc
    for step in steps[:-1]:
        parent = parent[step]
    if value is DELETE:
        del parent[steps[-1]]
    else:
        parent[steps[-1]] = value
    return doc


BS_BRANCH = "$.product_tree.branches[0].branches[1].branches[0]"
TS_HELPER = (
    "$.product_tree.branches[0].branches[0].branches[0].product.product_identification_helper"
)
TRACKING = "$.document.tracking"
V0 = "$.vulnerabilities[0]"
# (document, member, new value or DELETE, expected error path when not the member itself);
# every case also fails the official JSON schema.
BROKEN: list[tuple[str, str, object, str]] = [
    ("20", "$.document.category", DELETE, ""),
    ("20", "$.document.csaf_version", "2.2", ""),
    ("20", "$.document.publisher", DELETE, ""),
    ("20", "$.document.publisher.namespace", DELETE, ""),
    ("20", "$.document.publisher.category", "vendr", ""),
    ("20", "$.document.title", DELETE, ""),
    ("20", TRACKING, DELETE, ""),
    ("20", f"{TRACKING}.id", DELETE, ""),
    ("20", f"{TRACKING}.id", 42, ""),
    ("20", f"{TRACKING}.status", "done", ""),
    ("20", f"{TRACKING}.version", "1.0", ""),
    ("20", f"{TRACKING}.revision_history", DELETE, ""),
    ("20", f"{TRACKING}.revision_history", [], ""),
    ("20", f"{TRACKING}.revision_history[0].summary", DELETE, ""),
    ("20", f"{TRACKING}.initial_release_date", DELETE, ""),
    ("20", f"{TRACKING}.current_release_date", DELETE, ""),
    ("20", "$.document.distribution.tlp.label", DELETE, ""),
    ("20", "$.product_tree.branches[0].category", "company", ""),
    ("20", f"{BS_BRANCH}.product", DELETE, BS_BRANCH),
    ("20", "$.product_tree.full_product_names[0].product_id", DELETE, ""),
    ("20", "$.product_tree.relationships[0].category", "runs_on", ""),
    ("20", "$.product_tree.relationships[0].product_reference", DELETE, ""),
    ("20", "$.product_tree.product_groups[0].product_ids", DELETE, ""),
    ("20", f"{V0}.cve", "CVE-24-1", ""),
    ("20", f"{V0}.product_status", {}, ""),
    ("20", f"{V0}.product_status.fixed", "BS-7024", ""),
    ("20", f"{V0}.product_status.fixed", [], ""),
    ("20", f"{V0}.remediations[0].details", DELETE, ""),
    ("20", f"{V0}.remediations[0].category", "fix_planned", ""),
    ("20", f"{V0}.scores[0].products", DELETE, ""),
    ("20", f"{V0}.scores[0].cvss_v3.baseScore", "9.8", ""),
    ("20", "$.vulnerabilities", {}, ""),
    ("21", "$.$schema", DELETE, ""),
    ("21", "$.document.distribution", DELETE, ""),
    ("21", "$.document.distribution.tlp", DELETE, ""),
    ("21", f"{TS_HELPER}.purls", [], ""),
    ("21", "$.product_tree.product_paths[0].subpaths", DELETE, ""),
    ("21", f"{V0}.metrics[0].content", DELETE, ""),
    ("21", f"{V0}.metrics[0].content.cvss_v4.baseSeverity", DELETE, ""),
]

# Mandatory tests, not the schema: 6.1.1 (undefined product id), 6.1.2 (defined twice),
# 6.1.3 (circular), 6.1.4 (undefined group id).
REL = "$.product_tree.relationships[0]"
MANDATORY: list[tuple[str, str, object, str]] = [
    ("20", f"{V0}.product_status.fixed", ["BS-7024", "BS-7025"], f"{V0}.product_status.fixed[1]"),
    ("20", f"{V0}.remediations[1].product_ids", ["NOPE"], f"{V0}.remediations[1].product_ids[0]"),
    ("20", f"{V0}.scores[0].products", ["NOPE"], f"{V0}.scores[0].products[0]"),
    ("20", f"{V0}.remediations[0].group_ids", ["G-NOPE"], f"{V0}.remediations[0].group_ids[0]"),
    ("20", f"{REL}.relates_to_product_reference", "NOPE", ""),
    ("20", "$.product_tree.full_product_names[1].product_id", "RU-31", ""),
    ("20", f"{REL}.product_reference", "ROUTER:SSHD-210", f"{REL}.full_product_name.product_id"),
]

_DOCS = {"20": base_station_20, "21": switch_21}


@pytest.mark.parametrize(("version", "member", "value", "path"), BROKEN)
def test_broken_member_fails_schema_and_parser_at_its_path(
    version: str, member: str, value: object, path: str
) -> None:
    schema = _validator("v20" if version == "20" else "v21")
    assert schema.is_valid(_DOCS[version]())
    doc = _broken(_DOCS[version](), member, value)
    assert not schema.is_valid(doc)
    with pytest.raises(AdvisoryFormatError) as excinfo:
        parse_csaf(doc, source="bad.json")
    assert excinfo.value.path == (path or member)
    assert str(excinfo.value).startswith(f"bad.json: {path or member}: ")


@pytest.mark.parametrize(("version", "member", "value", "path"), MANDATORY)
def test_mandatory_tests_reject_with_path(
    version: str, member: str, value: object, path: str
) -> None:
    doc = _broken(_DOCS[version](), member, value)
    with pytest.raises(AdvisoryFormatError) as excinfo:
        parse_csaf(doc)
    assert excinfo.value.path == (path or member)
    assert "(6.1." in excinfo.value.reason


@pytest.mark.parametrize("value", [None, [], "csaf", {"document": []}, {"document": {}}])
def test_not_a_csaf_document(value: object) -> None:
    with pytest.raises(AdvisoryFormatError) as excinfo:
        parse_csaf(value)
    assert excinfo.value.path in ("$", "$.document", "$.document.csaf_version")


# --- the OASIS TC's documents -----------------------------------------------------------

OASIS = pathlib.Path(csaf.__file__).parent / "csaf"


def _oasis(version: str) -> list[pathlib.Path]:
    files = sorted((OASIS / version / "data").rglob("*.json"))
    return [f for f in files if f.name != "MANIFEST.json" and not f.name.endswith(".result.json")]


def _valid_example(path: pathlib.Path) -> bool:
    """``*-1x.json`` pass the test they are named after; the v20 examples are real ones."""
    return path.parent.name == "v20_examples" or path.stem.rsplit("-", 1)[1].startswith("1")


VALID = [f for v in ("v20", "v21") for f in _oasis(v) if _valid_example(f)]
# Valid for the test they illustrate, but they break another mandatory test.
BREAK_ANOTHER_TEST = {
    "oasis_csaf_tc-csaf_2_1-2024-6-3-21-01-12.json": "(6.1.1)",
    "oasis_csaf_tc-csaf_2_1-2024-6-1-27-13-16.json": "(6.1.2)",
    "oasis_csaf_tc-csaf_2_1-2024-6-1-50-14.json": "(6.1.2)",
    "oasis_csaf_tc-csaf_2_1-2024-6-1-50-15.json": "(6.1.2)",
}


def test_oasis_corpus_is_there() -> None:
    assert len(VALID) > 500
    assert any(f.parent.name == "v20_examples" for f in VALID)


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_oasis_valid_documents_parse(path: pathlib.Path) -> None:
    doc = json.loads(path.read_text(encoding="utf-8"))
    if path.name in BREAK_ANOTHER_TEST:
        with pytest.raises(AdvisoryFormatError) as excinfo:
            parse_csaf(doc)
        assert BREAK_ANOTHER_TEST[path.name] in excinfo.value.reason
        return
    advisories = parse_csaf(doc, source=path.name)
    vulnerabilities = doc.get("vulnerabilities", [])
    assert len(advisories) == len(vulnerabilities)
    tracking_id = doc["document"]["tracking"]["id"]
    tree_ids = _defined_ids(doc.get("product_tree", {}))
    for advisory, vuln in zip(advisories, vulnerabilities, strict=True):
        assert advisory.id.startswith(f"{tracking_id}#")
        if "cve" in vuln:
            assert advisory.cve_ids == (vuln["cve"],)
        listed = {
            pid
            for key, ids in vuln.get("product_status", {}).items()
            if key != "unknown"
            for pid in ids
        }
        grouped = {pid for p in advisory.products for pid in p.product_ids}
        assert grouped == listed
        assert grouped <= tree_ids
        for product in advisory.products:
            assert product.product or product.purl or product.cpes
            assert product.status is not Status.KNOWN_NOT_AFFECTED or not product.ranges


def _defined_ids(tree: Doc) -> set[str]:
    found: set[str] = set()
    stack: list[object] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "product_id" in node and "name" in node:
                found.add(node["product_id"])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def test_real_world_red_hat_advisory_keeps_each_platform_apart() -> None:
    doc = json.loads((OASIS / "v21/data/v20_examples/rhsa-2022_0011.json").read_text())
    (advisory,) = parse_csaf(doc)
    assert advisory.id == "RHSA-2022:0011#CVE-2020-10188"
    assert advisory.severity == "important"  # aggregate_severity: no CVSS in the document
    fixed = doc["vulnerabilities"][0]["product_status"]["fixed"]
    assert len(advisory.products) == len(fixed)  # one per (package, platform)
    telnet = next(
        p
        for p in advisory.products
        if p.product_ids == ("7Server-7.6.AUS:telnet-1:0.17-65.el7_6.x86_64",)
    )
    assert telnet.vendor == "Red Hat"
    assert telnet.remediation.startswith(
        "For telnet-1:0.17-65.el7_6.x86_64 as default_component_of "
        "Red Hat Enterprise Linux Server AUS (v. 7.6) (7Server-7.6.AUS). vendor_fix: "
    )
    assert [(sr.status, sr.range.is_exact) for sr in telnet.ranges] == [(Status.FIXED, True)]


@pytest.mark.parametrize(
    "path",
    [f for v in ("v20", "v21") for f in _oasis(v) if "-6-1-01-0" in f.name],
    ids=lambda p: p.name,
)
def test_oasis_missing_product_id_definitions_are_rejected(path: pathlib.Path) -> None:
    with pytest.raises(AdvisoryFormatError) as excinfo:
        parse_csaf(json.loads(path.read_text(encoding="utf-8")))
    assert "(6.1.1)" in excinfo.value.reason
    result = path.with_name(path.stem + ".result.json")
    if result.exists():
        errors = json.loads(result.read_text())["primary_result"]["errors"]
        pointer = errors[0]["instance_path"].strip("/").split("/")
        expected = "$" + "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in pointer)
        assert excinfo.value.path == expected


@functools.cache
def _validator(version: str) -> Draft202012Validator:
    """The official CSAF JSON schema with its referenced CVSS/SSVC schemas, offline."""
    folder = OASIS / version / "schema"
    resources: list[tuple[str, Resource[Any]]] = []
    for path in sorted((folder / "referenced").glob("*.json")):
        contents = json.loads(path.read_text(encoding="utf-8"))
        dialect = str(contents.get("$schema", ""))
        spec = DRAFT4 if "draft-04" in dialect else DRAFT7 if "draft-07" in dialect else DRAFT202012
        host = (
            "certcc.github.io/SSVC/data/schema/v2"
            if path.name.startswith("Sel")
            else "www.first.org/cvss"
        )
        resources.append((f"https://{host}/{path.name}", spec.create_resource(contents)))
    for name in ("meta.json", "extension-content.json", "extension-metaschema.json"):
        path = folder / name
        if path.exists():
            uri = f"https://docs.oasis-open.org/csaf/csaf/v2.1/schema/{name}"
            resources.append((uri, DRAFT202012.create_resource(json.loads(path.read_text()))))
    schema = json.loads((folder / "csaf.json").read_text(encoding="utf-8"))
    return Draft202012Validator(schema, registry=Registry().with_resources(resources))
