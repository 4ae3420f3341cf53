"""The worked example of docs/exposure.md, run for real on the shipped files.

``examples/exposure/`` holds the inventories and advisories; ``examples/india-japan.toml``
the organisations. The table the documentation quotes must be what the commands print,
and the shipped CSAF document must satisfy the official CSAF 2.0 schema.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from advisories.test_csaf import _validator
from kakehashi.cli import cli

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "exposure"
CERT_IN = "identity--1d0306f4-b603-4c46-b4a2-fa5239a47f29"


@pytest.fixture
def hub(tmp_path: Path) -> Path:
    config = tmp_path / "india-japan.toml"
    shutil.copy(ROOT / "examples" / "india-japan.toml", config)
    steps = [
        ["advisories", "import", str(EXAMPLE / "acme-2026-01.json"), str(EXAMPLE / "cves")],
        ["advisories", "import", str(EXAMPLE / "known_exploited_vulnerabilities.json")],
        ["assets", "import", str(EXAMPLE / "telco-ran.csv"), "--org", "in-telco"],
        [
            "assets", "import", str(EXAMPLE / "gateway.cdx.json"), "--org", "in-grid",
            "--sector", "energy", "--criticality", "critical",
        ],
    ]  # fmt: skip
    for step in steps:
        result = run(config, *step)
        assert result.exit_code == 0, result.output
    return config


def run(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args])


def _rows(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines() if re.match(r"in-(grid|telco) ", line)]


def test_the_documented_table_is_what_exposure_prints(hub: Path) -> None:
    result = run(hub, "exposure")
    assert result.exit_code == 0, result.output
    printed = _rows(result.stdout)
    documented = _rows((ROOT / "docs" / "exposure.md").read_text(encoding="utf-8"))
    assert printed
    assert documented == printed


def test_the_example_exposures(hub: Path) -> None:
    result = run(hub, "exposure", "--format", "json", "--affected-only")
    records = json.loads(result.stdout[result.stdout.index("[") :])
    assert [(r["organization"], r["site"], r["advisory"], r["rule"]) for r in records] == [
        ("in-grid", "", "CVE-2026-2000", "cpe"),  # known exploited: first
        ("in-telco", "mumbai-core-1", "ACME-2026-01#CVE-2026-1000", "vendor+product name"),
        ("in-telco", "mumbai-core-1", "CVE-2026-1000", "vendor+product name"),
    ]
    assert records[0]["kev_due_date"] == "2026-12-15"
    assert records[1]["advisory_tlp"] == "amber"
    assert "7.0.2.4-lts" in records[1]["remediation"]


def test_the_amber_advisory_is_withheld_from_the_green_operator(hub: Path) -> None:
    result = run(hub, "exposure", "--format", "stix", "--identity", CERT_IN, "--tlp", "green")
    assert result.exit_code == 0, result.output
    assert (
        "withheld: ACME-2026-01#CVE-2026-1000 for in-telco: marked amber, above its ceiling green"
        in result.stderr
    )
    doc = (ROOT / "docs" / "exposure.md").read_text(encoding="utf-8")
    assert "withheld: ACME-2026-01#CVE-2026-1000 for in-telco:" in doc.replace("\n", " ")


def test_the_shipped_csaf_document_satisfies_the_official_schema() -> None:
    document = json.loads((EXAMPLE / "acme-2026-01.json").read_text(encoding="utf-8"))
    errors = list(_validator("v20").iter_errors(document))
    assert errors == []
