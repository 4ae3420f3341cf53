"""Objects made by the ``stix2`` library, posted over HTTP, served back byte for byte.

Also stix2's own TAXII data store (``stix2.datastore.taxii``) over taxii2-client.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import stix2
from stix2.datastore.filters import Filter
from stix2.datastore.taxii import TAXIICollectionStore
from taxii2client.v21 import Collection

from conftest import API_ROOT, COLLECTION, TAXII, TOKENS, basic, post_headers
from kakehashi.config import Settings

from .hubproc import HubProcess, objects_url, served_texts

pytestmark = pytest.mark.serial


def _objects(author: str) -> list[Any]:
    """One of each kind the hub must carry unchanged, in an order that respects refs.

    ``author`` is the poster's organisation identity: the hub refuses objects whose
    ``created_by_ref`` names another organisation.
    """
    identity = stix2.Identity(id=author, name="CERT A", identity_class="organization")
    statement = stix2.MarkingDefinition(
        definition_type="statement",
        definition=stix2.StatementMarking("Copyright 2024 CERT A"),
        created_by_ref=identity.id,
    )
    first = stix2.Indicator(
        name="DarkBridge C2 — 架け橋",  # non-ASCII, sent as UTF-8, not \\u escapes
        pattern="[ipv4-addr:value = '198.51.100.7']",
        pattern_type="stix",
        created_by_ref=identity.id,
        object_marking_refs=[stix2.TLP_GREEN, statement],
        custom_properties={"x_kakehashi_score": 87, "x_kakehashi_tags": ["c2", "bridge"]},
    )
    second = first.new_version(name="DarkBridge C2 (revised)")
    darkbridge = stix2.Malware(name="DarkBridge", is_family=True, created_by_ref=identity.id)
    indicates = stix2.Relationship(first, "indicates", darkbridge)
    address = stix2.IPv4Address(value="198.51.100.7")
    # TLP:GREEN itself is not posted: the hub supplies the OASIS definitions of the TLP
    # markings that objects reference (see the last test for posting it anyway).
    return [identity, statement, first, second, darkbridge, indicates, address]


def _version(text: str) -> str:
    """The version as serialized: ``modified``, else ``created``, else none (an SCO)."""
    parsed = json.loads(text)
    return str(parsed.get("modified") or parsed.get("created") or "")


def test_served_json_is_exactly_what_stix2_serialized(hub: HubProcess, settings: Settings) -> None:
    objects = _objects(settings.organization("cert-a").identity)
    # Compact and pretty-printed text, UTF-8 and odd whitespace between elements: the
    # hub must hand every object back as the very characters it received.
    texts = [
        obj.serialize(pretty=index % 3 == 0, ensure_ascii=False)
        for index, obj in enumerate(objects)
    ]
    body = '{"objects": [\n  ' + ",\n  ".join(texts) + "\n]}"
    with httpx.Client(timeout=10.0) as client:
        response = client.post(
            objects_url(hub.base_url), content=body.encode("utf-8"), headers=post_headers("alice")
        )
        assert response.status_code == 202, response.text
        status = response.json()
        assert (status["status"], status["success_count"]) == ("complete", len(objects))
        assert status["failure_count"] == 0

        every = client.get(
            objects_url(hub.base_url), params={"match[version]": "all"}, headers=basic("alice")
        )
        assert every.status_code == 200
        assert every.headers["content-type"] == TAXII
        served = served_texts(every.content.decode("utf-8"))
        assert [t for t in served if t in texts] == texts  # each once, in posting order
        # Plus what the hub adds: the OASIS TLP:GREEN definition the indicators reference.
        added = [json.loads(t) for t in served if t not in texts]
        assert added == [json.loads(stix2.TLP_GREEN.serialize())]

        for obj, text in zip(objects, texts, strict=True):
            one = client.get(
                f"{objects_url(hub.base_url)}{obj.id}/",
                params={"match[version]": _version(text)} if _version(text) else {},
                headers=basic("alice"),
            )
            assert one.status_code == 200, one.text
            assert served_texts(one.content.decode("utf-8")) == [text]
            assert stix2.parse(text, allow_custom=True) == obj

        # Without match[version], the latest indicator version is served.
        latest = client.get(f"{objects_url(hub.base_url)}{objects[2].id}/", headers=basic("alice"))
        assert served_texts(latest.content.decode("utf-8")) == [texts[3]]


def test_stix2_taxii_data_store(hub: HubProcess, settings: Settings) -> None:
    identity, statement, first, second, darkbridge, indicates, address = _objects(
        settings.organization("cert-a").identity
    )
    url = f"{hub.base_url}/{API_ROOT}/collections/{COLLECTION}/"
    with Collection(url, user="alice", password=TOKENS["alice"]) as collection:
        # stix2 asks for 5000 a page by default; the hub serves 50 and stix2 follows.
        store = TAXIICollectionStore(collection, allow_custom=True)
        # The sink posts each object as a bundle and waits for a complete status.
        store.add([identity, statement, first, darkbridge, indicates, address])
        store.add(second)
        many = [
            stix2.Indicator(pattern=f"[domain-name:value = 'n{n}.example']", pattern_type="stix")
            for n in range(60)
        ]
        store.add(stix2.Bundle(*many))

        assert store.get(first.id) == second  # the latest version
        assert store.get(darkbridge.id) == darkbridge
        assert store.get(address.id) == address
        assert store.get(statement.id) == statement
        assert store.get(stix2.TLP_GREEN.id) == stix2.TLP_GREEN  # supplied by the hub
        assert store.get("indicator--00000000-0000-4000-8000-000000000000") is None
        assert store.all_versions(first.id) == [first, second]

        # A TAXII filter (type) is sent to the hub; its pages of 50 are all read.
        indicators = store.query([Filter("type", "=", "indicator")])
        assert sorted(i.id for i in indicators) == sorted([first.id, *(i.id for i in many)])
        # A filter TAXII lacks (relationship_type) is applied by stix2 after the query.
        found = store.query(
            [Filter("type", "=", "relationship"), Filter("relationship_type", "=", "indicates")]
        )
        assert found == [indicates]
        assert store.related_to(first) == [darkbridge]

        # What the data store wrote is what a plain HTTP reader gets.
        with httpx.Client(timeout=10.0) as client:
            response = client.get(
                f"{objects_url(hub.base_url)}{second.id}/", headers=basic("alice")
            )
        assert [json.loads(t) for t in served_texts(response.text)] == [
            json.loads(second.serialize())
        ]


def test_posting_an_oasis_tlp_definition_keeps_one_copy(hub: HubProcess) -> None:
    # stix2 users routinely send TLP:GREEN along with the objects it marks (a Bundle).
    marked = stix2.Indicator(
        pattern="[ipv4-addr:value = '198.51.100.9']",
        pattern_type="stix",
        object_marking_refs=[stix2.TLP_GREEN],
    )
    texts = [stix2.TLP_GREEN.serialize(), marked.serialize()]
    with httpx.Client(timeout=10.0) as client:
        response = client.post(
            objects_url(hub.base_url),
            content=('{"objects": [' + ", ".join(texts) + "]}").encode(),
            headers=post_headers("alice"),
        )
        assert response.status_code == 202, response.text
        assert response.json()["success_count"] == 2
        tlp = client.get(
            f"{objects_url(hub.base_url)}{stix2.TLP_GREEN.id}/",
            params={"match[version]": "all"},
            headers=basic("alice"),
        )
    # One object version, one copy: (id, version) identifies it in a TAXII collection.
    served = [json.loads(t) for t in served_texts(tlp.text)]
    assert served == [json.loads(texts[0])]
