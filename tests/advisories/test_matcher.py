"""Matching assets against advisories: each rule, each status, each trap of issue 6."""

from __future__ import annotations

import dataclasses

import pytest

from advisories.records import FIRMWARE, KEV, cve_record
from kakehashi.advisories.cve import parse_cve_record
from kakehashi.advisories.kev import parse_kev_catalog
from kakehashi.advisories.matcher import (
    find_exposures,
    normalise_name,
    parse_cpe,
    parse_purl,
)
from kakehashi.advisories.model import Asset, Criticality, Decision, MatchRule

ADV = parse_kev_catalog(KEV).apply(parse_cve_record(FIRMWARE))


def _asset(version: str, **kw: str) -> Asset:
    base = {"vendor": "Acme Networks, Inc.", "product": "BaseStation-OS"}
    base.update(kw)
    return Asset(organization="op-a", version=version, ref=f"inv.csv:{version}", **base)


def test_firmware_four_part_version_is_affected_by_name() -> None:
    (exp,) = find_exposures([_asset("7.0.2.5")], [ADV])
    assert exp.decision is Decision.AFFECTED
    assert exp.rule is MatchRule.NAME
    assert str(exp.range) == ">=7.0.2.3, <7.0.3"
    assert exp.fixed_version == "7.0.3"
    assert exp.why == (
        "vendor+product name match; affected range >=7.0.2.3, <7.0.3: "
        "7.0.2.5 >= 7.0.2.3 and 7.0.2.5 < 7.0.3 (vendor)"
    )


@pytest.mark.parametrize("version", ["7.0.3", "7.0.10", "7.0.2.2", "7.0.3.0"])
def test_versions_outside_range_with_default_unaffected_are_not_exposed(version: str) -> None:
    assert find_exposures([_asset(version)], [ADV]) == []


def test_exact_unaffected_backport_inside_affected_range_is_not_exposed() -> None:
    assert find_exposures([_asset("7.0.2.4")], [ADV]) == []


@pytest.mark.parametrize("version", ["7.0.2.x", "", "build 55"])
def test_unparseable_or_missing_version_is_cannot_decide(version: str) -> None:
    (exp,) = find_exposures([_asset(version)], [ADV])
    assert exp.decision is Decision.CANNOT_DECIDE
    assert exp.range is None


def test_cpe_rule_with_ranges() -> None:
    asset = _asset(
        "7.0.2.3", vendor="", product="", cpe="cpe:2.3:o:acme:basestation_os:7.0.2.3:*:*:*:*:*:*:*"
    )
    (exp,) = find_exposures([asset], [ADV])
    assert exp.rule is MatchRule.CPE
    assert exp.decision is Decision.AFFECTED


def test_cpe_rule_takes_version_from_asset_cpe_and_differing_cpe_does_not_fall_back() -> None:
    asset = _asset("", cpe="cpe:2.3:o:acme:basestation_os:7.0.2.9:*:*:*:*:*:*:*")
    (exp,) = find_exposures([asset], [ADV])
    assert exp.rule is MatchRule.CPE
    other = _asset("7.0.2.5", cpe="cpe:2.3:o:other:thing:7.0.2.5:*:*:*:*:*:*:*")
    assert find_exposures([other], [ADV]) == []


def test_cpe_with_version_and_no_ranges_is_exact() -> None:
    adv = parse_cve_record(
        cve_record(
            "CVE-2024-0100",
            [
                {
                    "vendor": "GridCo",
                    "product": "RTU",
                    "defaultStatus": "unknown",
                    "cpes": ["cpe:2.3:h:gridco:rtu:3.1:*:*:*:*:*:*:*"],
                }
            ],
        )
    )
    hit = Asset("op-b", "", "", "3.1.0", cpe="cpe:2.3:h:gridco:rtu:-:*:*:*:*:*:*:*")
    miss = dataclasses.replace(hit, version="3.2")
    assert [e.asset for e in find_exposures([hit, miss], [adv])] == [hit]


PYPI = parse_cve_record(
    cve_record(
        "CVE-2024-0200",
        [
            {
                "collectionURL": "https://pypi.org",
                "packageName": "Jinja2",
                "defaultStatus": "unaffected",
                "versions": [
                    {
                        "version": "0",
                        "lessThan": "3.1.4",
                        "status": "affected",
                        "versionType": "python",
                    }
                ],
            }
        ],
        score=5.4,
    )
)


def test_purl_rule_with_pre_release() -> None:
    assets = [
        Asset("op-c", "", "jinja2", "", purl="pkg:pypi/jinja2@3.1.4rc1"),
        Asset("op-c", "", "jinja2", "", purl="pkg:pypi/jinja2@3.1.4"),
        Asset("op-c", "", "jinja2", "", purl="pkg:npm/jinja2@1.0.0"),
    ]
    (exp,) = find_exposures(assets, [PYPI])
    assert exp.rule is MatchRule.PURL
    assert exp.asset.purl == "pkg:pypi/jinja2@3.1.4rc1"
    assert exp.decision is Decision.AFFECTED


def test_debian_purl_uses_debian_order() -> None:
    adv = dataclasses.replace(
        parse_cve_record(
            cve_record(
                "CVE-2024-0300",
                [
                    {
                        "vendor": "debian",
                        "product": "openssl",
                        "versions": [
                            {"version": "0", "lessThan": "3.0.13-1~deb12u1", "status": "affected"}
                        ],
                    }
                ],
            )
        ),
    )
    product = dataclasses.replace(adv.products[0], purl="pkg:deb/debian/openssl")
    adv = dataclasses.replace(adv, products=(product,))
    old = Asset("op-d", "", "", "", purl="pkg:deb/debian/openssl@3.0.11-1~deb12u2")
    new = Asset("op-d", "", "", "", purl="pkg:deb/debian/openssl@1:3.0.0-1")
    assert [e.asset for e in find_exposures([old, new], [adv])] == [old]


def test_default_affected_and_under_investigation() -> None:
    adv = parse_cve_record(
        cve_record(
            "CVE-2024-0400",
            [
                {"vendor": "MedIoT", "product": "Infusion Pump", "defaultStatus": "affected"},
                {
                    "vendor": "MedIoT",
                    "product": "Monitor",
                    "versions": [{"version": "2.0", "lessThan": "3.0", "status": "unknown"}],
                },
            ],
        )
    )
    pump = Asset("hosp", "MedIoT", "infusion pump", "9.9")
    monitor = Asset("hosp", "mediot", "Monitor", "2.5")
    (exp,) = find_exposures([pump, monitor], [adv])
    assert exp.asset is pump
    assert exp.range is None
    assert "default status affected" in exp.why


def test_urgency_order_kev_then_cvss_then_criticality() -> None:
    low = _asset("7.0.2.5")
    crit = dataclasses.replace(low, criticality=Criticality.CRITICAL, ref="b")
    pkg = Asset("op-c", "", "jinja2", "", purl="pkg:pypi/jinja2@3.0")
    not_kev = dataclasses.replace(ADV, known_exploited=False, id="CVE-2024-0999")
    found = find_exposures([low, crit, pkg], [PYPI, not_kev, ADV])
    order = [(e.advisory.id, e.asset.ref) for e in found]
    assert order == [
        ("CVE-2024-0001", "b"),
        ("CVE-2024-0001", "inv.csv:7.0.2.5"),
        ("CVE-2024-0999", "b"),
        ("CVE-2024-0999", "inv.csv:7.0.2.5"),
        ("CVE-2024-0200", ""),
    ]


def test_identifier_helpers() -> None:
    assert normalise_name("Acme Networks, Inc.") == "acme networks"
    assert normalise_name("Huawei Technologies Co., Ltd.") == "huawei technologies"
    assert normalise_name("Acme Telecom S.A.") == "acme telecom"
    assert normalise_name("Nihon Denki K.K") == "nihon denki"
    assert normalise_name("A.B.C. Systems") == "abc systems"
    assert normalise_name("Société Générale") == "société générale"
    assert normalise_name("日立製作所") == "日立製作所"  # not empty: other scripts are words too
    assert normalise_name("Café Networks") != normalise_name("Caf Networks")


@pytest.mark.parametrize(
    ("written", "normal"),
    [
        # Japanese company forms, before or after the name, in full or abbreviated
        ("株式会社日立製作所", "日立製作所"),
        ("日立製作所株式会社", "日立製作所"),
        ("㈱日立製作所", "日立製作所"),
        ("\uff08株\uff09日立製作所", "日立製作所"),  # full-width parentheses
        ("有限会社サンプル", "サンプル"),
        ("合同会社 サンプル", "サンプル"),
        ("Toshiba Kabushiki Kaisha", "toshiba"),
        ("Kabushiki Kaisha Toshiba", "toshiba"),
        ("\uff2e\uff25\uff23", "nec"),  # full-width letters
        # Indian company forms
        ("Tata Consultancy Services Pvt. Ltd.", "tata consultancy services"),
        ("Tata Consultancy Services Private Limited", "tata consultancy services"),
        ("Acme LLP", "acme"),
        # a name that is only a form stays itself rather than becoming empty
        ("株式会社", "株式会社"),
        ("Kabushiki Kaisha", "kabushiki"),
    ],
)
def test_company_forms_of_the_agreement_parties_are_dropped(written: str, normal: str) -> None:
    assert normalise_name(written) == normal


def test_identifier_parsers() -> None:
    purl = parse_purl("pkg:npm/%40scope/name@1.0.0?x=y#sub")
    assert purl is not None
    assert (purl.type, purl.namespace, purl.name, purl.version) == (
        "npm",
        "@scope",
        "name",
        "1.0.0",
    )
    assert parse_purl("jinja2") is None
    cpe = parse_cpe(r"cpe:2.3:a:vendor\:x:prod:1.0:*:*:*:*:*:*:*")
    assert cpe is not None
    assert (cpe.vendor, cpe.product, cpe.version) == ("vendor:x", "prod", "1.0")
    uri = parse_cpe("cpe:/a:acme:rtu:2.0")
    assert uri is not None
    assert (uri.vendor, uri.product, uri.version) == ("acme", "rtu", "2.0")


def test_an_undecidable_fixed_entry_does_not_make_other_versions_undecidable() -> None:
    # A vendor's "7.0.2.4-lts" maintenance release cannot be ordered against 7.0.10; it
    # could only ever clear an asset, so 7.0.10 (outside the affected range) stays clear
    # while 7.0.2.5 (inside it) stays affected.
    record = cve_record(
        "CVE-2024-0009",
        [
            {
                "vendor": "Acme Networks",
                "product": "BaseStation OS",
                "defaultStatus": "unaffected",
                "versions": [
                    {"version": "7.0.2.3", "lessThan": "7.0.3", "status": "affected"},
                    {"version": "7.0.2.4-lts", "status": "unaffected"},
                ],
            }
        ],
    )
    advisory = parse_cve_record(record)
    assert find_exposures([_asset("7.0.10")], [advisory]) == []
    (exp,) = find_exposures([_asset("7.0.2.5")], [advisory])
    assert exp.decision is Decision.AFFECTED
    (undecided,) = find_exposures([_asset("7.0.x")], [advisory])
    assert undecided.decision is Decision.CANNOT_DECIDE
    assert "7.0.2.4-lts" not in undecided.why  # only the ranges that could expose it
