"""Every input format, from small shipped fixtures and files made here; bad input too."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path
from typing import Any

import pytest

from kakehashi.match.errors import MatchInputError
from kakehashi.match.inputs import (
    CsvLayout,
    InputFile,
    detect_format,
    parse_column_map,
    read_observations,
)
from kakehashi.match.inputs.common import stamp_us
from kakehashi.match.inputs.stix import iter_stix_objects
from kakehashi.match.observation import Observation, Problem

from .helpers import NOW, T0

FIXTURES = Path(__file__).parent / "fixtures"
CSV = CsvLayout(
    (
        parse_column_map("src=ipv4-addr:value"),
        parse_column_map("dst=ipv4-addr#2:value"),
        parse_column_map("port=network-traffic:dst_port"),
        parse_column_map("sha256=file:hashes.'SHA-256'"),
    ),
    time_column="when",
)


def read(path: Path | str, fmt: str = "auto", **options: Any) -> list[Observation | Problem]:
    with InputFile(str(path), stdin=options.pop("stdin", None)) as source:
        return list(read_observations(source, fmt, now_us=NOW, **options))


def split(items: list[Observation | Problem]) -> tuple[list[Observation], list[Problem]]:
    return (
        [i for i in items if isinstance(i, Observation)],
        [i for i in items if isinstance(i, Problem)],
    )


def types(observation: Observation) -> list[str]:
    return [o["type"] for o in observation.objects.values()]


def values(observation: Observation, object_type: str) -> list[Any]:
    return [o.get("value") for o in observation.objects.values() if o["type"] == object_type]


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("conn.log", "zeek"),
        ("dns.log", "zeek"),
        ("http.log", "zeek"),
        ("files.log", "zeek"),
        ("eve.json", "suricata"),
        ("observed.jsonl", "stix"),
        ("bundle.json", "stix"),
        ("scos.jsonl", "stix"),
        ("flows.csv", "csv"),
    ],
)
def test_formats_are_detected(name: str, fmt: str) -> None:
    with InputFile(str(FIXTURES / name)) as source:
        assert detect_format(source) == fmt


def test_an_unknown_format_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello\n")
    with pytest.raises(MatchInputError, match="give --format"):
        read(path)


def test_zeek_conn_tsv() -> None:
    observations, problems = split(read(FIXTURES / "conn.log"))
    assert len(observations) == 4
    first = observations[0]
    assert types(first) == ["ipv4-addr", "ipv4-addr", "network-traffic"]
    traffic = first.objects["2"]
    assert traffic == {
        "type": "network-traffic",
        "src_ref": "0",
        "dst_ref": "1",
        "src_port": 51000,
        "dst_port": 443,
        "protocols": ["tcp", "ssl"],
        "src_byte_count": 100,
        "dst_byte_count": 2000,
    }
    assert (first.first_us, first.last_us) == (T0, T0 + 1_500_000)  # ts + duration
    assert observations[1].first_us == T0 + 1_250_000
    assert values(observations[2], "ipv6-addr") == ["2001:db8::5", "2001:DB8:0:0::1"]
    assert [(p.line, p.fatal) for p in problems] == [(12, False)]
    assert "1 fields where #fields names 12" in problems[0].reason


def test_zeek_dns_json() -> None:
    observations, problems = split(read(FIXTURES / "dns.log"))
    assert len(observations) == 2
    (query,) = [o for o in observations[0].objects.values() if o.get("resolves_to_refs")]
    assert query["value"] == "Evil.Example.COM."
    assert [observations[0].objects[r]["value"] for r in query["resolves_to_refs"]] == [
        "198.51.100.7"
    ]
    second = [o for o in observations[1].objects.values() if o["type"] == "domain-name"]
    assert {o["value"] for o in second} == {"benign.example.net", "cname.example.net"}
    assert observations[0].first_us == T0 + 5_500_000
    assert [(p.line, p.reason) for p in problems] == [(3, "'not a time' is not a timestamp")]


def test_zeek_http_json() -> None:
    (observation,) = read(FIXTURES / "http.log")
    assert isinstance(observation, Observation)
    assert values(observation, "domain-name") == ["download.example.org"]
    assert values(observation, "url") == ["http://download.example.org/payload/evil42.php?x=1"]
    traffic = next(o for o in observation.objects.values() if o["type"] == "network-traffic")
    assert traffic["extensions"]["http-request-ext"] == {
        "request_method": "GET",
        "request_value": "/payload/evil42.php?x=1",
        "request_version": "http/1.1",
        "request_header": {"Host": "download.example.org", "User-Agent": "curl/8.1"},
    }
    assert traffic["protocols"] == ["http"]


def test_zeek_files_json() -> None:
    (observation,) = read(FIXTURES / "files.log")
    assert isinstance(observation, Observation)
    file = next(o for o in observation.objects.values() if o["type"] == "file")
    assert file["hashes"]["MD5"] == "0123456789ABCDEF0123456789ABCDEF"
    assert file["name"] == "setup.exe"
    assert file["size"] == 4096
    assert values(observation, "ipv4-addr") == ["203.0.113.9", "10.0.0.6"]


def test_zeek_tsv_files_and_dns(tmp_path: Path) -> None:
    header = (
        "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n"
        "#path\tdns\n#fields\tts\tid.orig_h\tid.resp_h\tquery\tanswers\n"
        "#types\ttime\taddr\taddr\tstring\tvector[string]\n"
    )
    path = tmp_path / "x.log"
    path.write_text(
        header
        + "1704067200.5\t10.0.0.1\t10.0.0.53\tbad\\x09name.example\t192.0.2.1,192.0.2.2\n"
        + "1704067201\t10.0.0.1\t10.0.0.53\tempty.example\t(empty)\n"
    )
    observations, problems = split(read(path))
    assert not problems
    domains = [o for o in observations[0].objects.values() if o["type"] == "domain-name"]
    assert domains[0]["value"] == "bad\tname.example"
    assert len(domains[0]["resolves_to_refs"]) == 2
    assert "resolves_to_refs" not in values(observations[1], "domain-name")


def test_suricata() -> None:
    observations, problems = split(read(FIXTURES / "eve.json"))
    assert not problems
    dns, tls, fileinfo, flow = observations
    assert values(dns, "domain-name") == ["evil.example.com"]
    assert dns.first_us == T0 + 20_000_000
    assert values(tls, "domain-name") == ["login.example.org"]
    certificate = next(o for o in tls.objects.values() if o["type"] == "x509-certificate")
    assert certificate["hashes"] == {"SHA-1": "aabbcc"}
    file = next(o for o in fileinfo.objects.values() if o["type"] == "file")
    assert file["hashes"] == {"MD5": "0123456789abcdef0123456789abcdef"}
    traffic = next(o for o in fileinfo.objects.values() if o["type"] == "network-traffic")
    assert traffic["protocols"] == ["tcp", "http"]
    assert (flow.first_us, flow.last_us) == (T0 + 10_000_000, T0 + 23_000_000)


def test_stix_json_lines_of_bundles() -> None:
    observations, problems = split(read(FIXTURES / "observed.jsonl"))
    assert [o.ref for o in observations] == [
        "observed-data--00000000-0000-4000-8000-000000000001",
        "observed-data--00000000-0000-4000-8000-000000000002",
        "observed-data--00000000-0000-4000-8000-000000000003",
    ]
    assert observations[0].number == 3
    assert set(types(observations[0])) == {"ipv4-addr", "network-traffic"}
    assert [p.line for p in problems] == [4, 5]


def test_stix_one_pretty_bundle() -> None:
    observations, problems = split(read(FIXTURES / "bundle.json"))
    assert not problems
    assert len(observations) == 2
    assert observations[1].objects == {
        "domain-name--00000000-0000-4000-8000-000000000001": {
            "type": "domain-name",
            "spec_version": "2.1",
            "id": "domain-name--00000000-0000-4000-8000-000000000001",
            "value": "EVIL.example.com",
        }
    }


def test_stix_bare_scos_and_embedded_objects(tmp_path: Path) -> None:
    observations, problems = split(read(FIXTURES / "scos.jsonl"))
    assert [values(o, "ipv4-addr") + values(o, "url") for o in observations] == [
        ["198.51.100.7"],
        ["http://download.example.org/evil7.php"],
    ]
    assert all(o.first_us == NOW for o in observations)
    assert [p.reason for p in problems] == ["a indicator is not an observation"]
    path = tmp_path / "embedded.jsonl"
    embedded = {
        "type": "observed-data",
        "id": "observed-data--1",
        "first_observed": "2024-01-01T00:00:00Z",
        "last_observed": "2024-01-01T00:00:01Z",
        "number_observed": 2,
        "objects": {"0": {"type": "ipv4-addr", "value": "10.0.0.1"}},
    }
    path.write_text(json.dumps(embedded) + "\n")
    (observation,) = read(path)
    assert observation == Observation(
        {"0": {"type": "ipv4-addr", "value": "10.0.0.1"}}, T0, T0 + 1_000_000, 2, "observed-data--1"
    )


def test_csv_with_a_column_map() -> None:
    observations, problems = split(read(FIXTURES / "flows.csv", csv_layout=CSV))
    assert [o.first_us - T0 for o in observations] == [40_000_000, 41_000_000, 42_000_000]
    assert observations[0].objects == {
        "0": {"type": "ipv4-addr", "value": "10.0.0.5"},
        "1": {"type": "ipv4-addr", "value": "198.51.100.7"},
        "2": {"type": "network-traffic", "dst_port": 443},
    }
    assert types(observations[1])[:2] == ["ipv6-addr", "ipv6-addr"]
    assert observations[2].objects["3"] == {
        "type": "file",
        "hashes": {"SHA-256": "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"},
    }
    assert [(p.line, p.reason) for p in problems] == [(5, "2 cells where the header has 5")]


def test_csv_needs_its_columns(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(MatchInputError, match="no column src, when"):
        read(path, csv_layout=CsvLayout((parse_column_map("src=ipv4-addr:value"),), "when"))
    with pytest.raises(ValueError, match="is not COLUMN=TYPE"):
        parse_column_map("src:ipv4-addr")


def test_gzip_is_read_transparently(tmp_path: Path) -> None:
    path = tmp_path / "conn.log.gz"
    path.write_bytes(gzip.compress((FIXTURES / "conn.log").read_bytes()))
    assert split(read(path))[0] == split(read(FIXTURES / "conn.log"))[0]


def test_standard_input() -> None:
    stdin = io.BytesIO((FIXTURES / "eve.json").read_bytes())
    assert len(read("-", stdin=stdin)) == 4


@pytest.mark.parametrize(
    ("name", "cut", "observations_before"),
    [
        ("conn.log", -40, 3),  # the last record, cut mid-line (the #close footer is gone)
        ("dns.log", -5, 2),
        ("eve.json", -20, 3),
        ("observed.jsonl", -50, 2),
        ("flows.csv", -70, 2),  # a cut inside the last cell cannot be told from a short cell
    ],
)
def test_a_truncated_file_is_fatal_after_what_it_held(
    tmp_path: Path, name: str, cut: int, observations_before: int
) -> None:
    data = (FIXTURES / name).read_bytes()
    if name == "conn.log":
        data = data[: data.rindex(b"#close")]
    if name == "dns.log":
        data = data[: data.rindex(b"{")].rstrip(b"\n") + b"\n" + data[: data.index(b"\n")]
    if name == "flows.csv":
        data = data[: data.rindex(b"broken")]
    if name == "observed.jsonl":
        data = b"".join(data.splitlines(keepends=True)[:3])
    path = tmp_path / name
    path.write_bytes(data[:cut])
    layout = CSV if name == "flows.csv" else None
    observations, problems = split(read(path, csv_layout=layout))
    assert len(observations) == observations_before
    assert problems[-1].fatal
    assert problems[-1].reason.startswith("truncated")


def test_a_truncated_gzip_is_fatal(tmp_path: Path) -> None:
    path = tmp_path / "eve.json.gz"
    data = gzip.compress((FIXTURES / "eve.json").read_bytes() * 50)
    path.write_bytes(data[: len(data) // 2])
    observations, problems = split(read(path))
    assert observations
    assert problems[-1].fatal
    assert "compressed stream ends early" in problems[-1].reason


def test_a_truncated_bundle_keeps_the_complete_observed_data(tmp_path: Path) -> None:
    text = (FIXTURES / "bundle.json").read_text()
    path = tmp_path / "bundle.json"
    path.write_text(text[: text.rindex("domain-name--")])
    observations, problems = split(read(path))
    assert [o.ref for o in observations] == ["observed-data--00000000-0000-4000-8000-000000000001"]
    assert problems[-1].fatal


def test_a_file_without_a_final_newline_is_not_truncated(tmp_path: Path) -> None:
    path = tmp_path / "eve.json"
    path.write_bytes((FIXTURES / "eve.json").read_bytes().rstrip(b"\n"))
    observations, problems = split(read(path))
    assert len(observations) == 4
    assert not problems


def test_indicator_files(tmp_path: Path) -> None:
    with InputFile(str(FIXTURES / "indicators.json")) as source:
        objects = list(iter_stix_objects(source))
    assert len(objects) == 20
    lines = tmp_path / "indicators.jsonl"
    lines.write_text("\n".join(json.dumps(o) for o in objects) + "\n")
    with InputFile(str(lines)) as source:
        assert list(iter_stix_objects(source)) == objects
    cut = tmp_path / "cut.json"
    cut.write_text((FIXTURES / "indicators.json").read_text()[:2000])
    with InputFile(str(cut)) as source, pytest.raises(MatchInputError, match="truncated"):
        list(iter_stix_objects(source))


def test_a_missing_file() -> None:
    with pytest.raises(MatchInputError, match="No such file"):
        InputFile("/nonexistent/conn.log")


@pytest.mark.parametrize(
    ("value", "micros"),
    [
        (1704067200.25, T0 + 250_000),
        ("1704067200.123456", T0 + 123_456),
        ("2024-01-01T00:00:01Z", T0 + 1_000_000),
        ("2024-01-01T00:00:01.5+0000", T0 + 1_500_000),
        ("2024-01-01T09:00:00+09:00", T0),
    ],
)
def test_timestamps(value: object, micros: int) -> None:
    assert stamp_us(value) == micros
