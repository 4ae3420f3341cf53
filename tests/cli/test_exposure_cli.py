"""``kakehashi advisories|assets|exposure`` end to end: real files, a real database (SQLite
and PostgreSQL), a real hub on loopback for ``--report-to`` and ``--from``.

The world: a CERT (``cert``) and two operators it serves, ``telco`` (ceiling amber) and
``grid`` (ceiling green); ``outsider`` reads nothing. Both operators read the
``exposures`` collection: what the CERT reports to one must never reach the other.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import stix2
from click.testing import CliRunner, Result

from advisories.records import cve_record
from conftest import serving
from kakehashi.api import create_app
from kakehashi.cli import cli
from kakehashi.config import parse_settings
from kakehashi.store import Store
from serial.hubproc import postgres_url

CERT = "identity--5f0e7a3c-2a71-4bb2-9e9b-0c2f1d8a6b11"
TELCO = "identity--a8d3c6f2-7d1e-4c55-8a0b-3e6f9b2c4d22"
GRID = "identity--0b7e3f1a-9c2d-4e5f-8a6b-7c8d9e0f1a2b"
EXPOSURES = "9e5c7a1b-3f2d-4e8a-b6c4-1d0f2a3b4c5d"
TOKENS = {"cert": "cert-token-0123456789", "telco": "telco-token-0123456789"}
TOKENS |= {"grid": "grid-token-0123456789"}
AMBER_STRICT = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"
AMBER = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
RECIPIENTS = "extension-definition--9067863b-bbbc-4e1b-bbe4-76f6ecec33c2"


def _config(database: str) -> str:
    accounts = "".join(
        f'[[accounts]]\nusername = "{user}"\norganization = "{user}"\n'
        f'token_sha256 = "{hashlib.sha256(token.encode()).hexdigest()}"\n\n'
        for user, token in TOKENS.items()
    )
    return f"""\
[hub]
title = "Exposure test hub"
database = "{database}"
organization = "cert"

[[organizations]]
key = "cert"
name = "CERT"
identity = "{CERT}"

[[organizations]]
key = "telco"
name = "Telco"
identity = "{TELCO}"
parent = "cert"
ceiling = "amber"

[[organizations]]
key = "grid"
name = "Grid operator"
identity = "{GRID}"
parent = "cert"
ceiling = "green"

[[organizations]]
key = "outsider"
name = "Outsider"
identity = "identity--99999999-9c2d-4e5f-8a6b-7c8d9e0f1a2b"

{accounts}
[[api_roots]]
name = "exchange"
title = "Exchange"

[[collections]]
id = "{EXPOSURES}"
api_root = "exchange"
title = "Exposures"
can_read = ["cert", "telco", "grid"]
can_write = ["cert"]
"""


# -- test data -------------------------------------------------------------------------

FIRMWARE_CVE = cve_record(
    "CVE-2026-1000",
    [
        {
            "vendor": "Acme Networks",
            "product": "BaseStation OS",
            "defaultStatus": "unaffected",
            "versions": [
                {
                    "version": "7.0.2.3",
                    "lessThan": "7.0.3",
                    "status": "affected",
                    "versionType": "custom",
                }
            ],
        }
    ],
    score=7.5,
)
GATEWAY_CVE = cve_record(
    "CVE-2026-2000",
    [
        {
            "vendor": "Volt Systems",
            "product": "Substation Gateway",
            "defaultStatus": "unaffected",
            "versions": [{"version": "0", "lessThan": "4.2", "status": "affected"}],
        }
    ],
    score=5.0,
)
LIB_CVE = cve_record(
    "CVE-2026-3000",
    [
        {
            "packageName": "openssl",
            "collectionURL": "https://www.npmjs.com",
            "vendor": "OpenSSL",
            "product": "openssl",
            "defaultStatus": "unaffected",
            "versions": [
                {
                    "version": "3.0.0",
                    "lessThan": "3.0.14",
                    "status": "affected",
                    "versionType": "semver",
                }
            ],
        }
    ],
    score=9.8,
)
KEV = {
    "catalogVersion": "2026.11.27",
    "vulnerabilities": [
        {"cveID": "CVE-2026-2000", "dueDate": "2026-12-15", "dateAdded": "2026-11-24"}
    ],
}
TELCO_CSV = """\
site,sector,vendor,product,version,cpe,purl,criticality
tokyo-core-1,telecom,Acme Networks,BaseStation OS,7.0.2.5,,,critical
osaka-edge-2,telecom,Acme Networks,BaseStation OS,7.0.10,,,high
nagoya-lab,telecom,Acme Networks,BaseStation OS,build-xyz,,,low
"""
GRID_CSV = """\
site,sector,vendor,product,version,cpe,purl,criticality
sub-7,energy,Volt Systems,Substation Gateway,4.1,,,critical
sub-8,energy,Volt Systems,Substation Gateway,4.2,,,critical
"""


def _sbom(components: list[dict[str, Any]]) -> dict[str, Any]:
    return {"bomFormat": "CycloneDX", "specVersion": "1.6", "components": components}


# -- fixtures --------------------------------------------------------------------------


@pytest.fixture
def database(backend: str, tmp_path: Path, store: Store, postgres_dsn: str | None) -> str:
    """The store's database as a hub.toml URL (the store fixture migrated and emptied it)."""
    return "sqlite:///hub.db" if backend == "sqlite" else postgres_url(str(postgres_dsn))


@pytest.fixture
def config(tmp_path: Path, database: str) -> Path:
    path = tmp_path / "hub.toml"
    path.write_text(_config(database))
    return path


def run(config: Path, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args], input=input)


def write(path: Path, content: Any) -> Path:
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


@pytest.fixture
def loaded(config: Path, tmp_path: Path) -> Path:
    """Advisories, the KEV catalog and both operators' inventories imported."""
    folder = tmp_path / "feeds"
    (folder / "nested").mkdir(parents=True)
    write(folder / "firmware.json", FIRMWARE_CVE)
    write(folder / "nested" / "gateway.json", GATEWAY_CVE)
    write(folder / "kev.json", KEV)
    result = run(config, "advisories", "import", str(folder))
    assert result.exit_code == 0, result.output
    assert "Imported 2 advisories from 3 document(s), 1 known-exploited" in result.output
    for org, text in (("telco", TELCO_CSV), ("grid", GRID_CSV)):
        inventory = write(tmp_path / f"{org}.csv", text)
        result = run(config, "assets", "import", str(inventory), "--org", org)
        assert result.exit_code == 0, result.output
    return config


def exposures(config: Path, *args: str) -> list[dict[str, Any]]:
    result = run(config, "exposure", "--format", "json", *args)
    assert result.exit_code == 0, result.output
    body = result.stdout
    records: list[dict[str, Any]] = json.loads(body[body.index("[") :])
    return records


# -- advisories import -------------------------------------------------------------------


def test_exposures_are_ordered_by_urgency_and_say_why(loaded: Path) -> None:
    found = exposures(loaded)
    assert [(e["organization"], e["site"], e["decision"]) for e in found] == [
        ("grid", "sub-7", "affected"),  # known exploited first, though its CVSS is lower
        ("telco", "tokyo-core-1", "affected"),
        ("telco", "nagoya-lab", "cannot decide"),  # an unparseable version is never dropped
    ]
    kev, firmware = found[0], found[1]
    assert kev["known_exploited"] is True
    assert kev["kev_due_date"] == "2026-12-15"
    assert kev["fixed_version"] == "4.2"
    assert firmware["why"] == (
        "vendor+product name match; affected range >=7.0.2.3, <7.0.3:"
        " 7.0.2.5 >= 7.0.2.3 and 7.0.2.5 < 7.0.3 (vendor)"
    )
    assert firmware["cves"] == ["CVE-2026-1000"]
    assert firmware["cvss"] == 7.5


def test_filters_org_sector_kev_and_affected_only(loaded: Path) -> None:
    assert {e["organization"] for e in exposures(loaded, "--org", "telco")} == {"telco"}
    assert {e["site"] for e in exposures(loaded, "--sector", "energy")} == {"sub-7"}
    assert [e["advisory"] for e in exposures(loaded, "--kev-only")] == ["CVE-2026-2000"]
    decisions = {e["decision"] for e in exposures(loaded, "--affected-only")}
    assert decisions == {"affected"}


def test_table_lists_each_exposure(loaded: Path) -> None:
    result = run(loaded, "exposure")
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if line.startswith(("grid", "telco"))]
    assert len(lines) == 3
    assert "CVE-2026-2000" in lines[0]
    assert "2026-12-15" in lines[0]
    assert "4.2" in lines[0]
    assert "3 exposure(s) of 2 operator(s)" in result.stderr


def test_unknown_org_is_named(loaded: Path) -> None:
    result = run(loaded, "exposure", "--org", "nobody")
    assert result.exit_code == 2
    assert "no organisation 'nobody'" in result.output


def test_a_bad_document_is_reported_with_its_path_and_the_rest_imported(
    config: Path, tmp_path: Path
) -> None:
    broken = json.loads(json.dumps(FIRMWARE_CVE))
    broken["containers"]["cna"]["affected"][0]["versions"][0]["status"] = 7
    lines = "\n".join(json.dumps(r) for r in (GATEWAY_CVE, broken, LIB_CVE)) + "\n"
    result = run(config, "advisories", "import", str(write(tmp_path / "feed.jsonl", lines)))
    assert result.exit_code == 5
    assert "Imported 2 advisories from 3 document(s); 1 refused" in result.output
    assert "feed.jsonl:2: $.containers.cna.affected[0].versions[0].status" in result.output
    assert "2 advisories" in run(config, "advisories", "list").output


def test_not_json_and_unknown_documents_are_refused(config: Path, tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.json", '{"cveMetadata": ')
    odd = write(tmp_path / "odd.json", {"hello": "world"})
    result = run(config, "advisories", "import", str(bad), str(odd))
    assert result.exit_code == 5
    assert "not valid JSON" in result.output
    assert "not a CVE record, CSAF document, KEV catalog or STIX bundle" in result.output


def test_standard_input_and_a_newer_record_replaces_the_stored_one(config: Path) -> None:
    assert run(config, "advisories", "import", "-", input=json.dumps(LIB_CVE)).exit_code == 0
    newer = json.loads(json.dumps(LIB_CVE))
    newer["containers"]["cna"]["metrics"][0]["cvssV3_1"]["baseScore"] = 4.0
    assert run(config, "advisories", "import", "-", input=json.dumps(newer)).exit_code == 0
    assert "1 advisories" in run(config, "advisories", "list").output


def test_csaf_documents_are_imported_and_matched(config: Path, tmp_path: Path) -> None:
    csaf = {
        "document": {
            "category": "csaf_security_advisory",
            "csaf_version": "2.0",
            "distribution": {"tlp": {"label": "AMBER"}},
            "publisher": {
                "category": "vendor",
                "name": "Acme",
                "namespace": "https://acme.example",
            },
            "title": "BaseStation OS advisory",
            "tracking": {
                "current_release_date": "2026-11-20T00:00:00Z",
                "id": "ACME-2026-01",
                "initial_release_date": "2026-11-20T00:00:00Z",
                "revision_history": [
                    {"date": "2026-11-20T00:00:00Z", "number": "1", "summary": "Initial"}
                ],
                "status": "final",
                "version": "1",
            },
        },
        "product_tree": {
            "branches": [
                {
                    "category": "vendor",
                    "name": "Acme Networks",
                    "branches": [
                        {
                            "category": "product_name",
                            "name": "BaseStation OS",
                            "branches": [
                                {
                                    "category": "product_version_range",
                                    "name": "vers:generic/>=7.0.2.3|<7.0.3",
                                    "product": {
                                        "name": "BaseStation OS 7.0.2.x",
                                        "product_id": "BS-7",
                                    },
                                }
                            ],
                        }
                    ],
                }
            ]
        },
        "vulnerabilities": [
            {"cve": "CVE-2026-1000", "product_status": {"known_affected": ["BS-7"]}}
        ],
    }
    assert (
        run(config, "advisories", "import", str(write(tmp_path / "acme.json", csaf))).exit_code == 0
    )
    assets = write(tmp_path / "t.csv", TELCO_CSV)
    assert run(config, "assets", "import", str(assets), "--org", "telco").exit_code == 0
    found = exposures(config, "--affected-only")
    assert [(e["advisory"], e["site"], e["advisory_tlp"]) for e in found] == [
        ("ACME-2026-01#CVE-2026-1000", "tokyo-core-1", "amber")
    ]


# -- assets import -----------------------------------------------------------------------


def test_reimporting_a_source_replaces_it_and_other_sources_stay(
    config: Path, tmp_path: Path
) -> None:
    first = write(tmp_path / "site.csv", TELCO_CSV)
    assert run(config, "assets", "import", str(first), "--org", "telco").exit_code == 0
    sbom = write(
        tmp_path / "core.cdx.json",
        _sbom(
            [
                {
                    "type": "library",
                    "name": "openssl",
                    "version": "3.0.1",
                    "purl": "pkg:npm/openssl@3.0.1",
                }
            ]
        ),
    )
    assert run(config, "assets", "import", str(sbom), "--org", "telco").exit_code == 0
    write(first, TELCO_CSV.splitlines()[0] + "\n" + TELCO_CSV.splitlines()[1] + "\n")
    assert run(config, "assets", "import", str(first), "--org", "telco").exit_code == 0
    listing = run(config, "assets", "list").output
    assert "telco\tcore.cdx.json\t1 assets" in listing
    assert "telco\tsite.csv\t1 assets" in listing


def test_a_truncated_sbom_imports_nothing_and_the_previous_inventory_stays(
    config: Path, tmp_path: Path
) -> None:
    components = [
        {"type": "firmware", "name": f"fw-{i}", "version": f"1.{i}", "supplier": {"name": "Acme"}}
        for i in range(200)
    ]
    text = json.dumps(_sbom(components), indent=1)
    path = write(tmp_path / "bom.json", text)
    assert run(config, "assets", "import", str(path), "--org", "telco").exit_code == 0
    cut = text[: len(text) // 2]
    write(path, cut)
    result = run(config, "assets", "import", str(path), "--org", "telco")
    assert result.exit_code == 5
    assert f"bom.json:{cut.count(chr(10)) + 1}" in result.output
    assert "telco\tbom.json\t200 assets" in run(config, "assets", "list").output


def test_a_bad_csv_row_imports_nothing(config: Path, tmp_path: Path) -> None:
    bad = TELCO_CSV + "kobe,telecom,Acme,BaseStation OS,7.0,,,urgent\n"
    result = run(config, "assets", "import", str(write(tmp_path / "x.csv", bad)), "--org", "telco")
    assert result.exit_code == 5
    assert "x.csv:5" in result.output
    assert "no inventories imported" in run(config, "assets", "list").output


def test_assets_import_needs_a_known_org_and_defaults_fill_gaps(
    config: Path, tmp_path: Path
) -> None:
    sbom = write(tmp_path / "b.json", _sbom([{"type": "library", "name": "lib", "version": "1"}]))
    result = run(config, "assets", "import", str(sbom), "--org", "nobody")
    assert result.exit_code == 2
    assert "no organisation 'nobody'" in result.output
    result = run(
        config, "assets", "import", str(sbom), "--org", "grid", "--sector", "energy",
        "--criticality", "high", "--source", "plant-sbom",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "grid\tplant-sbom\t1 assets" in run(config, "assets", "list").output
    removed = run(config, "assets", "remove", "--org", "grid")
    assert "Removed 1 assets of grid" in removed.output


# -- STIX out ------------------------------------------------------------------------------


def _bundle(config: Path, *args: str) -> list[dict[str, Any]]:
    result = run(config, "exposure", "--format", "stix", *args)
    assert result.exit_code == 0, result.output
    body = result.stdout
    objects: list[dict[str, Any]] = json.loads(body[body.index("{") :])["objects"]
    return objects


def test_stix_objects_name_their_operator_alone_and_parse_with_stix2(loaded: Path) -> None:
    objects = _bundle(loaded)
    for obj in objects:
        stix2.parse(obj, allow_custom=True)  # raises on anything invalid
        assert obj["extensions"][RECIPIENTS]["recipients"] in ([TELCO], [GRID])
    telco = [o for o in objects if o["extensions"][RECIPIENTS]["recipients"] == [TELCO]]
    types = sorted(o["type"] for o in telco)
    # tokyo (affected) and nagoya (cannot decide): two software, one vulnerability
    assert types == [
        "note",
        "relationship",
        "relationship",
        "software",
        "software",
        "vulnerability",
    ]
    vulnerability = next(o for o in telco if o["type"] == "vulnerability")
    assert vulnerability["name"] == "CVE-2026-1000"
    assert vulnerability["created_by_ref"] == CERT
    note = next(o for o in telco if o["type"] == "note")
    assert "tokyo-core-1" in note["content"]
    assert "fixed in 7.0.3" in note["content"]
    assert set(note["object_refs"]) == {o["id"] for o in telco if o["type"] != "note"}
    assert all(o["object_marking_refs"] == [AMBER_STRICT] for o in telco)


def test_an_operator_below_the_marking_is_withheld_and_a_lower_tlp_reaches_it(
    loaded: Path,
) -> None:
    result = run(loaded, "exposure", "--format", "stix")
    assert "withheld: CVE-2026-2000 for grid: marked amber+strict, above its ceiling green" in (
        result.stderr
    )
    green = _bundle(loaded, "--tlp", "green")
    grid = [o for o in green if o["extensions"][RECIPIENTS]["recipients"] == [GRID]]
    assert grid
    assert all(o["object_marking_refs"] == [GREEN] for o in grid)


def test_ids_are_stable_across_runs_and_differ_between_operators(loaded: Path) -> None:
    first = {o["id"] for o in _bundle(loaded, "--tlp", "green")}
    second = {o["id"] for o in _bundle(loaded, "--tlp", "green")}
    assert first == second
    telco = {o["id"] for o in _bundle(loaded, "--org", "telco", "--tlp", "green")}
    grid = {o["id"] for o in _bundle(loaded, "--org", "grid", "--tlp", "green")}
    assert telco
    assert grid
    assert not telco & grid


def test_stix_needs_a_reporting_identity(tmp_path: Path, database: str) -> None:
    path = tmp_path / "hub.toml"
    path.write_text(_config(database).replace('organization = "cert"\n', "", 1))
    result = run(path, "exposure", "--format", "stix")
    assert result.exit_code == 2
    assert "--identity" in result.output


# -- a real hub: --report-to and --from ------------------------------------------------


@pytest.fixture
def hub(config: Path, tmp_path: Path, store: Store) -> Iterator[str]:
    """The hub of this config, serving the same database on a loopback port."""
    settings = parse_settings(config.read_text(), base_dir=tmp_path, environ={})
    with serving(create_app(settings, store, manage_store=False)) as base:
        yield f"{base}/exchange/collections/{EXPOSURES}/"


def _seen(url: str, user: str) -> dict[str, dict[str, Any]]:
    headers = {"Accept": "application/taxii+json;version=2.1"}
    with httpx.Client(auth=(user, TOKENS[user]), headers=headers) as client:
        response = client.get(f"{url}objects/", params={"match[version]": "all"})
        assert response.status_code == 200, response.text
        return {o["id"]: o for o in response.json().get("objects", [])}


def test_report_to_posts_each_exposure_to_its_operator_only(loaded: Path, hub: str) -> None:
    result = CliRunner().invoke(
        cli,
        ["--config", str(loaded), "exposure", "--tlp", "green", "--report-to", hub],
        env={"KAKEHASHI_TOKEN": TOKENS["cert"]},
    )
    assert result.exit_code == 0, result.output
    assert "Posted 10 object(s)" in result.stderr
    assert ": 10 stored" in result.stderr
    exposure_types = {"vulnerability", "software", "relationship", "note"}
    telco = {i for i, o in _seen(hub, "telco").items() if o["type"] in exposure_types}
    grid = {i for i, o in _seen(hub, "grid").items() if o["type"] in exposure_types}
    cert = {i for i, o in _seen(hub, "cert").items() if o["type"] in exposure_types}
    assert len(telco) == 6
    assert len(grid) == 4
    assert not telco & grid  # operator X's exposure is never shown to operator Y
    assert cert == telco | grid
    # Asked by id, the other operator's objects do not exist.
    headers = {"Accept": "application/taxii+json;version=2.1"}
    with httpx.Client(auth=("grid", TOKENS["grid"]), headers=headers) as client:
        for object_id in telco:
            assert client.get(f"{hub}objects/{object_id}/").status_code == 404
        manifest = client.get(f"{hub}manifest/").json().get("objects", [])
        assert not {m["id"] for m in manifest} & telco


def test_report_to_without_a_token_is_a_usage_error(loaded: Path, hub: str) -> None:
    result = CliRunner().invoke(
        cli, ["--config", str(loaded), "exposure", "--report-to", hub], env={"KAKEHASHI_TOKEN": ""}
    )
    assert result.exit_code == 2
    assert "needs a token" in result.output


def test_advisories_from_a_hub_collection(config: Path, hub: str, tmp_path: Path) -> None:
    software = {
        "type": "software",
        "spec_version": "2.1",
        "id": "software--5d6e7f80-1a2b-4c3d-8e9f-0a1b2c3d4e5f",
        "name": "Substation Gateway",
        "vendor": "Volt Systems",
        "version": "4.1",
    }
    vulnerability = {
        "type": "vulnerability",
        "spec_version": "2.1",
        "id": "vulnerability--1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d",
        "created": "2026-11-01T00:00:00.000Z",
        "modified": "2026-11-01T00:00:00.000Z",
        "name": "CVE-2026-4000",
        "external_references": [{"source_name": "cve", "external_id": "CVE-2026-4000"}],
        "object_marking_refs": [GREEN],
    }
    relationship = {
        "type": "relationship",
        "spec_version": "2.1",
        "id": "relationship--9f8e7d6c-5b4a-4c3d-8e2f-1a0b9c8d7e6f",
        "created": "2026-11-01T00:00:00.000Z",
        "modified": "2026-11-01T00:00:00.000Z",
        "relationship_type": "has",
        "source_ref": software["id"],
        "target_ref": vulnerability["id"],
    }
    headers = {
        "Accept": "application/taxii+json;version=2.1",
        "Content-Type": "application/taxii+json;version=2.1",
    }
    with httpx.Client(auth=("cert", TOKENS["cert"]), headers=headers) as client:
        body = json.dumps({"objects": [software, vulnerability, relationship]})
        posted = client.post(f"{hub}objects/", content=body)
        assert posted.status_code == 202
        assert posted.json()["success_count"] == 3
    result = CliRunner().invoke(
        cli,
        ["--config", str(config), "advisories", "import", "--from", hub],
        env={"KAKEHASHI_TOKEN": TOKENS["cert"]},
    )
    assert result.exit_code == 0, result.output
    grid = write(tmp_path / "g.csv", GRID_CSV)
    assert run(config, "assets", "import", str(grid), "--org", "grid").exit_code == 0
    found = exposures(config)
    assert [(e["cves"], e["site"], e["advisory_tlp"]) for e in found] == [
        (["CVE-2026-4000"], "sub-7", "green")
    ]


def test_several_inventories_at_once_each_all_or_nothing(config: Path, tmp_path: Path) -> None:
    good = write(tmp_path / "ran.csv", TELCO_CSV)
    bad = write(tmp_path / "core.json", '{"bomFormat": "CycloneDX", "specVersion": "1.6", "comp')
    sbom = write(tmp_path / "lab.json", _sbom([{"type": "library", "name": "x", "version": "1"}]))
    result = run(config, "assets", "import", str(good), str(bad), str(sbom), "--org", "telco")
    assert result.exit_code == 5
    assert "core.json:1: not valid JSON" in result.output
    assert "1 of 3 inventories refused" in result.output
    listing = run(config, "assets", "list").output
    assert "telco\tran.csv\t3 assets" in listing
    assert "telco\tlab.json\t1 assets" in listing
    assert "core.json" not in listing
    several = run(
        config, "assets", "import", str(good), str(sbom), "--org", "telco", "--source", "x"
    )
    assert several.exit_code == 2


# -- bad input and failures: one clear line, the documented exit code, nothing half-done --


def test_an_empty_stix_bundle_has_no_objects_list(loaded: Path) -> None:
    """STIX 2.1 allows a bundle without ``objects``, not one with an empty list."""
    result = run(loaded, "exposure", "--format", "stix", "--sector", "no-such-sector")
    assert result.exit_code == 0, result.output
    bundle = json.loads(result.stdout)
    assert "objects" not in bundle
    # stix2 cannot tell the version of an empty bundle by itself; it writes one so too.
    assert stix2.parse(bundle, allow_custom=True, version="2.1").type == "bundle"


def test_output_into_a_missing_directory_is_a_usage_error(loaded: Path, tmp_path: Path) -> None:
    target = tmp_path / "no-such-dir" / "out.json"
    result = run(loaded, "exposure", "--format", "json", "--output", str(target))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert "no such directory" in result.output
    assert not target.parent.exists()


def test_an_identity_that_is_not_a_stix_identity_id_is_refused(loaded: Path) -> None:
    result = run(loaded, "exposure", "--format", "stix", "--identity", "cert-in")
    assert result.exit_code == 2, result.output
    assert "not a STIX identity id" in result.output


def test_a_hub_that_is_down_leaves_the_files_of_the_same_import_unstored(
    config: Path, tmp_path: Path
) -> None:
    feed = write(tmp_path / "firmware.json", FIRMWARE_CVE)
    down = "http://127.0.0.1:9/exchange/collections/x/"
    result = CliRunner().invoke(
        cli,
        ["--config", str(config), "advisories", "import", str(feed), "--from", down],
        env={"KAKEHASHI_TOKEN": "some-token"},
    )
    assert result.exit_code == 7, result.output
    assert result.output.startswith("Error: cannot read")
    assert result.output.count("\n") == 1
    assert run(config, "advisories", "list").output.startswith("0 advisories")
    no_token = CliRunner().invoke(
        cli,
        ["--config", str(config), "advisories", "import", str(feed), "--from", down],
        env={"KAKEHASHI_TOKEN": ""},
    )
    assert no_token.exit_code == 2
    assert run(config, "advisories", "list").output.startswith("0 advisories")


def test_report_to_with_nothing_to_report_posts_nothing(loaded: Path) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "--config",
            str(loaded),
            "exposure",
            "--sector",
            "no-such-sector",
            "--report-to",
            "http://127.0.0.1:9/exchange/collections/x/",
        ],
        env={"KAKEHASHI_TOKEN": "some-token"},
    )
    assert result.exit_code == 0, result.output
    assert "Nothing to post" in result.stderr


def _get(client: httpx.Client, url: str, params: dict[str, str] | None = None) -> Any:
    response = client.get(url, params=params)
    assert response.status_code in (200, 404), (url, params, response.text)
    return response.json() if response.status_code == 200 and response.content else {}


def _every_id_seen(client: httpx.Client, hub: str, others: set[str]) -> set[str]:
    """Every object id the client is shown through any TAXII path of the collection."""
    seen: set[str] = set()
    types = "vulnerability,software,relationship,note,identity,marking-definition"
    filters: list[dict[str, str]] = [
        {},
        {"match[version]": "all"},
        {"match[version]": "first"},
        {"match[version]": "last"},
        {"match[spec_version]": "2.1"},
        {"match[type]": types},
        {"added_after": "1970-01-01T00:00:00.000Z"},
        {"match[id]": ",".join(sorted(others))},
    ]
    filters += [{"match[type]": t} for t in types.split(",")]
    for endpoint in ("objects/", "manifest/"):
        for params in filters:
            for limit in (None, "1"):
                query = dict(params) | ({"limit": limit} if limit else {})
                for _ in range(1000):  # at most a thousand pages: a loop would be a bug
                    body = _get(client, f"{hub}{endpoint}", query)
                    seen |= {o["id"] for o in body.get("objects", [])}
                    if not body.get("more"):
                        break
                    assert body.get("next"), body
                    query = dict(query) | {"next": body["next"]}
    for object_id in others:
        for suffix in ("", "versions/"):
            body = _get(client, f"{hub}objects/{object_id}/{suffix}")
            seen |= {o["id"] for o in body.get("objects", [])}
            if body.get("versions"):
                seen.add(object_id)
        versions = _get(client, f"{hub}objects/{object_id}/", {"match[version]": "all"})
        seen |= {o["id"] for o in versions.get("objects", [])}
    return seen


def test_no_taxii_path_shows_an_operator_the_other_operators_exposures(
    loaded: Path, hub: str
) -> None:
    """Leak probe: every read of the collection, by every filter, id, version and page."""
    for _ in range(2):  # twice: the second run adds versions of the same objects
        result = CliRunner().invoke(
            cli,
            ["--config", str(loaded), "exposure", "--tlp", "green", "--report-to", hub],
            env={"KAKEHASHI_TOKEN": TOKENS["cert"]},
        )
        assert result.exit_code == 0, result.output
    exposure_types = ("vulnerability--", "software--", "relationship--", "note--")
    owned = {
        user: {i for i in _seen(hub, user) if i.startswith(exposure_types)}
        for user in ("telco", "grid")
    }
    assert owned["telco"]
    assert owned["grid"]
    headers = {"Accept": "application/taxii+json;version=2.1"}
    for user, other in (("telco", "grid"), ("grid", "telco")):
        with httpx.Client(auth=(user, TOKENS[user]), headers=headers) as client:
            seen = _every_id_seen(client, hub, owned[other])
        assert owned[user] <= seen
        assert not seen & owned[other], f"{user} sees {other}'s exposures"


@pytest.mark.parametrize(
    ("user", "token", "says"),
    [("cert", "wrong-token-0123456789", "401"), ("telco", TOKENS["telco"], "403")],
)
def test_report_to_a_hub_that_refuses_the_token_is_exit_7(
    loaded: Path, hub: str, user: str, token: str, says: str
) -> None:
    result = CliRunner().invoke(
        cli,
        ["--config", str(loaded), "exposure", "--tlp", "green", "--report-to", hub],
        env={"KAKEHASHI_TOKEN": token},
    )
    assert result.exit_code == 7, result.output
    assert "Traceback" not in result.output
    (last,) = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert says in last, last


def _vulnerability(modified: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "vulnerability",
        "spec_version": "2.1",
        "id": "vulnerability--2b3c4d5e-6f70-4a8b-9c0d-1e2f3a4b5c6d",
        "created": "2026-11-01T00:00:00Z",
        "modified": modified,
        "name": "CVE-2026-5000",
        "object_marking_refs": [GREEN],
        **extra,
    }


def _gateway_bundle(*vulnerabilities: dict[str, Any]) -> dict[str, Any]:
    software = {
        "type": "software",
        "spec_version": "2.1",
        "id": "software--6d6e7f80-1a2b-4c3d-8e9f-0a1b2c3d4e5f",
        "name": "Substation Gateway",
        "vendor": "Volt Systems",
        "version": "4.1",
    }
    has = {
        "type": "relationship",
        "spec_version": "2.1",
        "id": "relationship--8f8e7d6c-5b4a-4c3d-8e2f-1a0b9c8d7e6f",
        "created": "2026-11-01T00:00:00Z",
        "modified": "2026-11-01T00:00:00Z",
        "relationship_type": "has",
        "source_ref": software["id"],
        "target_ref": vulnerabilities[0]["id"],
    }
    objects = [software, has, *vulnerabilities]
    return {
        "type": "bundle",
        "id": "bundle--0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f",
        "objects": objects,
    }


def test_a_revoked_stix_vulnerability_forgets_the_stored_advisory(
    config: Path, tmp_path: Path
) -> None:
    grid = write(tmp_path / "g.csv", GRID_CSV)
    assert run(config, "assets", "import", str(grid), "--org", "grid").exit_code == 0
    first = write(tmp_path / "v1.json", _gateway_bundle(_vulnerability("2026-11-01T00:00:00Z")))
    assert run(config, "advisories", "import", str(first)).exit_code == 0
    assert [e["cves"] for e in exposures(config)] == [["CVE-2026-5000"]]
    # A later version of the bundle: the vulnerability was revoked upstream.
    revoked = _vulnerability("2026-11-02T00:00:00Z", revoked=True)
    later = write(tmp_path / "v2.json", _gateway_bundle(revoked))
    result = run(config, "advisories", "import", str(later))
    assert result.exit_code == 0, result.output
    assert "1 revoked advisories removed" in result.output
    assert exposures(config) == []
    assert run(config, "advisories", "list").output.startswith("0 advisories")


def test_the_latest_stix_version_is_chosen_by_time_not_text(config: Path, tmp_path: Path) -> None:
    """``…00Z`` sorts after ``…00.500Z`` as text, but is the earlier time."""
    grid = write(tmp_path / "g.csv", GRID_CSV)
    assert run(config, "assets", "import", str(grid), "--org", "grid").exit_code == 0
    older = _vulnerability("2026-11-02T00:00:00Z", revoked=True)
    newer = _vulnerability("2026-11-02T00:00:00.500Z")
    bundle = write(tmp_path / "v.json", _gateway_bundle(newer, older))
    assert run(config, "advisories", "import", str(bundle)).exit_code == 0
    assert [e["cves"] for e in exposures(config)] == [["CVE-2026-5000"]]


@pytest.mark.parametrize(("content", "says"), [("", "not valid JSON"), ("[1, 2]", "$.bomFormat")])
def test_a_json_file_is_read_as_cyclonedx_whatever_it_starts_with(
    config: Path, tmp_path: Path, content: str, says: str
) -> None:
    """An empty or non-object .json file is a bad SBOM, not a CSV without its columns."""
    sbom = write(tmp_path / "sbom.json", content)
    result = run(config, "assets", "import", str(sbom), "--org", "grid")
    assert result.exit_code == 5, result.output
    assert says in result.output
    assert "column" not in result.output


def test_many_withheld_pairs_are_summarised(config: Path, tmp_path: Path) -> None:
    records = []
    for n in range(60):
        record = json.loads(json.dumps(GATEWAY_CVE))
        record["cveMetadata"]["cveId"] = f"CVE-2026-{5000 + n}"
        records.append(json.dumps(record))
    feed = write(tmp_path / "many.jsonl", "\n".join(records) + "\n")
    assert run(config, "advisories", "import", str(feed)).exit_code == 0
    grid = write(tmp_path / "g.csv", GRID_CSV)
    assert run(config, "assets", "import", str(grid), "--org", "grid").exit_code == 0
    result = run(config, "exposure", "--format", "stix")
    assert result.exit_code == 0, result.output
    assert result.stderr.count("  withheld: ") == 50
    assert "... 10 more withheld (60 in all, for 1 operator(s))" in result.stderr


def test_an_empty_folder_is_refused(config: Path, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "README.txt").write_text("not an advisory")
    result = run(config, "advisories", "import", str(tmp_path / "empty"))
    assert result.exit_code == 5
    assert "no *.json or *.jsonl file in this folder" in result.output
