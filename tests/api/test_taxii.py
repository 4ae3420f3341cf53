"""The TAXII 2.1 endpoints over HTTP, on SQLite and PostgreSQL (the ``client`` fixture)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.testclient import TestClient

from conftest import (
    API_ROOT,
    COLLECTION,
    PRIVATE_COLLECTION,
    TAXII,
    WRITE_ONLY_COLLECTION,
    basic,
    bearer,
    envelope,
    objects_url,
    post_headers,
)
from stixgen import indicator, ipv4, malware, uid

ROOT = f"/{API_ROOT}/"


def post(
    client: TestClient, *objects: dict[str, Any], user: str = "alice", collection: str = COLLECTION
) -> dict[str, Any]:
    response = client.post(
        objects_url(collection), content=json.dumps(envelope(*objects)), headers=post_headers(user)
    )
    assert response.status_code == 202, response.text
    assert response.headers["content-type"] == TAXII
    body: dict[str, Any] = response.json()
    return body


def assert_error(response: Any, status: int) -> dict[str, Any]:
    """The TAXII error message resource (section 3.6.1), with the right media type."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == TAXII
    body: dict[str, Any] = response.json()
    assert isinstance(body["title"], str)
    assert body["title"]
    assert body["http_status"] == str(status)
    return body


def read_all(
    client: TestClient, url: str, *, limit: int, user: str = "alice", key: str = "objects"
) -> tuple[list[Any], int]:
    """Follow `next` to the end; return every item and the number of pages."""
    items: list[Any] = []
    pages = 0
    params: dict[str, str] = {"limit": str(limit)}
    while True:
        response = client.get(url, params=params, headers=basic(user))
        assert response.status_code == 200, response.text
        body = response.json()
        pages += 1
        items.extend(body.get(key, []))
        if not body.get("more"):
            assert "next" not in body
            return items, pages
        params = {"limit": str(limit), "next": body["next"]}


# -- discovery, API root, collections ---------------------------------------------------


def test_discovery_lists_the_api_root(client: TestClient) -> None:
    response = client.get("/taxii2/", headers=basic("alice"))
    assert response.status_code == 200
    assert response.headers["content-type"] == TAXII
    body = response.json()
    assert body["title"] == "Kakehashi test hub"
    assert body["api_roots"] == ["http://hub.test/exchange/"]
    assert body["default"] == "http://hub.test/exchange/"


@pytest.mark.parametrize("path", ["/taxii2/", ROOT, f"{ROOT}collections/", objects_url()])
def test_every_endpoint_requires_authentication(client: TestClient, path: str) -> None:
    response = client.get(path, headers={"Accept": TAXII})
    assert_error(response, 401)
    assert "Basic" in response.headers["www-authenticate"]
    assert "Bearer" in response.headers["www-authenticate"]


@pytest.mark.parametrize(
    "authorization",
    [
        "Basic " + "YWxpY2U6d3Jvbmc=",  # alice:wrong
        "Basic not-base64!",
        "Bearer wrong-token",
        "Digest abc",
        "Basic " + "Ym9iLXRva2VuLTAxMjM0NTY3ODk=",  # a token without a username
    ],
)
def test_bad_credentials_are_refused(client: TestClient, authorization: str) -> None:
    response = client.get("/taxii2/", headers={"Authorization": authorization, "Accept": TAXII})
    assert_error(response, 401)


def test_bearer_and_token_schemes(client: TestClient) -> None:
    assert client.get("/taxii2/", headers=bearer("bob")).status_code == 200
    token_header = {"Authorization": bearer("bob")["Authorization"].replace("Bearer", "Token")}
    assert client.get("/taxii2/", headers=token_header).status_code == 200


def test_basic_with_another_users_token_is_refused(client: TestClient) -> None:
    import base64

    from conftest import TOKENS

    raw = f"alice:{TOKENS['bob']}".encode()
    response = client.get(
        "/taxii2/", headers={"Authorization": "Basic " + base64.b64encode(raw).decode()}
    )
    assert_error(response, 401)


def test_api_root_information(client: TestClient) -> None:
    body = client.get(ROOT, headers=basic("bob")).json()
    assert body == {
        "title": "Exchange",
        "versions": ["application/taxii+json;version=2.1"],
        "max_content_length": 10 * 1024 * 1024,
    }


def test_unknown_api_root_is_404(client: TestClient) -> None:
    assert_error(client.get("/nowhere/", headers=basic("alice")), 404)
    assert_error(client.get("/nowhere/collections/", headers=basic("alice")), 404)


def test_collections_show_only_what_the_organisation_may_use(client: TestClient) -> None:
    alice = client.get(f"{ROOT}collections/", headers=basic("alice")).json()["collections"]
    bob = client.get(f"{ROOT}collections/", headers=basic("bob")).json()["collections"]
    assert {c["id"] for c in alice} == {COLLECTION, PRIVATE_COLLECTION, WRITE_ONLY_COLLECTION}
    assert {c["id"]: (c["can_read"], c["can_write"]) for c in bob} == {
        COLLECTION: (True, False),
        WRITE_ONLY_COLLECTION: (False, True),
    }
    shared = next(c for c in bob if c["id"] == COLLECTION)
    assert shared["media_types"] == ["application/stix+json;version=2.1"]
    assert shared["title"] == "Shared indicators"


def test_an_organisation_with_no_collections_gets_an_empty_resource(client: TestClient) -> None:
    response = client.get(f"{ROOT}collections/", headers=basic("dave"))
    assert response.status_code == 200
    assert response.json() == {}  # TAXII 2.1 section 2: no empty lists


def test_single_collection_by_id_and_alias(client: TestClient) -> None:
    by_id = client.get(f"{ROOT}collections/{PRIVATE_COLLECTION}/", headers=basic("alice")).json()
    by_alias = client.get(f"{ROOT}collections/a-only/", headers=basic("alice")).json()
    assert by_id == by_alias
    assert by_id["alias"] == "a-only"
    assert by_id["can_read"] is True
    assert by_id["can_write"] is True


def test_collections_the_organisation_cannot_use_do_not_exist_for_it(client: TestClient) -> None:
    unknown = client.get(
        f"{ROOT}collections/00000000-0000-4000-8000-000000000000/", headers=basic("bob")
    )
    hidden = client.get(f"{ROOT}collections/{PRIVATE_COLLECTION}/", headers=basic("bob"))
    assert_error(unknown, 404)
    assert_error(hidden, 404)
    assert unknown.json()["description"] == hidden.json()["description"]


# -- permissions ------------------------------------------------------------------------


def test_read_only_organisation_gets_403_on_write(client: TestClient) -> None:
    response = client.post(
        objects_url(), content=json.dumps(envelope(indicator(1))), headers=post_headers("bob")
    )
    assert_error(response, 403)
    assert client.get(objects_url(), headers=basic("alice")).json() == {"more": False}


def test_write_only_organisation_gets_403_on_reads(client: TestClient) -> None:
    post(client, indicator(1), user="bob", collection=WRITE_ONLY_COLLECTION)
    base = f"{ROOT}collections/{WRITE_ONLY_COLLECTION}/"
    for path in (
        "objects/",
        "manifest/",
        f"objects/{uid('indicator', 1)}/",
        f"objects/{uid('indicator', 1)}/versions/",
    ):
        assert_error(client.get(base + path, headers=basic("bob")), 403)
    assert client.get(base + "objects/", headers=basic("alice")).json()["objects"][0]["id"] == uid(
        "indicator", 1
    )


def test_delete_needs_read_and_write(client: TestClient) -> None:
    post(client, indicator(1))
    url = f"{objects_url()}{uid('indicator', 1)}/"
    assert_error(client.delete(url, headers=basic("bob")), 403)
    assert client.get(url, headers=basic("alice")).status_code == 200


# -- add objects and status -------------------------------------------------------------


def test_add_objects_returns_a_complete_status(client: TestClient) -> None:
    status = post(client, indicator(1), malware(2), ipv4(3))
    assert status["status"] == "complete"
    assert (
        status["total_count"],
        status["success_count"],
        status["failure_count"],
        status["pending_count"],
    ) == (3, 3, 0, 0)
    assert {s["id"] for s in status["successes"]} == {
        uid("indicator", 1),
        uid("malware", 2),
        uid("ipv4-addr", 3),
    }
    assert "failures" not in status
    assert "pendings" not in status
    assert status["request_timestamp"].endswith("Z")


@pytest.mark.parametrize("suffix", ["/", ""])
def test_status_resource_with_and_without_trailing_slash(client: TestClient, suffix: str) -> None:
    status = post(client, indicator(1))
    response = client.get(f"{ROOT}status/{status['id']}{suffix}", headers=basic("alice"))
    assert response.status_code == 200
    assert response.json() == status


def test_status_is_private_to_the_posting_organisation(client: TestClient) -> None:
    status = post(client, indicator(1), user="bob", collection=WRITE_ONLY_COLLECTION)
    assert client.get(f"{ROOT}status/{status['id']}/", headers=basic("bob")).status_code == 200
    assert_error(client.get(f"{ROOT}status/{status['id']}/", headers=basic("alice")), 404)
    assert_error(client.get(f"{ROOT}status/not-a-status/", headers=basic("alice")), 404)


def test_invalid_objects_fail_and_the_valid_ones_are_stored(client: TestClient) -> None:
    bad_timestamp = indicator(2, modified="yesterday")
    no_pattern = {k: v for k, v in indicator(3).items() if k != "pattern"}
    status = post(
        client, indicator(1), bad_timestamp, no_pattern, {"type": "bundle"}, "not an object"
    )  # type: ignore[arg-type]
    assert status["success_count"] == 1
    assert status["failure_count"] == 4
    failures = {f["message"].split(":")[0]: f for f in status["failures"]}
    assert set(failures) == {"objects[1]", "objects[2]", "objects[3]", "objects[4]"}
    assert failures["objects[1]"]["id"] == uid("indicator", 2)
    assert "modified" in failures["objects[1]"]["message"]
    assert "pattern" in failures["objects[2]"]["message"]
    stored = client.get(objects_url(), headers=basic("alice")).json()["objects"]
    assert [o["id"] for o in stored] == [uid("indicator", 1)]


def test_reposting_an_identical_version_is_a_success(client: TestClient) -> None:
    post(client, indicator(1))
    again = post(client, indicator(1))
    assert again["success_count"] == 1
    assert again["failure_count"] == 0
    reformatted = client.post(
        objects_url(),
        content=json.dumps(envelope(indicator(1)), indent=2),
        headers=post_headers("alice"),
    ).json()
    assert reformatted["success_count"] == 1
    versions = client.get(
        f"{objects_url()}{uid('indicator', 1)}/versions/", headers=basic("alice")
    ).json()
    assert versions["versions"] == ["2024-01-01T00:00:00.000Z"]


def test_a_different_object_under_an_existing_version_fails(client: TestClient) -> None:
    post(client, indicator(1))
    changed = post(client, indicator(1, name="changed without a new modified"))
    assert changed["failure_count"] == 1
    assert "modified" in changed["failures"][0]["message"]
    served = client.get(f"{objects_url()}{uid('indicator', 1)}/", headers=basic("alice")).json()
    assert served["objects"][0]["name"] == "Indicator 1 v0"


def test_custom_properties_and_types_are_kept(client: TestClient) -> None:
    custom = indicator(
        1,
        x_acme_score=7,
        extensions={
            "extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e": {
                "extension_type": "property-extension",
                "rank": 5,
            }
        },
    )
    custom_type = {
        "type": "x-acme-widget",
        "spec_version": "2.1",
        "id": uid("x-acme-widget", 1),
        "created": "2024-01-01T00:00:00Z",
        "modified": "2024-01-01T00:00:00Z",
        "colour": "blue",
    }
    status = post(client, custom, custom_type)
    assert status["success_count"] == 2
    served = client.get(objects_url(), headers=basic("alice")).json()["objects"]
    assert served == [custom, custom_type]


def test_objects_are_served_byte_for_byte(client: TestClient) -> None:
    # Odd but legal spacing and key order, unicode, and escapes must survive untouched.
    text = (
        '{"name":"Ind\\u00e9 \u65e5\u672c","type":"indicator" ,  "spec_version":"2.1",'
        f'"id":"{uid("indicator", 9)}","created":"2024-01-01T00:00:00.000Z",'
        '"modified":"2024-01-01T00:00:00.000Z","pattern":"[file:name = \'a\\\\\\\\b\']",'
        '"pattern_type":"stix","valid_from":"2024-01-01T00:00:00Z"}'
    )
    body = f'{{"objects": [ {text} ]}}'
    response = client.post(objects_url(), content=body.encode(), headers=post_headers("alice"))
    assert response.json()["success_count"] == 1
    served = client.get(objects_url(), headers=basic("alice")).content
    assert text.encode() in served
    single = client.get(f"{objects_url()}{uid('indicator', 9)}/", headers=basic("alice")).content
    assert single == b'{"more":false,"objects":[' + text.encode() + b"]}"


# -- bad requests -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{",
        b"not json",
        b"[]",
        b'{"objects": 3}',
        b'{"more": false}',
        b"\xff\xfe",
        b'{"objects": [NaN]}',
        b'{"objects": []} trailing',
    ],
)
def test_a_body_that_is_not_an_envelope_is_400(client: TestClient, body: bytes) -> None:
    response = client.post(objects_url(), content=body, headers=post_headers("alice"))
    assert_error(response, 400)


def test_an_empty_envelope_is_accepted(client: TestClient) -> None:
    status = post(client)
    assert status["total_count"] == 0
    assert status["status"] == "complete"


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/taxii+json;version=2.0", "text/plain", None]
)
def test_wrong_content_type_is_415(client: TestClient, content_type: str | None) -> None:
    headers = basic("alice")
    if content_type:
        headers["Content-Type"] = content_type
    response = client.post(
        objects_url(), content=json.dumps(envelope(indicator(1))), headers=headers
    )
    assert_error(response, 415)


@pytest.mark.parametrize(
    "accept",
    [
        "application/xml",
        "application/taxii+json;version=2.0",
        "application/taxii+json;version=2.1;q=0",
    ],
)
def test_unacceptable_accept_is_406(client: TestClient, accept: str) -> None:
    headers = {**basic("alice"), "Accept": accept}
    assert_error(client.get(f"{ROOT}collections/", headers=headers), 406)


@pytest.mark.parametrize(
    "accept",
    [
        "application/taxii+json",
        "application/taxii+json; version=2.1",
        "*/*",
        "application/xml, application/taxii+json;q=0.5",
    ],
)
def test_acceptable_accept_headers(client: TestClient, accept: str) -> None:
    response = client.get(f"{ROOT}collections/", headers={**basic("alice"), "Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"] == TAXII


def test_a_body_over_max_content_length_is_413(client: TestClient, settings: Any) -> None:
    limit = settings.hub.max_content_length
    huge = b'{"objects": [' + b" " * limit + b"]}"
    assert_error(client.post(objects_url(), content=huge, headers=post_headers("alice")), 413)

    def chunks() -> Any:  # no Content-Length: the limit applies while reading
        yield b'{"objects": ['
        for _ in range(limit // 65536 + 2):
            yield b" " * 65536
        yield b"]}"

    assert_error(client.post(objects_url(), content=chunks(), headers=post_headers("alice")), 413)


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"},
        {"limit": "-1"},
        {"limit": "ten"},
        {"added_after": "yesterday"},
        {"added_after": "2024-01-01T00:00:00"},
        {"match[version]": "newest"},
        {"match[version]": "all,last"},
        {"match[version]": "last,last"},
        {"next": "not-a-token"},
        {"next": "AQAAAAAAAAAAAAAAAA"},
    ],
)
def test_bad_filter_values_are_400(client: TestClient, params: dict[str, str]) -> None:
    for url in (objects_url(), f"{ROOT}collections/{COLLECTION}/manifest/"):
        body = assert_error(client.get(url, params=params, headers=basic("alice")), 400)
        assert next(iter(params)) in body["description"]


def test_repeated_filter_is_400(client: TestClient) -> None:
    response = client.get(objects_url() + "?limit=1&limit=2", headers=basic("alice"))
    assert_error(response, 400)


def test_unknown_route_and_method_get_taxii_errors(client: TestClient) -> None:
    assert_error(client.get("/exchange/collections/x/y/z/w/", headers=basic("alice")), 404)
    assert_error(client.put(objects_url(), headers=basic("alice")), 405)


# -- reading: filters, versions, paging -------------------------------------------------


def test_match_type_id_and_spec_version(client: TestClient) -> None:
    post(client, indicator(1), malware(2), ipv4(3), indicator(4))

    def ids(**params: str) -> list[str]:
        body = client.get(objects_url(), params=params, headers=basic("alice")).json()
        return [o["id"] for o in body.get("objects", [])]

    assert ids(**{"match[type]": "indicator"}) == [uid("indicator", 1), uid("indicator", 4)]
    assert ids(**{"match[type]": "malware,ipv4-addr"}) == [uid("malware", 2), uid("ipv4-addr", 3)]
    assert ids(**{"match[id]": f"{uid('indicator', 4)},{uid('malware', 2)}"}) == [
        uid("malware", 2),
        uid("indicator", 4),
    ]
    assert ids(**{"match[spec_version]": "2.1"}) == [
        uid("indicator", 1),
        uid("malware", 2),
        uid("ipv4-addr", 3),
        uid("indicator", 4),
    ]
    assert ids(**{"match[spec_version]": "2.0"}) == []
    assert ids(**{"match[type]": "tool"}) == []


def test_several_versions_are_kept_and_selected(client: TestClient) -> None:
    post(client, indicator(1, version=0), indicator(1, version=2))
    post(client, indicator(1, version=1))  # an older version added later

    def versions(**params: str) -> list[str]:
        body = client.get(objects_url(), params=params, headers=basic("alice")).json()
        return sorted(o["modified"] for o in body.get("objects", []))

    v0, v1, v2 = "2024-01-01T00:00:00.000Z", "2024-01-01T00:00:01.000Z", "2024-01-01T00:00:02.000Z"
    assert versions() == [v2]
    assert versions(**{"match[version]": "last"}) == [v2]
    assert versions(**{"match[version]": "first"}) == [v0]
    assert versions(**{"match[version]": "all"}) == [v0, v1, v2]
    assert versions(**{"match[version]": "first,last"}) == [v0, v2]
    assert versions(**{"match[version]": v1}) == [v1]
    assert versions(**{"match[version]": "2024-01-01T00:00:01Z"}) == [
        v1
    ]  # same instant, other precision
    assert versions(**{"match[version]": f"{v0},{v1}"}) == [v0, v1]
    assert versions(**{"match[version]": "2023-01-01T00:00:00Z"}) == []
    history = client.get(
        f"{objects_url()}{uid('indicator', 1)}/versions/", headers=basic("alice")
    ).json()
    assert history["versions"] == [v0, v2, v1]  # in date_added order
    one = client.get(
        f"{objects_url()}{uid('indicator', 1)}/",
        params={"match[version]": "all"},
        headers=basic("alice"),
    ).json()
    assert len(one["objects"]) == 3


def test_manifest_records(client: TestClient) -> None:
    post(client, indicator(1), ipv4(2))
    response = client.get(f"{ROOT}collections/{COLLECTION}/manifest/", headers=basic("bob"))
    assert response.status_code == 200
    records = response.json()["objects"]
    assert [r["id"] for r in records] == [uid("indicator", 1), uid("ipv4-addr", 2)]
    assert records[0]["version"] == "2024-01-01T00:00:00.000Z"
    assert records[1]["version"] == records[1]["date_added"]  # an SCO has no modified/created
    assert all(r["media_type"] == "application/stix+json;version=2.1" for r in records)
    assert response.headers["X-TAXII-Date-Added-First"] == records[0]["date_added"]
    assert response.headers["X-TAXII-Date-Added-Last"] == records[1]["date_added"]


def test_date_added_strictly_increases_and_headers_match(client: TestClient) -> None:
    post(client, *(indicator(n) for n in range(10)))
    post(client, *(indicator(n) for n in range(10, 20)))
    records, _ = read_all(client, f"{ROOT}collections/{COLLECTION}/manifest/", limit=50)
    stamps = [r["date_added"] for r in records]
    assert len(stamps) == 20
    assert stamps == sorted(stamps)
    assert len(set(stamps)) == 20
    assert all(len(s) == len("2024-01-01T00:00:00.000000Z") for s in stamps)


def test_paging_with_next_visits_every_object_once(client: TestClient) -> None:
    post(client, *(indicator(n) for n in range(23)))
    for limit in (1, 5, 7, 23, 50):
        objects, pages = read_all(client, objects_url(), limit=limit)
        assert [o["id"] for o in objects] == [uid("indicator", n) for n in range(23)]
        assert pages == -(-23 // limit)  # `more` is exact: no trailing empty page


def test_paging_by_added_after_with_headers(client: TestClient) -> None:
    post(client, *(indicator(n) for n in range(12)))
    seen: list[str] = []
    params = {"limit": "5"}
    while True:
        response = client.get(objects_url(), params=params, headers=basic("alice"))
        body = response.json()
        if "objects" not in body:
            assert "X-TAXII-Date-Added-Last" not in response.headers
            break
        seen.extend(o["id"] for o in body["objects"])
        params = {"limit": "5", "added_after": response.headers["X-TAXII-Date-Added-Last"]}
    assert seen == [uid("indicator", n) for n in range(12)]


def test_server_page_size_caps_the_limit(client: TestClient) -> None:
    post(client, *(indicator(n) for n in range(60)))
    body = client.get(objects_url(), params={"limit": "500"}, headers=basic("alice")).json()
    assert len(body["objects"]) == 50
    assert body["more"] is True
    assert body["next"]
    default = client.get(objects_url(), headers=basic("alice")).json()
    assert len(default["objects"]) == 50


def test_manifest_and_versions_page_with_next(client: TestClient) -> None:
    post(client, *(indicator(n) for n in range(7)))
    records, pages = read_all(client, f"{ROOT}collections/{COLLECTION}/manifest/", limit=3)
    assert len(records) == 7
    assert pages == 3
    post(client, *(indicator(1, version=v) for v in range(1, 6)))
    versions, pages = read_all(
        client, f"{objects_url()}{uid('indicator', 1)}/versions/", limit=2, key="versions"
    )
    assert len(versions) == 6
    assert len(set(versions)) == 6
    assert pages == 3


def test_next_token_keeps_the_filters_of_the_request(client: TestClient) -> None:
    post(client, *(indicator(n) for n in range(6)), *(malware(n) for n in range(6)))
    first = client.get(
        objects_url(), params={"limit": "2", "match[type]": "malware"}, headers=basic("alice")
    ).json()
    rest = client.get(
        objects_url(),
        params={"limit": "50", "match[type]": "malware", "next": first["next"]},
        headers=basic("alice"),
    ).json()
    assert [o["type"] for o in first["objects"] + rest["objects"]] == ["malware"] * 6


def test_next_token_is_not_a_key_to_other_collections(client: TestClient) -> None:
    post(client, *(indicator(n) for n in range(4)), collection=PRIVATE_COLLECTION)
    post(client, *(indicator(n) for n in range(10, 14)))
    token = client.get(
        objects_url(PRIVATE_COLLECTION), params={"limit": "1"}, headers=basic("alice")
    ).json()["next"]
    assert_error(
        client.get(objects_url(PRIVATE_COLLECTION), params={"next": token}, headers=basic("bob")),
        404,
    )
    shared = client.get(objects_url(), params={"next": token}, headers=basic("bob")).json()
    assert {o["id"] for o in shared["objects"]} <= {uid("indicator", n) for n in range(10, 14)}


def test_empty_collection_reads(client: TestClient) -> None:
    response = client.get(objects_url(), headers=basic("alice"))
    assert response.json() == {"more": False}
    assert "X-TAXII-Date-Added-First" not in response.headers
    manifest = client.get(
        f"{ROOT}collections/{COLLECTION}/manifest/", headers=basic("alice")
    ).json()
    assert manifest == {"more": False}


# -- single objects ---------------------------------------------------------------------


def test_get_object_by_id(client: TestClient) -> None:
    post(client, indicator(1), indicator(2))
    response = client.get(f"{objects_url()}{uid('indicator', 2)}/", headers=basic("bob"))
    assert response.status_code == 200
    assert [o["id"] for o in response.json()["objects"]] == [uid("indicator", 2)]
    assert (
        response.headers["X-TAXII-Date-Added-First"] == response.headers["X-TAXII-Date-Added-Last"]
    )


def test_unknown_object_is_404_but_a_filtered_out_one_is_empty(client: TestClient) -> None:
    post(client, indicator(1))
    assert_error(client.get(f"{objects_url()}{uid('indicator', 99)}/", headers=basic("alice")), 404)
    assert_error(
        client.get(f"{objects_url()}{uid('indicator', 99)}/versions/", headers=basic("alice")), 404
    )
    filtered = client.get(
        f"{objects_url()}{uid('indicator', 1)}/",
        params={"match[version]": "2020-01-01T00:00:00Z"},
        headers=basic("alice"),
    )
    assert filtered.status_code == 200
    assert filtered.json() == {"more": False}


def test_delete_removes_all_versions_by_default(client: TestClient) -> None:
    post(client, indicator(1, version=0), indicator(1, version=1), indicator(2))
    url = f"{objects_url()}{uid('indicator', 1)}/"
    response = client.delete(url, headers=basic("alice"))
    assert response.status_code == 200
    assert response.headers["content-type"] == TAXII
    assert_error(client.get(url, headers=basic("alice")), 404)
    remaining = client.get(
        objects_url(), params={"match[version]": "all"}, headers=basic("alice")
    ).json()["objects"]
    assert [o["id"] for o in remaining] == [uid("indicator", 2)]
    assert_error(client.delete(url, headers=basic("alice")), 404)


def test_delete_one_version(client: TestClient) -> None:
    post(client, indicator(1, version=0), indicator(1, version=1))
    url = f"{objects_url()}{uid('indicator', 1)}/"
    response = client.delete(url, params={"match[version]": "first"}, headers=basic("alice"))
    assert response.status_code == 200
    versions = client.get(url + "versions/", headers=basic("alice")).json()["versions"]
    assert versions == ["2024-01-01T00:00:01.000Z"]


def test_discovery_lists_no_api_root_to_an_organisation_that_sees_no_collection(
    client: TestClient,
) -> None:
    body = client.get("/taxii2/", headers=basic("dave")).json()
    assert body == {"title": "Kakehashi test hub"}
    # The API root itself stays readable to any authenticated account.
    assert client.get(ROOT, headers=basic("dave")).json()["title"] == "Exchange"
