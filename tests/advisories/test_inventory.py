"""CSV and CycloneDX inventories into assets."""

from __future__ import annotations

import io
import json
import random
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from advisories.cyclonedx_reference import reference_parse_cyclonedx
from kakehashi.advisories.errors import InventoryFormatError
from kakehashi.advisories.inventory import (
    iter_csv_assets,
    iter_cyclonedx_assets,
    parse_cyclonedx,
    read_csv_assets,
)
from kakehashi.advisories.model import Asset, Criticality

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
        ({"bomFormat": "CycloneDX", "specVersion": "1.1"}, "$.specVersion"),
        ({**_bom(), "components": {}}, "$.components"),
        ({**_bom(), "components": [{"version": "1"}]}, "$.components[0].name"),
        ({**_bom(), "components": [{"name": "x", "version": 1}]}, "$.components[0].version"),
    ],
)
def test_bad_cyclonedx_names_path(doc: dict[str, Any], path: str) -> None:
    with pytest.raises(InventoryFormatError) as excinfo:
        parse_cyclonedx(json.dumps(doc), organization="op-b", source="bom.json")
    assert excinfo.value.path == path


# Streaming CycloneDX (iter_cyclonedx_assets), against the json.loads reader it replaced.


def _random_component(rng: random.Random, n: int, depth: int) -> dict[str, Any]:
    """A component with a random mix of the fields an asset is built from, and others."""
    c: dict[str, Any] = {"type": rng.choice(["library", "firmware", "application"])}
    c["name"] = rng.choice([f"lib-{n}", f"  padded {n} ", f"名前-{n}", f'q\\"{n}\n'])
    if rng.random() < 0.8:
        c["version"] = rng.choice([f"1.{n}.0", "", "7.0.2.5-h3", None])
    if rng.random() < 0.5:
        c["purl"] = rng.choice([f"pkg:npm/%40scope/p{n}@1.0", f"pkg:pypi/p{n}@2", "pkg:x"])
    if rng.random() < 0.3:
        c["cpe"] = f"cpe:2.3:a:acme:p{n}:1.0:*:*:*:*:*:*:*"
    if rng.random() < 0.5:
        c["bom-ref"] = rng.choice([f"ref-{n}", "", "dup"])
    for party in ("supplier", "manufacturer"):
        if rng.random() < 0.3:
            c[party] = rng.choice(
                [
                    {"name": f"{party} {n}", "url": ["https://example.test"]},
                    {"url": ["https://example.test"]},
                    {"name": 5},
                    {"name": {"nested": [1, {"name": "no"}]}},
                    "not an object",
                    None,
                ]
            )
    if rng.random() < 0.3:
        c["publisher"] = rng.choice([f"Pub {n}", None])
    if rng.random() < 0.4:  # skipped keys, including components that are no assets
        c["hashes"] = [{"alg": "SHA-256", "content": "ab" * 32}]
        c["pedigree"] = {"ancestors": [{"name": "ancestor", "components": [{"name": "x"}]}]}
        c["properties"] = [{"name": "k", "value": "v"}, {"name": "n", "value": 1.5e3}]
    if depth < 4 and rng.random() < 0.3:
        c["components"] = [
            _random_component(rng, n * 10 + i, depth + 1) for i in range(rng.randrange(4))
        ]
    elif rng.random() < 0.1:
        c["components"] = None
    keys = list(c)
    rng.shuffle(keys)  # "components" often comes before the fields of its component
    return {k: c[k] for k in keys}


def _random_bom(seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    doc: dict[str, Any] = {
        "bomFormat": "CycloneDX",
        "specVersion": rng.choice(["1.5", "1.6"]),
        "serialNumber": "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79",
        "metadata": {
            "timestamp": "2025-01-01T00:00:00Z",
            "component": _random_component(rng, 0, 1),
            "tools": {"components": [{"name": "not an asset"}]},
        },
        "components": [_random_component(rng, n, 1) for n in range(1, 60)],
        "dependencies": [{"ref": "ref-1", "dependsOn": ["ref-2"]}],
    }
    keys = list(doc)
    rng.shuffle(keys)  # bomFormat, specVersion and metadata anywhere
    return {k: doc[k] for k in keys}


def _stream(path: Path, **kwargs: Any) -> list[Asset]:
    with path.open("rb") as f:
        return list(iter_cyclonedx_assets(f, organization="op-b", source="bom.json", **kwargs))


@pytest.mark.parametrize("indent", [None, 2])
@pytest.mark.parametrize("seed", range(8))
def test_streaming_gives_the_assets_json_loads_gave(
    tmp_path: Path, seed: int, indent: int | None
) -> None:
    text = json.dumps(_random_bom(seed), indent=indent, ensure_ascii=seed % 2 == 0)
    path = tmp_path / "bom.json"
    path.write_text(text, encoding="utf-8")
    old = reference_parse_cyclonedx(
        text, organization="op-b", source="bom.json", criticality=Criticality.HIGH
    )
    assert len(old) > 60  # nested components too
    assert any(":$.components[" in a.ref and "].components[" in a.ref for a in old)
    streamed = _stream(path, criticality=Criticality.HIGH)
    assert Counter(streamed) == Counter(old)
    assert (
        parse_cyclonedx(text, organization="op-b", source="bom.json", criticality=Criticality.HIGH)
        == old
    )


def test_stream_yields_a_component_after_the_ones_nested_in_it(tmp_path: Path) -> None:
    path = tmp_path / "bom.json"
    path.write_text(json.dumps(_bom()), encoding="utf-8")
    assert [a.product for a in _stream(path)] == ["BaseStation OS", "openssl", "jinja2", "lodash"]


def _write_flat_bom(path: Path, count: int, *, indent: int | None = None) -> list[int]:
    """A CycloneDX file of ``count`` components written piece by piece; returns the byte
    offset where each component's object starts."""
    starts: list[int] = []
    head = json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.6"}, indent=indent)
    with path.open("wb") as f:
        f.write(head[:-1].rstrip().encode() + b',\n"components": [\n')
        for n in range(count):
            if n:
                f.write(b",\n")
            starts.append(f.tell())
            component = {
                "type": "library",
                "bom-ref": f"ref-{n}",
                "name": f"lib-{n}",
                "version": f"1.{n % 97}.{n % 13}",
                "purl": f"pkg:npm/acme/lib-{n}@1.{n % 97}.{n % 13}",
                "supplier": {"name": "Acme"},
            }
            f.write(json.dumps(component, indent=indent).encode())
        f.write(b"\n]}\n")
    return starts


def test_the_first_asset_comes_before_the_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "bom.json"
    _write_flat_bom(path, 20_000)
    size = path.stat().st_size
    with path.open("rb") as f:
        assets = iter_cyclonedx_assets(f, organization="op-b")
        assert next(assets).ref == "<stdin>#ref-0"
        assert f.tell() < size // 10
        assert sum(1 for _ in assets) == 19_999
        assert f.tell() == size


def test_bom_format_and_spec_version_after_the_components(tmp_path: Path) -> None:
    doc = _bom()
    late = {"components": doc["components"], "metadata": doc["metadata"]}
    late |= {"specVersion": "1.5", "bomFormat": "CycloneDX"}
    path = tmp_path / "bom.json"
    path.write_text(json.dumps(late, indent=2), encoding="utf-8")
    assert Counter(_stream(path)) == Counter(
        parse_cyclonedx(json.dumps(doc), organization="op-b", source="bom.json")
    )


@pytest.mark.parametrize(
    ("tail", "path"),
    [
        ({"specVersion": "1.6", "bomFormat": "SPDX"}, "$.bomFormat"),
        ({"specVersion": "1.6"}, "$.bomFormat"),
        ({"bomFormat": "CycloneDX"}, "$.specVersion"),
        ({"bomFormat": "CycloneDX", "specVersion": "1.1"}, "$.specVersion"),
        ({"bomFormat": "CycloneDX", "specVersion": "2.0"}, "$.specVersion"),
        ({"bomFormat": "CycloneDX", "specVersion": 1.5}, "$.specVersion"),
        ({"bomFormat": "CycloneDX", "specVersion": ["1.5"]}, "$.specVersion"),
        ({"bomFormat": "CycloneDX", "specVersion": None}, "$.specVersion"),
    ],
)
def test_a_late_or_missing_header_fails_after_the_components(
    tmp_path: Path, tail: dict[str, Any], path: str
) -> None:
    """The contract: assets may come first, the error at the end (so: one transaction)."""
    doc = {"components": _bom()["components"], **tail}
    file = tmp_path / "bom.json"
    file.write_text(json.dumps(doc), encoding="utf-8")
    seen: list[str] = []
    with pytest.raises(InventoryFormatError) as excinfo, file.open("rb") as f:
        seen.extend(a.product for a in iter_cyclonedx_assets(f, organization="op-b"))
    assert excinfo.value.path == path
    assert seen == ["openssl", "jinja2", "lodash"]
    with pytest.raises(InventoryFormatError) as excinfo:
        parse_cyclonedx(json.dumps(doc), organization="op-b")
    assert excinfo.value.path == path


@pytest.mark.parametrize(
    ("head", "path"),
    [
        ({"bomFormat": "SPDX", "specVersion": "1.6"}, "$.bomFormat"),
        ({"bomFormat": "CycloneDX", "specVersion": "1.1"}, "$.specVersion"),
        ({"specVersion": "1.1", "bomFormat": "CycloneDX"}, "$.specVersion"),
    ],
)
def test_an_early_bad_header_fails_before_any_asset(
    tmp_path: Path, head: dict[str, Any], path: str
) -> None:
    file = tmp_path / "bom.json"
    file.write_text(json.dumps({**head, "components": _bom()["components"]}), encoding="utf-8")
    with file.open("rb") as f:
        assets = iter_cyclonedx_assets(f, organization="op-b")
        with pytest.raises(InventoryFormatError) as excinfo:
            next(assets)
    assert excinfo.value.path == path


@pytest.mark.parametrize("doc", [[], "CycloneDX", None, 1])
def test_a_document_that_is_no_object_is_no_cyclonedx(doc: object) -> None:
    with pytest.raises(InventoryFormatError) as excinfo:
        parse_cyclonedx(json.dumps(doc), organization="op-b")
    assert excinfo.value.path == "$.bomFormat"


@pytest.mark.parametrize("indent", [None, 2])
def test_a_file_truncated_inside_component_500_of_1000(tmp_path: Path, indent: int | None) -> None:
    whole = tmp_path / "whole.json"
    starts = _write_flat_bom(whole, 1000, indent=indent)
    data = whole.read_bytes()
    cut = data[: data.index(b'"version"', starts[499]) + 4]  # in the middle of a key
    path = tmp_path / "bom.json"
    path.write_bytes(cut)
    expected_line = cut.count(b"\n") + 1
    with pytest.raises(json.JSONDecodeError) as oracle:
        json.loads(cut)
    assert oracle.value.lineno == expected_line
    # component n starts on line 3 + n (one a line), or 5 + 10 n (ten lines each)
    assert expected_line == (3 + 499 if indent is None else 5 + 499 * 10 + 4)

    seen: list[str] = []
    with pytest.raises(InventoryFormatError) as excinfo, path.open("rb") as f:
        seen.extend(a.ref for a in iter_cyclonedx_assets(f, organization="op-b", source="b"))
    assert excinfo.value.line == expected_line
    assert excinfo.value.path == ""
    assert excinfo.value.reason == "not valid JSON: premature EOF"
    assert str(excinfo.value).startswith(f"b:{expected_line}: not valid JSON")
    # everything before component 500 streamed; component 500 itself never half-way
    assert seen == [f"b#ref-{n}" for n in range(499)]
    with pytest.raises(InventoryFormatError) as excinfo:
        parse_cyclonedx(cut.decode(), organization="op-b")
    assert excinfo.value.line == expected_line


def _corruptions(data: bytes, starts: list[int]) -> Iterator[tuple[str, bytes]]:
    at = starts[499]
    name = data.index(b'"name"', at)
    yield "missing comma", data[: at - 2] + data[at - 1 :]
    yield "comma before ]", data[: data.rindex(b"]")] + b",]}"
    yield "bad literal", data[:name] + b'"name": tru,' + data[name:]
    yield "newline in a string", data[: name + 3] + b"\n" + data[name + 3 :]
    yield "stray character", data[:name] + b"@" + data[name:]
    yield "bad escape", data[: name + 3] + b"\\q" + data[name + 3 :]
    yield "trailing garbage", data + b"\n\n{}"
    # around the end of the first 64 KiB that the parser reads
    for offset in range(65_530, 65_543):
        yield f"x at {offset}", data[:offset] + b"x" + data[offset:]


@pytest.mark.parametrize("indent", [None, 2])
def test_broken_json_reports_the_line_json_loads_reports(
    tmp_path: Path, indent: int | None
) -> None:
    whole = tmp_path / "whole.json"
    starts = _write_flat_bom(whole, 1000, indent=indent)
    compared = 0
    for what, data in _corruptions(whole.read_bytes(), starts):
        try:
            json.loads(data)
        except json.JSONDecodeError as exc:
            line = exc.lineno
        else:
            continue  # "x" landed inside a string
        path = tmp_path / "bom.json"
        path.write_bytes(data)
        with pytest.raises(InventoryFormatError) as excinfo:
            _stream(path)
        assert (what, excinfo.value.line) == (what, line)
        assert excinfo.value.reason.startswith("not valid JSON: ")
        compared += 1
    assert compared >= 10


def test_invalid_utf8_reports_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bom.json"
    text = json.dumps(_bom(), indent=2).encode()
    at = text.index(b"jinja2")
    path.write_bytes(text[:at] + b"\xff" + text[at:])
    with pytest.raises(InventoryFormatError) as excinfo:
        _stream(path)
    assert excinfo.value.line == text[:at].count(b"\n") + 1
    assert "UTF8" in excinfo.value.reason


def test_a_byte_order_mark_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(_bom()).encode())
    assert len(_stream(path)) == 4


@pytest.mark.parametrize(
    ("components", "path", "reason"),
    [
        (
            [{"name": "a", "components": [{"name": "b"}, {"name": "c", "version": 1.0}]}],
            "$.components[0].components[1].version",
            "must be a string",
        ),
        (
            [{"name": "a", "components": [{"name": "b", "components": [{"version": "1"}]}]}],
            "$.components[0].components[0].components[0].name",
            "is required",
        ),
        ([{"name": "   "}], "$.components[0].name", "is required"),
        ([{"name": "a", "purl": ["pkg:x"]}], "$.components[0].purl", "must be a string"),
        ([{"name": "a", "bom-ref": {"x": 1}}], "$.components[0].bom-ref", "must be a string"),
        ([{"name": "a", "cpe": True}], "$.components[0].cpe", "must be a string"),
        ([{"name": "a", "publisher": 3}], "$.components[0].publisher", "must be a string"),
        ([{"name": "a"}, "b"], "$.components[1]", "must be an object"),
        ([{"name": "a", "components": {}}], "$.components[0].components", "must be an array"),
        ([{"name": "a", "components": "x"}], "$.components[0].components", "must be an array"),
    ],
)
def test_a_malformed_component_is_named_by_its_path(
    tmp_path: Path, components: list[Any], path: str, reason: str
) -> None:
    doc = {**_bom(), "components": components}
    file = tmp_path / "bom.json"
    file.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    with pytest.raises(InventoryFormatError) as excinfo:
        _stream(file)
    assert (excinfo.value.path, excinfo.value.reason) == (path, reason)
    assert excinfo.value.line is None
    with pytest.raises(InventoryFormatError) as oracle:
        reference_parse_cyclonedx(json.dumps(doc), organization="op-b")
    assert (oracle.value.path, oracle.value.reason) == (path, reason)


def test_component_12_of_a_big_file_is_named_by_its_path(tmp_path: Path) -> None:
    path = tmp_path / "bom.json"
    _write_flat_bom(path, 100, indent=2)
    data = path.read_bytes().replace(b'"version": "1.12.12"', b'"version": 112')
    path.write_bytes(data)
    with pytest.raises(InventoryFormatError) as excinfo:
        _stream(path)
    assert excinfo.value.path == "$.components[12].version"
    assert str(excinfo.value) == "bom.json: $.components[12].version: must be a string"


def test_metadata_component_and_its_nested_components(tmp_path: Path) -> None:
    meta = {"name": "fw", "components": [{"name": "boot", "version": "2"}]}
    doc = {"bomFormat": "CycloneDX", "specVersion": "1.5", "metadata": {"component": meta}}
    path = tmp_path / "bom.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    assert [a.ref for a in _stream(path)] == [
        "bom.json:$.metadata.component.components[0]",
        "bom.json:$.metadata.component",
    ]
    doc["metadata"] = {"component": None}
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(InventoryFormatError) as excinfo:
        _stream(path)
    assert excinfo.value.path == "$.metadata.component"


@pytest.mark.parametrize("metadata", [None, [], "x", {"tools": []}])
def test_metadata_without_a_component_gives_no_asset(metadata: object) -> None:
    doc = {"bomFormat": "CycloneDX", "specVersion": "1.5", "metadata": metadata}
    assert parse_cyclonedx(json.dumps(doc), organization="op-b") == []
    assert reference_parse_cyclonedx(json.dumps(doc), organization="op-b") == []


def test_components_nested_too_deep_are_refused() -> None:
    def nest(depth: int) -> str:
        return '{"name": "c", "components": [' * (depth - 1) + '{"name": "c"}' + "]}" * (depth - 1)

    head = '{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": ['
    assert len(parse_cyclonedx(head + nest(100) + "]}", organization="op-b")) == 100
    with pytest.raises(InventoryFormatError) as excinfo:
        parse_cyclonedx(head + nest(101) + "]}", organization="op-b")
    assert excinfo.value.path == "$.components[0]" + ".components[0]" * 99 + ".components"
    assert "nested more than 100 deep" in excinfo.value.reason


def test_50000_components_stream_in_bounded_memory(tmp_path: Path) -> None:
    # Big enough that json.loads needs several MB and the stream must not grow with it;
    # small enough for the suite (tracemalloc slows every allocation).
    path = tmp_path / "bom.json"
    _write_flat_bom(path, 50_000)
    size = path.stat().st_size
    assert size > 6_000_000

    data = path.read_bytes()  # before tracing: json.loads is charged for its objects only

    tracemalloc.start()
    try:
        count = 0
        last: Asset | None = None
        with path.open("rb") as f:
            for asset in iter_cyclonedx_assets(f, organization="op-b"):
                count += 1
                last = asset
        stream_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        doc = json.loads(data)
        loads_peak = tracemalloc.get_traced_memory()[1]
        del doc
    finally:
        tracemalloc.stop()
    assert count == 50_000
    assert last is not None
    assert last.ref == "<stdin>#ref-49999"
    assert loads_peak > size  # decoded objects outweigh the file
    assert stream_peak < loads_peak / 10
    assert stream_peak < 2_000_000  # one 64 KiB chunk and a few components, not the file


@pytest.mark.parametrize("spec", ["1.2", "1.4", "1.7"])
def test_other_json_cyclonedx_versions_are_read_alike(spec: str) -> None:
    doc = {
        "bomFormat": "CycloneDX",
        "specVersion": spec,
        "components": [{"name": "x", "version": "1"}],
    }
    (asset,) = parse_cyclonedx(json.dumps(doc), organization="op-b")
    assert (asset.product, asset.version) == ("x", "1")
