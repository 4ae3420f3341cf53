"""Sightings and their bundle: valid STIX 2.1 by the hub's own validator."""

from __future__ import annotations

import io
import json

from kakehashi.match.engine import IndicatorMatch
from kakehashi.match.sightings import MAX_COUNT, identity_object, sighting, write_bundle
from kakehashi.stix.validate import validate_object

from .helpers import T0

IDENTITY = "identity--5f0e7a3c-2a71-4bb2-9e9b-0c2f1d8a6b11"
MATCH = IndicatorMatch(
    "indicator--00000000-0000-4000-8000-000000000001",
    7,
    T0,
    T0 + 5_000_000,
    ("observed-data--00000000-0000-4000-8000-000000000001",),
    "198.51.100.7",
)


def test_a_sighting_has_what_the_issue_lists() -> None:
    obj = sighting(MATCH, identity=IDENTITY, created_us=T0 + 60_000_000)
    assert obj["type"] == "sighting"
    assert obj["spec_version"] == "2.1"
    assert obj["id"].startswith("sighting--")
    assert obj["count"] == 7
    assert obj["first_seen"] == "2024-01-01T00:00:00.000000Z"
    assert obj["last_seen"] == "2024-01-01T00:00:05.000000Z"
    assert obj["sighting_of_ref"] == MATCH.indicator_id
    assert obj["where_sighted_refs"] == [IDENTITY]
    assert obj["created_by_ref"] == IDENTITY
    assert obj["observed_data_refs"] == list(MATCH.observed_data_refs)
    assert obj["created"] == obj["modified"] == "2024-01-01T00:01:00.000000Z"
    validate_object(obj, json.dumps(obj))


def test_count_is_capped_and_refs_only_when_there_are_some() -> None:
    big = IndicatorMatch(MATCH.indicator_id, 10**12, T0, T0, (), "")
    obj = sighting(big, identity=IDENTITY, created_us=T0, marking_refs=["marking-definition--x"])
    assert obj["count"] == MAX_COUNT
    assert "observed_data_refs" not in obj
    assert obj["object_marking_refs"] == ["marking-definition--x"]


def test_the_identity_object_is_valid_and_stable() -> None:
    obj = identity_object(IDENTITY, "CERT A")
    validate_object(obj, json.dumps(obj))
    assert obj == identity_object(IDENTITY, "CERT A")


def test_bundles() -> None:
    out = io.StringIO()
    assert write_bundle([{"type": "x", "id": "x--1"}, {"type": "y", "id": "y--1"}], out) == 2
    bundle = json.loads(out.getvalue())
    assert bundle["type"] == "bundle"
    assert [o["type"] for o in bundle["objects"]] == ["x", "y"]
    empty = io.StringIO()
    assert write_bundle([], empty) == 0
    assert set(json.loads(empty.getvalue())) == {"type", "id"}  # STIX: no empty lists
