"""CSV and CycloneDX inventories into assets."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from kakehashi.advisories.errors import InventoryFormatError
from kakehashi.advisories.inventory import iter_csv_assets, parse_cyclonedx, read_csv_assets
from kakehashi.advisories.model import Criticality

CSV = """site,sector,vendor,product,version,cpe,purl,criticality
tokyo-core-1,telecom,Acme Networks,BaseStation OS,7.0.2.5,,,critical
osaka-sub-3,energy,GridCo,RTU Gateway,3.12.0rc1,cpe:2.3:h:gridco:rtu:-:*:*:*:*:*:*:*,,high
kobe-hosp,health,,,,,pkg:pypi/jinja2@3.1.3,
"""


def test_csv_rows_become_assets() -> None:
    assets = read_csv_assets(io.StringIO(CSV), organization="op-a", source="inv.csv")
    assert [a.ref for a in assets] == ["inv.csv:2", "inv.csv:3", "inv.csv:4"]
    first = assets[0]
    assert (first.organization, first.site, first.sector) == ("op-a", "tokyo-core-1", "telecom")
    assert (first.vendor, first.product, first.version) == (
        "Acme Networks",
        "BaseStation OS",
        "7.0.2.5",
    )
    assert first.criticality is Criticality.CRITICAL
    assert assets[1].cpe.startswith("cpe:2.3:h:gridco")
    assert assets[2].purl == "pkg:pypi/jinja2@3.1.3"
    assert assets[2].criticality is Criticality.UNKNOWN


def test_csv_streams_rows_before_a_bad_one() -> None:
    text = CSV + "x,y,V,P,1.0,,,urgent\n"
    rows = iter_csv_assets(io.StringIO(text), organization="op-a", source="inv.csv")
    assert next(rows).product == "BaseStation OS"


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("", 1, "empty file"),
        ("site,vendor,product\n", 1, "missing column(s): version"),
        (CSV + "x,y,V,P,1.0,,,urgent\n", 5, "not one of low"),
        (CSV + "x,y,V,P,1.0,,,low,extra\n", 5, "more cells"),
        (CSV + "x,y,V,P\n", 5, "fewer cells"),
        (CSV + "x,y,,,1.0,,,\n", 5, "needs product"),
        (CSV + "x,y,V,P,1.0,,jinja2,\n", 5, "purl must start"),
        (CSV + "x,y,V,P,1.0,acme:rtu,,\n", 5, "cpe must start"),
    ],
)
def test_bad_csv_reports_its_line_and_imports_nothing(text: str, line: int, reason: str) -> None:
    with pytest.raises(InventoryFormatError) as excinfo:
        read_csv_assets(io.StringIO(text), organization="op-a", source="inv.csv")
    assert excinfo.value.line == line
    assert reason in excinfo.value.reason
    assert str(excinfo.value).startswith(f"inv.csv:{line}: ")


def _bom(**extra: Any) -> dict[str, Any]:
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "metadata": {
            "component": {
                "type": "firmware",
                "name": "BaseStation OS",
                "version": "7.0.2.5",
                "supplier": {"name": "Acme Networks"},
                "bom-ref": "fw",
            }
        },
        "components": [
            {
                "type": "library",
                "name": "jinja2",
                "version": "3.1.3",
                "purl": "pkg:pypi/jinja2@3.1.3",
                "components": [
                    {
                        "type": "library",
                        "name": "openssl",
                        "version": "3.0.13",
                        "publisher": "OpenSSL",
                        "cpe": "cpe:2.3:a:openssl:openssl:3.0.13:*:*:*:*:*:*:*",
                    }
                ],
            },
            {
                "type": "library",
                "name": "lodash",
                "version": "4.17.20",
                "purl": "pkg:npm/%40types/lodash@4.17.20",
            },
        ],
        **extra,
    }


def test_cyclonedx_components_become_assets() -> None:
    assets = parse_cyclonedx(
        json.dumps(_bom()), organization="op-b", source="bom.json", criticality=Criticality.HIGH
    )
    assert [(a.vendor, a.product, a.version) for a in assets] == [
        ("Acme Networks", "BaseStation OS", "7.0.2.5"),
        ("", "jinja2", "3.1.3"),
        ("OpenSSL", "openssl", "3.0.13"),
        ("%40types", "lodash", "4.17.20"),
    ]
    assert assets[0].ref == "bom.json#fw"
    assert assets[2].ref == "bom.json:$.components[0].components[0]"
    assert assets[2].cpe.startswith("cpe:2.3:a:openssl")
    assert {a.organization for a in assets} == {"op-b"}
    assert {a.criticality for a in assets} == {Criticality.HIGH}


def test_truncated_sbom_reports_the_line_and_imports_nothing() -> None:
    text = json.dumps(_bom(), indent=2)
    cut = text[: len(text) // 2]
    with pytest.raises(InventoryFormatError) as excinfo:
        parse_cyclonedx(cut, organization="op-b", source="bom.json")
    assert excinfo.value.line == cut.count("\n") + 1
    assert "not valid JSON" in excinfo.value.reason


@pytest.mark.parametrize(
    ("doc", "path"),
    [
        ({"bomFormat": "SPDX"}, "$.bomFormat"),
        ({"bomFormat": "CycloneDX", "specVersion": "1.4"}, "$.specVersion"),
        ({**_bom(), "components": {}}, "$.components"),
        ({**_bom(), "components": [{"version": "1"}]}, "$.components[0].name"),
        ({**_bom(), "components": [{"name": "x", "version": 1}]}, "$.components[0].version"),
    ],
)
def test_bad_cyclonedx_names_path(doc: dict[str, Any], path: str) -> None:
    with pytest.raises(InventoryFormatError) as excinfo:
        parse_cyclonedx(json.dumps(doc), organization="op-b", source="bom.json")
    assert excinfo.value.path == path
