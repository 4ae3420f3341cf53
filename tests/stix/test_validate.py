"""validate_object: real stix2 output passes; every rule has a minimal object that breaks it.

Valid objects are built with the stix2 library (the reference implementation) and
serialised, so the validator is checked against what real producers emit. Invalid objects
are hand-written minimal valid objects (``BASES``, themselves tested to pass) with exactly
one change, so each failure can only come from the rule under test.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import stix2
from hypothesis import given, settings
from hypothesis import strategies as st

from kakehashi.errors import StixValidationError
from kakehashi.stix import rules as rules_module
from kakehashi.stix.markings import Tlp
from kakehashi.stix.model import ObjectVersion
from kakehashi.stix.validate import validate_object

CREATED = "2024-01-02T03:04:05.678Z"
MODIFIED = "2024-02-03T04:05:06.789Z"
LATER = "2024-03-01T00:00:00.000Z"
IDENTITY = "identity--311b2d2d-f010-4473-83ec-1edf84858f4c"
INDICATOR = "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"
MALWARE = "malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b"
IPV4 = "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd"
FILE = "file--364fe3e5-b1f4-5ba3-b951-ee5983b3538d"
TLP_GREEN = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"
TLP_CLEAR = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"
EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
STIX2_SDO = {"created": CREATED, "modified": MODIFIED}
PROVENANCE = {"created_by_ref": IDENTITY, "object_marking_refs": [TLP_GREEN]}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _micros(text: str) -> int:
    """Epoch microseconds computed with datetime, independently of the code under test."""
    moment = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    return (moment - _EPOCH) // timedelta(microseconds=1)


# --- valid objects, built by stix2 --------------------------------------------------------

Factory = Callable[[], Any]  # returns a stix2 object (the library is untyped)

DOMAIN_FACTORIES: list[Any] = [
    pytest.param(
        lambda: stix2.AttackPattern(name="Spearphishing", **STIX2_SDO), id="attack-pattern"
    ),
    pytest.param(
        lambda: stix2.Campaign(
            name="Op X", first_seen=CREATED, last_seen=LATER, aliases=["X"], **STIX2_SDO
        ),
        id="campaign",
    ),
    pytest.param(lambda: stix2.CourseOfAction(name="Patch", **STIX2_SDO), id="course-of-action"),
    pytest.param(
        lambda: stix2.Grouping(
            context="suspicious-activity", object_refs=[INDICATOR], **STIX2_SDO, **PROVENANCE
        ),
        id="grouping",
    ),
    pytest.param(
        lambda: stix2.Identity(
            name="JPCERT", identity_class="organization", sectors=["government"], **STIX2_SDO
        ),
        id="identity",
    ),
    pytest.param(lambda: stix2.Incident(name="Breach", **STIX2_SDO), id="incident"),
    pytest.param(
        lambda: stix2.Indicator(
            name="C2 address",
            pattern="[ipv4-addr:value = '198.51.100.7']",
            pattern_type="stix",
            valid_from=CREATED,
            valid_until=LATER,
            indicator_types=["malicious-activity"],
            kill_chain_phases=[{"kill_chain_name": "lockheed", "phase_name": "c2"}],
            labels=["c2"],
            confidence=80,
            lang="en",
            external_references=[{"source_name": "vendor", "url": "https://example.com/r"}],
            granular_markings=[{"selectors": ["name"], "marking_ref": TLP_GREEN}],
            **STIX2_SDO,
            **PROVENANCE,
        ),
        id="indicator",
    ),
    pytest.param(
        lambda: stix2.Infrastructure(
            name="Botnet", infrastructure_types=["botnet"], first_seen=CREATED, **STIX2_SDO
        ),
        id="infrastructure",
    ),
    pytest.param(
        lambda: stix2.IntrusionSet(
            name="APT-0", aliases=["Zero"], primary_motivation="espionage", **STIX2_SDO
        ),
        id="intrusion-set",
    ),
    pytest.param(
        lambda: stix2.Location(latitude=35.68, longitude=139.76, precision=100.0, **STIX2_SDO),
        id="location-coordinates",
    ),
    pytest.param(lambda: stix2.Location(region="eastern-asia", **STIX2_SDO), id="location-region"),
    pytest.param(lambda: stix2.Location(country="JP", **STIX2_SDO), id="location-country"),
    pytest.param(
        lambda: stix2.Malware(
            name="Emotet", is_family=True, malware_types=["trojan"], **STIX2_SDO, **PROVENANCE
        ),
        id="malware-family",
    ),
    pytest.param(
        lambda: stix2.Malware(is_family=False, sample_refs=[FILE], **STIX2_SDO),
        id="malware-instance-unnamed",
    ),
    pytest.param(
        lambda: stix2.MalwareAnalysis(product="sandbox", result="malicious", **STIX2_SDO),
        id="malware-analysis",
    ),
    pytest.param(
        lambda: stix2.Note(content="Seen in JP", object_refs=[MALWARE], **STIX2_SDO), id="note"
    ),
    pytest.param(
        lambda: stix2.ObservedData(
            first_observed=CREATED,
            last_observed=CREATED,
            number_observed=3,
            object_refs=[IPV4],
            **STIX2_SDO,
        ),
        id="observed-data",
    ),
    pytest.param(
        lambda: stix2.Opinion(opinion="strongly-agree", object_refs=[INDICATOR], **STIX2_SDO),
        id="opinion",
    ),
    pytest.param(
        lambda: stix2.Report(
            name="Weekly",
            published=LATER,
            report_types=["threat-report"],
            object_refs=[INDICATOR, MALWARE],
            **STIX2_SDO,
            **PROVENANCE,
        ),
        id="report",
    ),
    pytest.param(
        lambda: stix2.ThreatActor(name="Kuma", threat_actor_types=["nation-state"], **STIX2_SDO),
        id="threat-actor",
    ),
    pytest.param(lambda: stix2.Tool(name="mimikatz", **STIX2_SDO), id="tool"),
    pytest.param(
        lambda: stix2.Vulnerability(
            name="Log4Shell",
            external_references=[{"source_name": "cve", "external_id": "CVE-2021-44228"}],
            **STIX2_SDO,
        ),
        id="vulnerability",
    ),
    pytest.param(
        lambda: stix2.Relationship(
            relationship_type="indicates",
            source_ref=INDICATOR,
            target_ref=MALWARE,
            start_time=CREATED,
            stop_time=LATER,
            **STIX2_SDO,
        ),
        id="relationship",
    ),
    pytest.param(
        lambda: stix2.Sighting(
            sighting_of_ref=INDICATOR,
            count=4,
            first_seen=CREATED,
            last_seen=LATER,
            where_sighted_refs=[IDENTITY],
            **STIX2_SDO,
            **PROVENANCE,
        ),
        id="sighting",
    ),
    pytest.param(
        lambda: stix2.LanguageContent(
            object_ref=MALWARE, contents={"ja": {"name": "エモテット"}}, **STIX2_SDO
        ),
        id="language-content",
    ),
    pytest.param(
        lambda: stix2.ExtensionDefinition(
            created_by_ref=IDENTITY,
            name="score",
            schema="https://example.com/score.json",
            version="1.0",
            extension_types=["property-extension"],
            **STIX2_SDO,
        ),
        id="extension-definition",
    ),
]

OBSERVABLE_FACTORIES: list[Any] = [
    pytest.param(
        lambda: stix2.Artifact(payload_bin="aGVsbG8=", mime_type="text/plain"),
        id="artifact-payload",
    ),
    pytest.param(
        lambda: stix2.Artifact(url="https://example.com/a.bin", hashes={"SHA-256": "ab" * 32}),
        id="artifact-url",
    ),
    pytest.param(
        lambda: stix2.AutonomousSystem(number=64496, name="EXAMPLE"), id="autonomous-system"
    ),
    pytest.param(lambda: stix2.Directory(path="C:\\Windows"), id="directory"),
    pytest.param(lambda: stix2.DomainName(value="example.com"), id="domain-name"),
    pytest.param(
        lambda: stix2.EmailAddress(value="a@example.com", display_name="A"), id="email-addr"
    ),
    pytest.param(
        lambda: stix2.EmailMessage(is_multipart=False, body="hello", subject="hi"),
        id="email-message",
    ),
    pytest.param(lambda: stix2.File(name="a.exe", hashes={"MD5": "0" * 32}, size=10), id="file"),
    pytest.param(
        lambda: stix2.IPv4Address(value="198.51.100.7", object_marking_refs=[TLP_GREEN]),
        id="ipv4-addr",
    ),
    pytest.param(lambda: stix2.IPv6Address(value="2001:db8::1"), id="ipv6-addr"),
    pytest.param(lambda: stix2.MACAddress(value="00:00:5e:00:53:01"), id="mac-addr"),
    pytest.param(lambda: stix2.Mutex(name="Global\\x"), id="mutex"),
    pytest.param(
        lambda: stix2.NetworkTraffic(protocols=["tcp"], src_ref=IPV4, dst_port=443),
        id="network-traffic",
    ),
    pytest.param(lambda: stix2.Process(pid=4242, command_line="x.exe -q"), id="process"),
    pytest.param(lambda: stix2.Software(name="Word", vendor="Microsoft"), id="software"),
    pytest.param(lambda: stix2.URL(value="https://example.com/x"), id="url"),
    pytest.param(lambda: stix2.UserAccount(user_id="1001", is_privileged=True), id="user-account"),
    pytest.param(
        lambda: stix2.WindowsRegistryKey(key="HKEY_LOCAL_MACHINE\\Run"), id="windows-registry-key"
    ),
    pytest.param(lambda: stix2.X509Certificate(serial_number="01:02"), id="x509-certificate"),
]


def _validate_stix2(make: Factory) -> tuple[dict[str, Any], str, ObjectVersion]:
    raw: str = make().serialize()
    value: dict[str, Any] = json.loads(raw)
    return value, raw, validate_object(value, raw)


@pytest.mark.parametrize("make", DOMAIN_FACTORIES)
def test_stix2_domain_objects_pass_with_their_envelope(make: Factory) -> None:
    value, raw, result = _validate_stix2(make)

    assert result == ObjectVersion(
        id=value["id"],
        type=value["type"],
        spec_version="2.1",
        version=MODIFIED,
        version_us=_micros(MODIFIED),
        created_by_ref=value.get("created_by_ref", ""),
        marking_refs=tuple(value.get("object_marking_refs", [])),
        raw=raw,
        tlp=Tlp.GREEN if TLP_GREEN in _all_marking_refs(value) else None,
        tlp_refs=frozenset({TLP_GREEN} & _all_marking_refs(value)),
    )
    assert result.raw is raw


def _all_marking_refs(value: dict[str, Any]) -> set[str]:
    granular = {g["marking_ref"] for g in value.get("granular_markings", []) if "marking_ref" in g}
    return set(value.get("object_marking_refs", [])) | granular


@pytest.mark.parametrize("make", OBSERVABLE_FACTORIES)
def test_stix2_observables_pass_without_a_version(make: Factory) -> None:
    value, raw, result = _validate_stix2(make)

    assert (result.id, result.type, result.spec_version) == (value["id"], value["type"], "2.1")
    assert (result.version, result.version_us, result.created_by_ref) == ("", 0, "")
    assert result.marking_refs == tuple(value.get("object_marking_refs", []))
    assert result.raw is raw


@pytest.mark.parametrize(
    "marking", [stix2.TLP_WHITE, stix2.TLP_GREEN, stix2.TLP_AMBER, stix2.TLP_RED], ids=str
)
def test_stix2_tlp_markings_pass_versioned_by_created(marking: Any) -> None:
    raw: str = marking.serialize()

    result = validate_object(json.loads(raw), raw)

    assert (result.type, result.version) == ("marking-definition", "2017-01-20T00:00:00.000Z")
    assert result.version_us == _micros("2017-01-20T00:00:00.000Z")
    assert result.tlp is Tlp.CLEAR  # the TLP definitions themselves are public


def test_stix2_statement_marking_passes() -> None:
    marking = stix2.MarkingDefinition(
        definition_type="statement",
        definition=stix2.StatementMarking("Copyright 2024 JPCERT"),
        created=CREATED,
        created_by_ref=IDENTITY,
    )
    raw: str = marking.serialize()

    result = validate_object(json.loads(raw), raw)

    assert (result.version, result.created_by_ref) == (CREATED, IDENTITY)


# --- minimal hand-written objects -----------------------------------------------------------

UUID = "6ba7b810-9dad-41d1-80b4-00c04fd430c8"
SDO = {"spec_version": "2.1", "created": CREATED, "modified": MODIFIED}


def _sdo(type_: str, **props: Any) -> dict[str, Any]:
    return {"type": type_, "id": f"{type_}--{UUID}", **SDO, **props}


def _sco(type_: str, **props: Any) -> dict[str, Any]:
    return {"type": type_, "spec_version": "2.1", "id": f"{type_}--{UUID}", **props}


BASES: dict[str, dict[str, Any]] = {
    "attack-pattern": _sdo("attack-pattern", name="Phishing"),
    "campaign": _sdo("campaign", name="Op X"),
    "course-of-action": _sdo("course-of-action", name="Patch"),
    "grouping": _sdo("grouping", context="unspecified", object_refs=[INDICATOR]),
    "identity": _sdo("identity", name="JPCERT"),
    "incident": _sdo("incident", name="Breach"),
    "indicator": _sdo(
        "indicator", pattern="[url:value = 'x']", pattern_type="stix", valid_from=CREATED
    ),
    "infrastructure": _sdo("infrastructure", name="Botnet"),
    "intrusion-set": _sdo("intrusion-set", name="APT-0"),
    "location": _sdo("location", region="eastern-asia"),
    "malware": _sdo("malware", is_family=False),
    "malware-analysis": _sdo("malware-analysis", product="sandbox", result="benign"),
    "note": _sdo("note", content="text", object_refs=[MALWARE]),
    "observed-data": _sdo(
        "observed-data",
        first_observed=CREATED,
        last_observed=MODIFIED,
        number_observed=1,
        object_refs=[IPV4],
    ),
    "opinion": _sdo("opinion", opinion="agree", object_refs=[INDICATOR]),
    "report": _sdo("report", name="Weekly", published=CREATED, object_refs=[INDICATOR]),
    "threat-actor": _sdo("threat-actor", name="Kuma"),
    "tool": _sdo("tool", name="mimikatz"),
    "vulnerability": _sdo("vulnerability", name="CVE-2021-44228"),
    "relationship": _sdo(
        "relationship", relationship_type="uses", source_ref=MALWARE, target_ref=IPV4
    ),
    "sighting": _sdo("sighting", sighting_of_ref=INDICATOR),
    "language-content": _sdo("language-content", object_ref=MALWARE, contents={"ja": {}}),
    "extension-definition": _sdo(
        "extension-definition",
        created_by_ref=IDENTITY,
        name="score",
        schema="https://example.com/s.json",
        version="1.0",
        extension_types=["new-sdo"],
    ),
    "marking-definition": {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": TLP_GREEN,
        "created": "2017-01-20T00:00:00.000Z",
        "definition_type": "tlp",
        "definition": {"tlp": "green"},
    },
    "artifact": _sco("artifact", payload_bin="aGVsbG8="),
    "autonomous-system": _sco("autonomous-system", number=64496),
    "directory": _sco("directory", path="C:\\Windows"),
    "domain-name": _sco("domain-name", value="example.com"),
    "email-addr": _sco("email-addr", value="a@example.com"),
    "email-message": _sco("email-message", is_multipart=False),
    "file": _sco("file", name="a.exe"),
    "ipv4-addr": _sco("ipv4-addr", value="198.51.100.7"),
    "ipv6-addr": _sco("ipv6-addr", value="2001:db8::1"),
    "mac-addr": _sco("mac-addr", value="00:00:5e:00:53:01"),
    "mutex": _sco("mutex", name="m"),
    "network-traffic": _sco("network-traffic", protocols=["tcp"], dst_ref=IPV4),
    "process": _sco("process", pid=1),
    "software": _sco("software", name="Word"),
    "url": _sco("url", value="https://example.com/"),
    "user-account": _sco("user-account", user_id="1001"),
    "windows-registry-key": _sco("windows-registry-key", key="HKEY_LOCAL_MACHINE\\Run"),
    "x509-certificate": _sco("x509-certificate", serial_number="01"),
    "x-custom-sdo": _sdo("x-custom-sdo"),
    "x-custom-sco": {"type": "x-custom-sco", "id": f"x-custom-sco--{UUID}"},
}


def _raw(value: object) -> str:
    return json.dumps(value)


@pytest.mark.parametrize("type_", sorted(BASES))
def test_minimal_objects_pass(type_: str) -> None:
    obj = BASES[type_]

    result = validate_object(obj, _raw(obj))

    assert (result.id, result.type) == (obj["id"], type_)
    assert result.version == obj.get("modified", obj.get("created", ""))


def test_every_type_in_the_rule_table_has_a_minimal_object() -> None:
    # The invalid cases below rely on BASES covering each type the validator has rules for.
    stix_types = {t for t in BASES if not t.startswith("x-")}

    assert stix_types == set(rules_module.RULES)
    assert len(stix_types) == 19 + 2 + 18 + 3  # SDOs, SROs, SCOs, meta objects


VALID_SPECIAL: list[Any] = [
    pytest.param(
        {
            "type": "marking-definition",
            "spec_version": "2.1",
            "id": TLP_CLEAR,
            "created": "2022-10-01T00:00:00.000Z",
            "name": "TLP:CLEAR",
            "extensions": {EXTENSION: {"extension_type": "property-extension", "tlp_2_0": "clear"}},
        },
        "2022-10-01T00:00:00.000Z",
        id="tlp-2.0-marking-by-extension",
    ),
    pytest.param(
        {**BASES["marking-definition"], "modified": LATER}, LATER, id="marking-with-modified"
    ),
    pytest.param(
        {**BASES["indicator"], "x_acme_score": 7, "x_acme_owner_ref": IDENTITY, "x_acme": [1]},
        MODIFIED,
        id="custom-properties",
    ),
    pytest.param(
        {**BASES["indicator"], "extensions": {EXTENSION: {"extension_type": "x"}}},
        MODIFIED,
        id="extension-definition-extension",
    ),
    pytest.param(
        {**_sco("process"), "extensions": {"windows-process-ext": {"aslr_enabled": True}}},
        "",
        id="process-with-only-an-extension",
    ),
    pytest.param(
        {key: value for key, value in BASES["ipv4-addr"].items() if key != "spec_version"},
        "",
        id="sco-without-spec-version",
    ),
    pytest.param(
        {
            **{k: v for k, v in BASES["observed-data"].items() if k != "object_refs"},
            "objects": {"0": {"type": "ipv4-addr", "value": "198.51.100.7"}},
        },
        MODIFIED,
        id="observed-data-deprecated-objects",
    ),
    pytest.param(
        {**BASES["malware"], "is_family": True, "name": "Emotet"}, MODIFIED, id="malware-family"
    ),
    pytest.param(
        {**BASES["indicator"], "valid_until": LATER, "created": "2016-12-31T23:59:60Z"},
        MODIFIED,
        id="leap-second-and-valid-until",
    ),
    pytest.param(
        {**BASES["x-custom-sdo"], "modified": CREATED}, CREATED, id="custom-sdo-modified-equals"
    ),
]


@pytest.mark.parametrize(("obj", "version"), VALID_SPECIAL)
def test_lenient_and_special_cases_pass(obj: dict[str, Any], version: str) -> None:
    raw = _raw(obj)

    result = validate_object(obj, raw)

    assert result.version == version
    assert result.version_us == (_micros(version) if version else 0)
    assert result.raw == raw


# --- invalid objects ------------------------------------------------------------------------

DROP = object()


def bad(base: str, case: str, prop: str, fragment: str, /, **changes: Any) -> Any:
    """One invalid case: ``BASES[base]`` with ``changes`` (``DROP`` removes a property)."""
    obj = copy.deepcopy(BASES[base])
    for key, value in changes.items():
        if value is DROP:
            del obj[key]
        else:
            obj[key] = value
    return pytest.param(obj, prop, fragment, id=case)


IND = "indicator"

INVALID: list[Any] = [
    # type
    bad(IND, "type-missing", "type", "has no 'type'", type=DROP),
    bad(IND, "type-not-string", "type", "'type' must be 3 to 250 characters", type=42),
    bad(IND, "type-too-short", "type", "3 to 250", type="ab"),
    bad(IND, "type-too-long", "type", "3 to 250", type="x" * 251),
    bad(IND, "type-leading-hyphen", "type", "not starting or ending with '-'", type="-indicator"),
    bad(IND, "type-trailing-hyphen", "type", "not starting or ending", type="indicator-"),
    bad(IND, "type-uppercase", "type", "a-z, 0-9 and '-'", type="Indicator"),
    bad(IND, "type-underscore", "type", "a-z, 0-9 and '-'", type="x_custom"),
    bad(IND, "bundle", "type", "a bundle is not an object; post its objects", type="bundle"),
    # id
    bad(IND, "id-missing", "id", "needs an 'id'", id=DROP),
    bad(IND, "id-not-string", "id", "'id' must be a string", id=7),
    bad(IND, "id-other-type", "id", "must start with 'indicator--'", id=f"malware--{UUID}"),
    bad(IND, "id-uppercase-uuid", "id", "lowercase hex", id=f"indicator--{UUID.upper()}"),
    bad(IND, "id-not-a-uuid", "id", "8-4-4-4-12", id="indicator--1234"),
    bad(IND, "id-one-hyphen", "id", "must start with 'indicator--'", id=f"indicator-{UUID}"),
    # property names
    bad(IND, "prop-uppercase", "Name", "custom property names must be", Name="x"),
    bad(IND, "prop-hyphen", "x-acme", "lowercase a-z, 0-9 and '_'", **{"x-acme": "x"}),
    bad(IND, "prop-too-short", "x_", "3 to 250 characters", x_="x"),
    bad(IND, "prop-too-long", "x_" + "a" * 249, "3 to 250", **{"x_" + "a" * 249: 1}),
    bad(IND, "prop-non-ascii", "x_namé", "not allowed", **{"x_namé": "x"}),
    # spec_version
    bad(IND, "sv-2.0", "spec_version", "only STIX 2.1 objects are accepted", spec_version="2.0"),
    bad(IND, "sv-number", "spec_version", "only STIX 2.1 objects", spec_version=2.1),
    bad(IND, "sv-missing-sdo", "spec_version", "only STIX 2.1 objects", spec_version=DROP),
    bad("marking-definition", "sv-missing-marking", "spec_version", "STIX 2.0", spec_version=DROP),
    bad("ipv4-addr", "sv-2.0-sco", "spec_version", "only STIX 2.1", spec_version="2.0"),
    bad("x-custom-sdo", "sv-missing-custom", "spec_version", "is required", spec_version=DROP),
    # versioning
    bad(IND, "created-missing", "created", "'created' is required on indicator", created=DROP),
    bad(IND, "modified-missing", "modified", "'modified' is required", modified=DROP),
    bad("marking-definition", "marking-created", "created", "is required", created=DROP),
    bad(
        IND,
        "modified-early",
        "modified",
        "later than or equal to 'created'",
        modified="2023-01-01T00:00:00Z",
    ),
    bad(
        "x-custom-sdo", "custom-modified", "modified", "is required on x-custom-sdo", modified=DROP
    ),
    # timestamps
    bad(IND, "ts-date-only", "created", "not a valid timestamp", created="2024-01-02"),
    bad(IND, "ts-number", "created", "must be a timestamp string", created=1704164645),
    bad(IND, "ts-feb-30", "valid_from", "not a valid date", valid_from="2024-02-30T00:00:00Z"),
    bad(
        IND,
        "ts-offset",
        "valid_from",
        "not a STIX timestamp",
        valid_from="2024-01-02T03:04:05+09:00",
    ),
    bad("report", "ts-published", "published", "not a valid timestamp", published="yesterday"),
    bad("observed-data", "ts-null", "first_observed", "timestamp string", first_observed=None),
    # common properties
    bad(IND, "cbr-type", "created_by_ref", "must refer to an identity", created_by_ref=MALWARE),
    bad(
        IND, "cbr-form", "created_by_ref", "'type--<lowercase uuid>'", created_by_ref="identity--x"
    ),
    bad(IND, "cbr-list", "created_by_ref", "identifier", created_by_ref=["a"]),
    bad(IND, "omr-string", "object_marking_refs", "must be a list", object_marking_refs=TLP_GREEN),
    bad(IND, "omr-empty", "object_marking_refs", "empty list", object_marking_refs=[]),
    bad(
        IND,
        "omr-type",
        "object_marking_refs",
        "item 0 must refer to a marking-definition",
        object_marking_refs=[IDENTITY],
    ),
    bad(
        IND,
        "gm-neither",
        "granular_markings",
        "exactly one of 'marking_ref' and 'lang'",
        granular_markings=[{"selectors": ["name"]}],
    ),
    bad(
        IND,
        "gm-both",
        "granular_markings",
        "exactly one",
        granular_markings=[{"selectors": ["name"], "lang": "en", "marking_ref": TLP_GREEN}],
    ),
    bad(
        IND,
        "gm-no-selectors",
        "granular_markings",
        "needs 'selectors'",
        granular_markings=[{"marking_ref": TLP_GREEN}],
    ),
    bad(
        IND,
        "gm-empty-selectors",
        "granular_markings",
        "'selectors' must not be an empty list",
        granular_markings=[{"selectors": [], "lang": "en"}],
    ),
    bad(
        IND,
        "gm-ref-type",
        "granular_markings",
        "'marking_ref' must refer to a marking-definition",
        granular_markings=[{"selectors": ["name"], "marking_ref": IDENTITY}],
    ),
    bad(
        IND,
        "gm-not-object",
        "granular_markings",
        "item 0 must be a JSON object",
        granular_markings=["name"],
    ),
    bad(IND, "revoked-string", "revoked", "must be a boolean", revoked="false"),
    bad(IND, "revoked-int", "revoked", "not an integer (0)", revoked=0),
    bad(IND, "labels-string", "labels", "must be a list", labels="c2"),
    bad(IND, "labels-empty", "labels", "empty list", labels=[]),
    bad(
        IND, "labels-empty-string", "labels", "item 1 must be a non-empty string", labels=["c2", ""]
    ),
    bad(IND, "confidence-high", "confidence", "between 0 and 100", confidence=101),
    bad(IND, "confidence-low", "confidence", "between 0 and 100", confidence=-1),
    bad(IND, "confidence-float", "confidence", "must be an integer", confidence=50.0),
    bad(IND, "confidence-bool", "confidence", "must be an integer, not a boolean", confidence=True),
    bad(IND, "lang-int", "lang", "must be a string", lang=5),
    bad(
        IND,
        "extref-no-source",
        "external_references",
        "needs 'source_name'",
        external_references=[{"url": "https://x"}],
    ),
    bad(
        IND,
        "extref-source-int",
        "external_references",
        "'source_name' must be a non-empty string",
        external_references=[{"source_name": 5}],
    ),
    bad(
        IND,
        "extref-object",
        "external_references",
        "must be a list",
        external_references={"source_name": "x"},
    ),
    bad(IND, "ext-key", "extensions", "extension-definition id", extensions={"bad-key": {}}),
    bad(IND, "ext-value", "extensions", "must be a JSON object", extensions={"x-acme-ext": "on"}),
    bad(IND, "ext-list", "extensions", "must be a JSON object", extensions=["x-acme-ext"]),
    bad(
        IND,
        "ext-uppercase-id",
        "extensions",
        "extension-definition id",
        extensions={f"extension-definition--{UUID.upper()}": {}},
    ),
    bad("ipv4-addr", "defanged", "defanged", "must be a boolean", defanged="yes"),
    bad(
        IND,
        "kcp-phase",
        "kill_chain_phases",
        "needs 'phase_name'",
        kill_chain_phases=[{"kill_chain_name": "lm"}],
    ),
    # custom *_ref / *_refs properties
    bad(IND, "custom-ref", "x_owner_ref", "must be an identifier", x_owner_ref="bob"),
    bad(IND, "custom-refs-string", "x_related_refs", "must be a list", x_related_refs=IDENTITY),
    bad(IND, "custom-refs-empty", "x_related_refs", "empty list", x_related_refs=[]),
    bad("x-custom-sco", "custom-type-ref", "x_parent_ref", "identifier", x_parent_ref=3),
    # indicator
    bad(
        IND,
        "valid-until-equal",
        "valid_until",
        "must be later than 'valid_from'",
        valid_until=CREATED,
    ),
    bad(
        IND,
        "valid-until-before",
        "valid_until",
        "later than 'valid_from'",
        valid_until="2020-01-01T00:00:00Z",
    ),
    bad(IND, "pattern-empty", "pattern", "non-empty string", pattern=""),
    bad(IND, "pattern-type-list", "pattern_type", "must be a string", pattern_type=["stix"]),
    # malware
    bad("malware", "is-family-int", "is_family", "must be a boolean", is_family=1),
    bad(
        "malware",
        "family-unnamed",
        "name",
        "'name' is required when 'is_family' is true",
        is_family=True,
    ),
    bad(
        "malware",
        "sample-refs-type",
        "sample_refs",
        "must refer to artifact or file",
        sample_refs=[IPV4],
    ),
    bad(
        "malware",
        "malware-seen",
        "last_seen",
        "'last_seen' must be later than or equal to 'first_seen'",
        first_seen=MODIFIED,
        last_seen=CREATED,
    ),
    # report / grouping / note / opinion
    bad("report", "report-refs-empty", "object_refs", "must not be an empty list", object_refs=[]),
    bad(
        "report",
        "report-refs-form",
        "object_refs",
        "item 0 must be an identifier",
        object_refs=["not-an-id"],
    ),
    bad("grouping", "grouping-context", "context", "must be a string", context=1),
    bad("note", "note-refs-string", "object_refs", "must be a list", object_refs=INDICATOR),
    bad(
        "opinion", "opinion-enum", "opinion", "must be one of 'strongly-disagree'", opinion="maybe"
    ),
    # observed-data
    bad(
        "observed-data",
        "number-zero",
        "number_observed",
        "between 1 and 999999999",
        number_observed=0,
    ),
    bad(
        "observed-data",
        "number-high",
        "number_observed",
        "between 1 and 999999999",
        number_observed=1_000_000_000,
    ),
    bad(
        "observed-data",
        "number-float",
        "number_observed",
        "must be an integer",
        number_observed=2.0,
    ),
    bad(
        "observed-data",
        "od-no-refs",
        "object_refs",
        "needs 'object_refs' or 'objects'",
        object_refs=DROP,
    ),
    bad(
        "observed-data",
        "od-both",
        "objects",
        "must not be present together with 'object_refs'",
        objects={"0": {"type": "file"}},
    ),
    bad(
        "observed-data",
        "od-order",
        "last_observed",
        "later than or equal to 'first_observed'",
        last_observed="2020-01-01T00:00:00Z",
    ),
    # location
    bad(
        "location",
        "location-empty",
        "region",
        "needs 'region', 'country' or 'latitude' and 'longitude'",
        region=DROP,
        name="HQ",
    ),
    bad(
        "location",
        "latitude-alone",
        "longitude",
        "'longitude' is required when 'latitude' is present",
        latitude=35.0,
    ),
    bad("location", "longitude-alone", "latitude", "required when 'longitude'", longitude=139.0),
    bad("location", "precision-alone", "latitude", "required when 'precision'", precision=10.0),
    bad("location", "latitude-range", "latitude", "between -90 and 90", latitude=91, longitude=0),
    bad(
        "location",
        "longitude-range",
        "longitude",
        "between -180 and 180",
        latitude=0,
        longitude=-180.5,
    ),
    bad("location", "latitude-string", "latitude", "must be a number", latitude="35", longitude=0),
    bad(
        "location",
        "latitude-bool",
        "latitude",
        "must be a number, not a boolean",
        latitude=True,
        longitude=0,
    ),
    # malware-analysis
    bad(
        "malware-analysis",
        "analysis-no-result",
        "result",
        "needs 'result' or 'analysis_sco_refs'",
        result=DROP,
    ),
    bad(
        "malware-analysis",
        "analysis-sco-type",
        "analysis_sco_refs",
        "must refer to an SCO",
        analysis_sco_refs=[INDICATOR],
    ),
    bad(
        "malware-analysis",
        "analysis-vm-type",
        "host_vm_ref",
        "must refer to software",
        host_vm_ref=IPV4,
    ),
    # relationship / sighting
    bad(
        "relationship",
        "rel-source-sro",
        "source_ref",
        "must refer to an SDO or SCO",
        source_ref=f"relationship--{UUID}",
    ),
    bad("relationship", "rel-target-marking", "target_ref", "an SDO or SCO", target_ref=TLP_GREEN),
    bad(
        "relationship",
        "rel-type-empty",
        "relationship_type",
        "non-empty string",
        relationship_type="",
    ),
    bad(
        "relationship",
        "rel-times",
        "stop_time",
        "'stop_time' must be later than 'start_time'",
        start_time=MODIFIED,
        stop_time=MODIFIED,
    ),
    bad(
        "sighting",
        "sighting-of-sco",
        "sighting_of_ref",
        "must refer to an SDO",
        sighting_of_ref=IPV4,
    ),
    bad(
        "sighting",
        "where-sighted-type",
        "where_sighted_refs",
        "identity or location",
        where_sighted_refs=[MALWARE],
    ),
    bad(
        "sighting",
        "od-refs-type",
        "observed_data_refs",
        "observed-data",
        observed_data_refs=[INDICATOR],
    ),
    bad("sighting", "count-negative", "count", "between 0 and 999999999", count=-1),
    bad("sighting", "count-high", "count", "between 0 and 999999999", count=1_000_000_000),
    bad("sighting", "count-string", "count", "must be an integer", count="3"),
    bad(
        "sighting",
        "sighting-seen",
        "last_seen",
        "later than or equal to 'first_seen'",
        first_seen=MODIFIED,
        last_seen=CREATED,
    ),
    bad("sighting", "sighting-summary", "summary", "boolean", summary="no"),
    bad(
        "campaign",
        "campaign-seen",
        "last_seen",
        "'first_seen'",
        first_seen=MODIFIED,
        last_seen=CREATED,
    ),
    bad(
        "threat-actor",
        "threat-actor-seen",
        "last_seen",
        "'first_seen'",
        first_seen=MODIFIED,
        last_seen=CREATED,
    ),
    # meta objects
    bad(
        "marking-definition",
        "marking-empty",
        "definition",
        "needs 'definition_type' and 'definition', or 'extensions'",
        definition_type=DROP,
        definition=DROP,
    ),
    bad(
        "marking-definition",
        "marking-type-alone",
        "definition",
        "must be present together",
        definition=DROP,
    ),
    bad(
        "marking-definition",
        "marking-definition-alone",
        "definition_type",
        "must be present together",
        definition_type=DROP,
    ),
    bad(
        "marking-definition",
        "tlp-empty",
        "definition",
        "a 'tlp' definition needs a non-empty string 'tlp'",
        definition={"tlp": ""},
    ),
    bad(
        "marking-definition",
        "statement-missing",
        "definition",
        "needs a non-empty string 'statement'",
        definition_type="statement",
    ),
    bad(
        "marking-definition",
        "marking-definition-string",
        "definition",
        "must be a JSON object",
        definition="tlp:green",
    ),
    bad(
        "marking-definition",
        "marking-type-empty",
        "definition_type",
        "non-empty string",
        definition_type="",
    ),
    bad("language-content", "lc-contents", "contents", "must be a JSON object", contents="ja"),
    bad("language-content", "lc-object-ref", "object_ref", "identifier", object_ref="malware"),
    bad(
        "extension-definition",
        "ext-def-types",
        "extension_types",
        "must be one of 'new-sdo'",
        extension_types=["new-thing"],
    ),
    bad(
        "extension-definition",
        "ext-def-types-empty",
        "extension_types",
        "empty list",
        extension_types=[],
    ),
    bad(
        "extension-definition",
        "ext-def-creator",
        "created_by_ref",
        "identity",
        created_by_ref=MALWARE,
    ),
    # observables
    bad("file", "file-anonymous", "hashes", "needs 'hashes' or 'name'", name=DROP),
    bad("file", "file-size", "size", "at least 0", size=-1),
    bad("file", "file-hashes-empty", "hashes", "non-empty JSON object", hashes={}),
    bad(
        "file",
        "file-hash-int",
        "hashes",
        "entry 'MD5' must be a non-empty string",
        hashes={"MD5": 5},
    ),
    bad(
        "file",
        "file-parent",
        "parent_directory_ref",
        "must refer to directory",
        parent_directory_ref=FILE,
    ),
    bad(
        "artifact",
        "artifact-both",
        "url",
        "'url' must not be present together with 'payload_bin'",
        url="https://x/a",
        hashes={"MD5": "0" * 32},
    ),
    bad(
        "artifact",
        "artifact-neither",
        "payload_bin",
        "needs 'payload_bin' or 'url'",
        payload_bin=DROP,
    ),
    bad(
        "artifact",
        "artifact-url-unhashed",
        "hashes",
        "'hashes' is required when 'url' is present",
        payload_bin=DROP,
        url="https://x/a",
    ),
    bad("artifact", "artifact-base64", "payload_bin", "must be base64", payload_bin="not base64!"),
    bad(
        "network-traffic", "nt-no-endpoint", "src_ref", "needs 'src_ref' or 'dst_ref'", dst_ref=DROP
    ),
    bad("network-traffic", "nt-port", "dst_port", "between 0 and 65535", dst_port=70000),
    bad(
        "network-traffic",
        "nt-src-type",
        "src_ref",
        "must refer to domain-name or ipv4-addr",
        src_ref=FILE,
    ),
    bad("network-traffic", "nt-protocols-empty", "protocols", "empty list", protocols=[]),
    bad(
        "network-traffic",
        "nt-order",
        "end",
        "'end' must be later than or equal to 'start'",
        start=MODIFIED,
        end=CREATED,
    ),
    bad(
        "network-traffic",
        "nt-active-end",
        "end",
        "must not be present when 'is_active' is true",
        is_active=True,
        end=MODIFIED,
    ),
    bad("email-message", "email-multipart", "is_multipart", "must be a boolean", is_multipart="no"),
    bad(
        "email-message",
        "email-body",
        "body",
        "must not be present when 'is_multipart' is true",
        is_multipart=True,
        body="x",
    ),
    bad(
        "email-message",
        "email-parts",
        "body_multipart",
        "when 'is_multipart' is false",
        body_multipart=[{"body": "x"}],
    ),
    bad("email-message", "email-to", "to_refs", "email-addr", to_refs=[IPV4]),
    bad("autonomous-system", "as-number", "number", "must be an integer", number="64496"),
    bad("domain-name", "domain-int", "value", "non-empty string", value=5),
    bad("url", "url-empty", "value", "non-empty string", value=""),
    bad("process", "process-empty", "", "needs at least one property of its own", pid=DROP),
    bad("process", "process-pid", "pid", "must be an integer", pid="1"),
    bad("user-account", "user-account-empty", "", "at least one property of its own", user_id=DROP),
    bad("windows-registry-key", "registry-empty", "", "at least one property of its own", key=DROP),
    bad(
        "x509-certificate", "x509-empty", "", "at least one property of its own", serial_number=DROP
    ),
    bad(
        "x509-certificate",
        "x509-extension-only",
        "",
        "of its own",
        serial_number=DROP,
        extensions={"x-acme-ext": {}},
    ),
    bad(
        "x509-certificate",
        "x509-time",
        "validity_not_before",
        "not a valid timestamp",
        validity_not_before="soon",
    ),
]

REQUIRED = {
    "indicator": ["pattern", "pattern_type", "valid_from"],
    "relationship": ["relationship_type", "source_ref", "target_ref"],
    "sighting": ["sighting_of_ref"],
    "malware": ["is_family"],
    "report": ["name", "published", "object_refs"],
    "grouping": ["context", "object_refs"],
    "note": ["content", "object_refs"],
    "opinion": ["opinion", "object_refs"],
    "observed-data": ["first_observed", "last_observed", "number_observed"],
    "malware-analysis": ["product"],
    "language-content": ["object_ref", "contents"],
    "extension-definition": ["created_by_ref", "name", "schema", "version", "extension_types"],
    "email-message": ["is_multipart"],
    "autonomous-system": ["number"],
    "network-traffic": ["protocols"],
    "directory": ["path"],
    "mutex": ["name"],
    "software": ["name"],
    **{t: ["name"] for t in ("attack-pattern", "campaign", "course-of-action", "identity")},
    **{t: ["name"] for t in ("incident", "infrastructure", "intrusion-set", "threat-actor")},
    **{t: ["name"] for t in ("tool", "vulnerability")},
    **{t: ["value"] for t in ("domain-name", "email-addr", "ipv4-addr", "ipv6-addr")},
    **{t: ["value"] for t in ("mac-addr", "url")},
}
INVALID += [
    bad(
        type_,
        f"{type_}-no-{prop}",
        prop,
        f"{prop!r} is required on {type_} objects",
        **{prop: DROP},
    )
    for type_, props in REQUIRED.items()
    for prop in props
]


@pytest.mark.parametrize(("obj", "prop", "fragment"), INVALID)
def test_invalid_objects_name_the_property_and_the_problem(
    obj: dict[str, Any], prop: str, fragment: str
) -> None:
    with pytest.raises(StixValidationError) as excinfo:
        validate_object(obj, _raw(obj))

    error = excinfo.value
    assert error.prop == prop
    assert fragment in error.reason
    if prop in ("type", "id"):
        assert error.object_id == ""
    else:
        assert error.object_id == obj["id"]
        assert error.reason.startswith(f"{obj['id']}: ")


def test_the_message_reads_as_a_sentence_about_the_object() -> None:
    obj = {**BASES["indicator"], "valid_until": "2020-01-01T00:00:00Z"}

    with pytest.raises(StixValidationError) as excinfo:
        validate_object(obj, _raw(obj))

    assert (
        excinfo.value.reason == f"indicator--{UUID}: 'valid_until' must be later than 'valid_from'"
    )
    assert str(excinfo.value) == f"valid_until: {excinfo.value.reason}"


@pytest.mark.parametrize("value", [[], "indicator", None, 1, 2.5, True], ids=repr)
def test_non_objects_are_rejected(value: object) -> None:
    with pytest.raises(StixValidationError) as excinfo:
        validate_object(value, _raw(value))

    assert (excinfo.value.prop, excinfo.value.object_id) == ("", "")
    assert "a STIX object must be a JSON object" in excinfo.value.reason


def test_the_input_is_not_modified() -> None:
    obj = copy.deepcopy(BASES["report"])

    validate_object(obj, _raw(obj))

    assert obj == BASES["report"]


# --- robustness: any JSON in any property gives a result or a StixValidationError ----------

_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
    | st.sampled_from([CREATED, INDICATOR, IDENTITY, TLP_GREEN, "2.1"]),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=6,
)
_PROPERTY_NAMES = st.sampled_from(
    [
        *sorted({key for base in BASES.values() for key in base}),
        *("granular_markings", "external_references", "extensions", "latitude", "definition"),
        *("valid_until", "x_acme_ref", "x_acme_refs", "objects", "is_active", "end"),
    ]
) | st.text(max_size=10)


@settings(max_examples=300, deadline=None)
@given(
    type_=st.sampled_from(sorted(BASES)),
    changes=st.dictionaries(_PROPERTY_NAMES, _JSON, min_size=1, max_size=3),
)
def test_arbitrary_json_never_escapes_as_another_exception(
    type_: str, changes: dict[str, Any]
) -> None:
    obj = {**BASES[type_], **changes}

    error: StixValidationError | None = None
    try:
        result = validate_object(obj, "{}")
    except StixValidationError as exc:  # any other exception fails the test
        error = exc
    if error is None:
        assert (result.id, result.spec_version) == (obj["id"], "2.1")
    else:
        assert error.reason
        assert error.object_id in ("", obj.get("id"))
