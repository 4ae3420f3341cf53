"""``kakehashi match`` end to end with files: the bundle, the summary, the exit codes."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from kakehashi.match.command import EXIT_INPUT, match_command
from kakehashi.stix.markings import TLP_2_MARKING_IDS, TLP_IDS, Tlp
from kakehashi.stix.validate import validate_object

FIXTURES = Path(__file__).parent / "fixtures"
INDICATORS = str(FIXTURES / "indicators.json")
IDENTITY = "identity--5f0e7a3c-2a71-4bb2-9e9b-0c2f1d8a6b11"
LOGS = ["conn.log", "dns.log", "http.log", "files.log", "eve.json", "observed.jsonl"]


def invoke(*args: str, stdin: bytes | None = None, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(
        match_command,
        ["--indicators", INDICATORS, "--identity", IDENTITY, *args],
        input=stdin,
        env=env,
        catch_exceptions=False,
    )


def by_indicator(bundle: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {
        int(o["sighting_of_ref"].rsplit("-", 1)[1]): o
        for o in bundle.get("objects", [])
        if o["type"] == "sighting"
    }


def test_match_files_to_a_bundle(tmp_path: Path) -> None:
    output = tmp_path / "sightings.json"
    result = invoke(
        "--output",
        str(output),
        "--identity-name",
        "CERT A",
        *(str(FIXTURES / name) for name in LOGS),
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    bundle = json.loads(output.read_text())
    identity = bundle["objects"][0]
    assert (identity["id"], identity["name"]) == (IDENTITY, "CERT A")
    sightings = by_indicator(bundle)
    for obj in bundle["objects"]:
        validate_object(obj, json.dumps(obj))
    # 1: 198.51.100.7 in conn (1), dns answer (1), eve dns (1), observed-data x3
    assert sightings[1]["count"] == 6
    assert sightings[1]["observed_data_refs"] == [
        "observed-data--00000000-0000-4000-8000-000000000001"
    ]
    # 2: Evil.Example.COM. (zeek dns), evil.example.com (eve), EVIL.example.com (stix)
    assert sightings[2]["count"] == 3
    assert sightings[3]["count"] == 1  # IPv6 2001:DB8:0:0::1 in conn
    assert sightings[4]["count"] == 4  # 203.0.113.0/24: conn, http, files, eve fileinfo
    assert sightings[5]["count"] == 1  # files.log SHA256 in upper case
    assert sightings[6]["count"] == 3  # MD5: files.log, eve fileinfo, stix file
    assert sightings[7]["count"] == 1  # url MATCHES evil[0-9]+\.php
    assert sightings[8]["count"] == 2  # LIKE '%.example.org': http host, tls sni
    assert sightings[10]["count"] == 1  # curl user agent
    assert sightings[17]["count"] == 1  # dst_port 22 AND dst_ref.value 192.0.2.1
    # the evil.example.com lookups (5.5 s, 20 s, 10 s) each followed by an MD5 file
    # (11 s, 22 s, 30 s) within 60 seconds
    assert sightings[9]["count"] == 3
    assert not {11, 12, 13, 14, 15, 16} & set(sightings)  # skipped, and 10.0.0.7 (old v1)
    assert sightings[1]["where_sighted_refs"] == [IDENTITY]
    summary = result.stderr
    assert "Indicators: 17 (latest versions of 18 read), 12 compiled, 5 skipped" in summary
    assert "1 revoked, 1 expired, 1 not yet valid, 1 unsupported, 1 invalid" in summary
    assert "indicator--00000000-0000-4000-8000-000000000015: pattern does not parse" in summary
    assert f"{FIXTURES / 'conn.log'}:12: 1 fields where #fields names 12" in summary
    assert f"{FIXTURES / 'dns.log'}:3: 'not a time' is not a timestamp" in summary
    assert "Sightings: 11" in summary


def test_the_bundle_goes_to_standard_output_by_default() -> None:
    result = invoke(str(FIXTURES / "conn.log"), "--tlp", "amber")
    assert result.exit_code == 0
    bundle = json.loads(result.stdout)
    amber = TLP_2_MARKING_IDS[Tlp.AMBER]
    assert TLP_IDS[amber].label == "amber"
    assert all(o["object_marking_refs"] == [amber] for o in bundle["objects"])
    assert set(by_indicator(bundle)) == {1, 3, 4, 17}


def test_standard_input_and_gzip(tmp_path: Path) -> None:
    data = gzip.compress((FIXTURES / "eve.json").read_bytes())
    result = invoke("-", stdin=data)
    assert result.exit_code == 0
    assert set(by_indicator(json.loads(result.stdout))) == {1, 2, 4, 6, 8, 9}
    assert "<stdin>: 4 observations, 0 problems" in result.stderr


def test_csv_options() -> None:
    result = invoke(
        "--csv-map",
        "src=ipv4-addr:value",
        "--csv-map",
        "dst=ipv4-addr#2:value",
        "--csv-map",
        "sha256=file:hashes.'SHA-256'",
        "--csv-time",
        "when",
        str(FIXTURES / "flows.csv"),
    )
    assert result.exit_code == 0
    sightings = by_indicator(json.loads(result.stdout))
    assert {n: s["count"] for n, s in sightings.items()} == {1: 1, 3: 1, 5: 1}
    assert sightings[1]["first_seen"] == "2024-01-01T00:00:40.000000Z"


def test_a_truncated_file_ends_the_run_with_what_was_matched(tmp_path: Path) -> None:
    cut = tmp_path / "eve.json"
    cut.write_bytes((FIXTURES / "eve.json").read_bytes()[:-30])
    output = tmp_path / "out.json"
    result = invoke(
        "--output", str(output), str(FIXTURES / "conn.log"), str(cut), str(FIXTURES / "dns.log")
    )
    assert result.exit_code == EXIT_INPUT
    assert "STOPPED EARLY" in result.stderr
    assert f"{cut}:4: truncated" in result.stderr
    assert "the run ended early" in result.stderr
    sightings = by_indicator(json.loads(output.read_text()))
    assert sightings[1]["count"] == 2  # conn + eve dns; dns.log was never read
    assert str(FIXTURES / "dns.log") not in result.stderr


def test_an_unreadable_input_ends_the_run_too(tmp_path: Path) -> None:
    result = invoke(str(FIXTURES / "conn.log"), str(tmp_path / "missing.log"))
    assert result.exit_code == EXIT_INPUT
    assert "No such file or directory" in result.stderr
    assert set(by_indicator(json.loads(result.stdout))) == {1, 3, 4, 17}


def test_bad_indicator_sources(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"type": "bundle", "objects": [{"type": "indicator"')
    result = CliRunner().invoke(
        match_command, ["--indicators", str(bad), "--identity", IDENTITY, "-"], input=b""
    )
    assert result.exit_code == EXIT_INPUT
    assert "cannot read indicators" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--identity", "identity--nope"], "expected identity--<uuid>"),
        (["--identity", IDENTITY, "--report-to", "http://hub.test/c/"], "needs a token"),
        (["--identity", IDENTITY, "--csv-map", "oops"], "is not COLUMN=TYPE"),
        (["--identity", IDENTITY, "--format", "pcap"], "'pcap' is not one of"),
    ],
)
def test_usage_errors(args: list[str], message: str) -> None:
    result = CliRunner().invoke(
        match_command,
        ["--indicators", INDICATORS, *args, str(FIXTURES / "conn.log")],
        env={"KAKEHASHI_TOKEN": ""},
    )
    assert result.exit_code == 2
    assert message in result.stderr


def test_the_token_is_never_printed(tmp_path: Path) -> None:
    secret = "s3cret-token-value"
    result = CliRunner().invoke(
        match_command,
        [
            "--indicators",
            "http://127.0.0.1:9/nowhere/collections/x/",
            "--identity",
            IDENTITY,
            str(FIXTURES / "conn.log"),
        ],
        env={"KAKEHASHI_TOKEN": secret},
    )
    assert result.exit_code == 7
    assert "cannot read indicators" in result.stderr
    assert secret not in result.output
