"""Agreements as code over real HTTP, on SQLite and PostgreSQL (the ``client`` fixture).

Who reads and writes a collection, what each reader receives by TLP, the definitions the
hub adds, ``created_by_ref``, DELETE, and the side channels: an object a viewer may not see
must answer exactly like one that does not exist, on every path.

    cert-a    party: producer+consumer, red
    └── csirt-a1
    cert-b    party: producer+consumer, amber (accounts cert-b and cert-b-2)
    ├── telco-b1 (ceiling green)
    │   └── lab-b1
    └── op-b2
        ├── plant-b2
        └── kiosk-b2 (ceiling clear)
    ncsc      party: coordinator, red
    cert-c    party: consumer, red; own ceiling amber
    sensor-p  party: producer only
    vendor-x  outsider (a party of another agreement)

The ``OPEN`` collection names its readers instead: can_read cert-a, csirt-a1, telco-b1.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any, ClassVar

import pytest
from starlette.testclient import TestClient

from conftest import API_ROOT, TAXII
from stixgen import indicator, ts, uid

ROOT = f"/{API_ROOT}/"
AGREED = "7a1e0c2b-5d3f-4e6a-9b8c-0d1e2f3a4b5c"
OPEN = "7a1e0c2b-5d3f-4e6a-9b8c-0d1e2f3a4b5d"

CLEAR = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"
GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
AMBER = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
STRICT = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"
RED = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"
WHITE_1 = "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"
GREEN_1 = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"
AMBER_1 = "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"
RED_1 = "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed"
RECIPIENTS = "extension-definition--9067863b-bbbc-4e1b-bbe4-76f6ecec33c2"

# key -> (parent, own ceiling)
ORGS: dict[str, tuple[str, str]] = {
    "cert-a": ("", ""),
    "csirt-a1": ("cert-a", ""),
    "cert-b": ("", ""),
    "telco-b1": ("cert-b", "green"),
    "lab-b1": ("telco-b1", ""),
    "op-b2": ("cert-b", ""),
    "plant-b2": ("op-b2", ""),
    "kiosk-b2": ("op-b2", "clear"),
    "ncsc": ("", ""),
    "cert-c": ("", "amber"),
    "sensor-p": ("", ""),
    "vendor-x": ("", ""),
}
IDENTITY = {key: f"identity--dddddddd-0000-4000-8000-{i:012d}" for i, key in enumerate(ORGS)}
STRANGER = "identity--dddddddd-0000-4000-8000-999999999999"
# One account per organisation, named after it, and a second account of cert-b.
ACCOUNTS = {key: key for key in ORGS} | {"cert-b-2": "cert-b"}
TOKENS = {user: f"{user}-token-0123456789" for user in ACCOUNTS}

AGREED_READERS = (
    "cert-a",
    "csirt-a1",
    "cert-b",
    "telco-b1",
    "lab-b1",
    "op-b2",
    "plant-b2",
    "kiosk-b2",
    "ncsc",
    "cert-c",
)
OPEN_READERS = ("cert-a", "csirt-a1", "telco-b1")
EVERY_READER = set(AGREED_READERS)
GREEN_READERS = EVERY_READER - {"kiosk-b2"}  # lab-b1 is lowered to GREEN by telco-b1
AMBER_READERS = {"cert-a", "csirt-a1", "cert-b", "op-b2", "plant-b2", "ncsc", "cert-c"}
STRICT_READERS = {"cert-a", "cert-b", "ncsc", "cert-c"}


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def make_config(default_tlp: str = "amber") -> str:
    parts = [f'[hub]\ntitle = "Agreements"\nmax_page_size = 100\ndefault_tlp = "{default_tlp}"']
    for key, (parent, ceiling) in ORGS.items():
        parts.append(
            f'[[organizations]]\nkey = "{key}"\nname = "{key}"\nidentity = "{IDENTITY[key]}"'
            + (f'\nparent = "{parent}"' if parent else "")
            + (f'\nceiling = "{ceiling}"' if ceiling else "")
        )
    for user, org in ACCOUNTS.items():
        parts.append(
            f'[[accounts]]\nusername = "{user}"\norganization = "{org}"\n'
            f'token_sha256 = "{_digest(TOKENS[user])}"'
        )
    parties = [
        ("cert-a", ["producer", "consumer"], "red"),
        ("cert-b", ["producer", "consumer"], "amber"),
        ("ncsc", ["coordinator"], "red"),
        ("cert-c", ["consumer"], "red"),
        ("sensor-p", ["producer"], "amber"),
    ]
    parts.append('[[agreements]]\nkey = "cii-5g"\ntitle = "CII and 5G"\nsectors = ["cii", "5g"]')
    for org, roles, ceiling in parties:
        parts.append(
            f'[[agreements.parties]]\norganization = "{org}"\nroles = {json.dumps(roles)}\n'
            f'ceiling = "{ceiling}"'
        )
    parts.append('[[agreements]]\nkey = "vendors"\ntitle = "Vendors"')
    parts.append(
        '[[agreements.parties]]\norganization = "vendor-x"\nroles = ["producer", "consumer"]'
    )
    parts.append('[[api_roots]]\nname = "exchange"\ntitle = "Exchange"')
    parts.append(
        f'[[collections]]\nid = "{AGREED}"\napi_root = "exchange"\ntitle = "CII and 5G"\n'
        'alias = "cii-5g"\nagreement = "cii-5g"'
    )
    parts.append(
        f'[[collections]]\nid = "{OPEN}"\napi_root = "exchange"\ntitle = "Open"\n'
        'can_read = ["cert-a", "csirt-a1", "telco-b1"]\ncan_write = ["cert-a"]'
    )
    return "\n\n".join(parts) + "\n"


@pytest.fixture
def config_text() -> str:
    return make_config()


# -- helpers ---------------------------------------------------------------------------


def auth(user: str) -> dict[str, str]:
    raw = f"{user}:{TOKENS[user]}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode(), "Accept": TAXII}


def objects_url(collection: str = AGREED) -> str:
    return f"{ROOT}collections/{collection}/objects/"


def object_url(object_id: str, collection: str = AGREED) -> str:
    return f"{objects_url(collection)}{object_id}/"


def manifest_url(collection: str = AGREED) -> str:
    return f"{ROOT}collections/{collection}/manifest/"


def post(
    client: TestClient, *objects: dict[str, Any], user: str = "cert-a", collection: str = AGREED
) -> dict[str, Any]:
    response = client.post(
        objects_url(collection),
        content=json.dumps({"objects": list(objects)}),
        headers={**auth(user), "Content-Type": TAXII},
    )
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body


def get(client: TestClient, url: str, user: str, **params: str) -> Any:
    return client.get(url, params=params, headers=auth(user))


def marked(n: int, *refs: str, version: int = 0, **extra: Any) -> dict[str, Any]:
    """Indicator ``n`` with ``refs`` as its object markings."""
    if refs:
        extra["object_marking_refs"] = list(refs)
    return indicator(n, version=version, **extra)


def recipients(*orgs: str) -> dict[str, Any]:
    ids = [IDENTITY.get(o, o) for o in orgs]
    return {RECIPIENTS: {"extension_type": "property-extension", "recipients": ids}}


def seen_by(client: TestClient, object_id: str, collection: str = AGREED) -> set[str]:
    """The readers that receive the object, asked by id and through the collection."""
    readers = AGREED_READERS if collection == AGREED else OPEN_READERS
    by_id: set[str] = set()
    by_list: set[str] = set()
    for user in readers:
        single = get(client, object_url(object_id, collection), user)
        assert single.status_code in (200, 404), single.text
        if single.status_code == 200:
            by_id.add(user)
        listed = get(client, objects_url(collection), user, **{"match[id]": object_id}).json()
        if listed.get("objects"):
            by_list.add(user)
    assert by_id == by_list
    return by_id


def failure_ids(status: dict[str, Any]) -> list[str]:
    return [f["id"] for f in status.get("failures", [])]


def success_ids(status: dict[str, Any]) -> list[str]:
    return [s["id"] for s in status.get("successes", [])]


def anonymous(response: Any) -> tuple[int, list[tuple[str, str]], dict[str, Any]]:
    """A response as a viewer can compare it: status, headers, body but the error_id."""
    body = dict(response.json()) if response.content else {}
    body.pop("error_id", None)
    return response.status_code, sorted(response.headers.items()), body


# -- who reads and who writes ------------------------------------------------------------

ACCESS = {
    "cert-a": {AGREED: (True, True), OPEN: (True, True)},
    "csirt-a1": {AGREED: (True, False), OPEN: (True, False)},
    "cert-b": {AGREED: (True, True)},
    "cert-b-2": {AGREED: (True, True)},
    "telco-b1": {AGREED: (True, False), OPEN: (True, False)},
    "lab-b1": {AGREED: (True, False)},
    "op-b2": {AGREED: (True, False)},
    "plant-b2": {AGREED: (True, False)},
    "kiosk-b2": {AGREED: (True, False)},
    "ncsc": {AGREED: (True, True)},
    "cert-c": {AGREED: (True, False)},
    "sensor-p": {AGREED: (False, True)},
    "vendor-x": {},
}


@pytest.mark.parametrize(("user", "expected"), ACCESS.items(), ids=list(ACCESS))
def test_collections_follow_roles_and_parent_chains(
    client: TestClient, user: str, expected: dict[str, tuple[bool, bool]]
) -> None:
    listed = get(client, f"{ROOT}collections/", user).json().get("collections", [])
    assert {c["id"]: (c["can_read"], c["can_write"]) for c in listed} == expected
    for collection in (AGREED, OPEN):
        single = get(client, f"{ROOT}collections/{collection}/", user)
        assert single.status_code == (200 if collection in expected else 404)


def test_an_outsider_cannot_tell_the_collection_exists(client: TestClient) -> None:
    hidden = get(client, objects_url(), "vendor-x")
    unknown = get(client, objects_url("00000000-0000-4000-8000-000000000000"), "vendor-x")
    assert anonymous(hidden) == anonymous(unknown)
    assert hidden.status_code == 404


@pytest.mark.parametrize("user", ["csirt-a1", "telco-b1", "plant-b2", "cert-c"])
def test_consumers_and_constituents_cannot_write(client: TestClient, user: str) -> None:
    response = client.post(
        objects_url(),
        content=json.dumps({"objects": [indicator(1)]}),
        headers={**auth(user), "Content-Type": TAXII},
    )
    assert response.status_code == 403
    assert get(client, objects_url(), "cert-a").json() == {"more": False}


def test_a_producer_only_party_writes_but_does_not_read(client: TestClient) -> None:
    status = post(client, marked(1, GREEN), user="sensor-p")
    assert status["success_count"] == 1
    for path in (objects_url(), manifest_url(), object_url(uid("indicator", 1))):
        assert get(client, path, "sensor-p").status_code == 403
    assert seen_by(client, uid("indicator", 1)) == GREEN_READERS


def test_the_coordinator_reads_and_writes(client: TestClient) -> None:
    post(client, marked(1, STRICT), user="ncsc")
    assert seen_by(client, uid("indicator", 1)) == STRICT_READERS


# -- what each reader receives -----------------------------------------------------------


@pytest.mark.parametrize("marking", [CLEAR, WHITE_1], ids=["tlp2", "tlp1-white"])
def test_clear_reaches_every_reader(client: TestClient, marking: str) -> None:
    post(client, marked(1, marking))
    assert seen_by(client, uid("indicator", 1)) == EVERY_READER


@pytest.mark.parametrize("marking", [GREEN, GREEN_1], ids=["tlp2", "tlp1"])
def test_green_reaches_readers_whose_ceiling_allows_green(client: TestClient, marking: str) -> None:
    post(client, marked(1, marking))
    assert seen_by(client, uid("indicator", 1)) == GREEN_READERS


@pytest.mark.parametrize("marking", [AMBER, AMBER_1], ids=["tlp2", "tlp1"])
def test_amber_reaches_readers_whose_ceiling_allows_amber(client: TestClient, marking: str) -> None:
    post(client, marked(1, marking))
    assert seen_by(client, uid("indicator", 1)) == AMBER_READERS


def test_amber_strict_reaches_parties_themselves_not_constituents(client: TestClient) -> None:
    post(client, marked(1, STRICT))
    assert seen_by(client, uid("indicator", 1)) == STRICT_READERS


@pytest.mark.parametrize("marking", [RED, RED_1], ids=["tlp2", "tlp1"])
def test_red_reaches_listed_recipients_whose_ceiling_is_red(
    client: TestClient, marking: str
) -> None:
    listed = recipients("csirt-a1", "cert-b", "cert-c", "telco-b1", "ncsc", STRANGER)
    post(client, marked(1, marking, extensions=listed))
    # cert-b's party ceiling is amber, cert-c's own ceiling is amber, telco-b1's is green.
    assert seen_by(client, uid("indicator", 1)) == {"cert-a", "csirt-a1", "ncsc"}


def test_red_without_recipients_reaches_only_the_author(client: TestClient) -> None:
    post(client, marked(1, RED), user="cert-b")
    assert seen_by(client, uid("indicator", 1)) == {"cert-b"}


def test_unmarked_objects_follow_the_default_tlp_amber(client: TestClient) -> None:
    post(client, marked(1))
    assert seen_by(client, uid("indicator", 1)) == AMBER_READERS


class TestDefaultTlp:
    """``[hub] default_tlp`` decides for objects that carry no TLP marking."""

    EXPECTED: ClassVar[dict[str, set[str]]] = {
        "clear": EVERY_READER,
        "green": GREEN_READERS,
        "amber+strict": STRICT_READERS,
        "red": {"cert-a"},  # RED without recipients: the author only
    }
    # The same unmarked object naming csirt-a1 (ceiling red) and cert-b (ceiling amber).
    NARROWED: ClassVar[dict[str, set[str]]] = {
        "clear": {"cert-a", "csirt-a1", "cert-b"},
        "green": {"cert-a", "csirt-a1", "cert-b"},
        "amber+strict": {"cert-a", "csirt-a1", "cert-b"},
        "red": {"cert-a", "csirt-a1"},
    }

    @pytest.fixture(params=list(EXPECTED))
    def default_tlp(self, request: pytest.FixtureRequest) -> str:
        return str(request.param)

    @pytest.fixture
    def config_text(self, default_tlp: str) -> str:
        return make_config(default_tlp=default_tlp)

    def test_unmarked_objects_follow_the_default_tlp(
        self, client: TestClient, default_tlp: str
    ) -> None:
        post(client, marked(1))
        assert seen_by(client, uid("indicator", 1)) == self.EXPECTED[default_tlp]
        # A marked object is unaffected by the default.
        post(client, marked(2, GREEN))
        assert seen_by(client, uid("indicator", 2)) == GREEN_READERS
        post(client, marked(3, extensions=recipients("csirt-a1", "cert-b")))
        assert seen_by(client, uid("indicator", 3)) == self.NARROWED[default_tlp]


class TestRecipientsNarrowEveryLevel:
    """An object naming recipients reaches them alone, within their ceilings, at any TLP:
    how a CERT tells one operator about its own exposure without telling the others."""

    @pytest.mark.parametrize("marking", [CLEAR, GREEN, AMBER], ids=["clear", "green", "amber"])
    def test_only_named_recipients_within_their_ceiling(
        self, client: TestClient, marking: str
    ) -> None:
        post(client, marked(1, marking, extensions=recipients("telco-b1", "op-b2", STRANGER)))
        expected = {"cert-a", "op-b2"} | ({"telco-b1"} if marking != AMBER else set())
        assert seen_by(client, uid("indicator", 1)) == expected

    def test_amber_strict_reaches_a_named_constituent_with_an_amber_ceiling(
        self, client: TestClient
    ) -> None:
        # Without recipients a constituent never sees AMBER+STRICT; naming it is what
        # STRICT asks for, and its inherited ceiling (amber) allows it.
        post(client, marked(1, STRICT, extensions=recipients("plant-b2", "kiosk-b2")))
        assert seen_by(client, uid("indicator", 1)) == {"cert-a", "plant-b2"}

    def test_a_named_recipient_outside_the_collection_sees_nothing(
        self, client: TestClient
    ) -> None:
        post(client, marked(1, GREEN, extensions=recipients("vendor-x", "ncsc")))
        assert seen_by(client, uid("indicator", 1)) == {"cert-a", "ncsc"}

    def test_narrowed_objects_do_not_count_for_others_in_paging_or_headers(
        self, client: TestClient
    ) -> None:
        post(client, marked(1, GREEN, extensions=recipients("op-b2")))
        post(client, marked(2, GREEN))
        page = get(client, objects_url(), "telco-b1", limit="1", **{"match[type]": "indicator"})
        assert [o["id"] for o in page.json()["objects"]] == [uid("indicator", 2)]
        assert page.json().get("more", False) is False
        first = page.headers["X-TAXII-Date-Added-First"]
        assert first == page.headers["X-TAXII-Date-Added-Last"]
        manifest = get(client, manifest_url(), "telco-b1", **{"match[type]": "indicator"}).json()
        assert [o["id"] for o in manifest["objects"]] == [uid("indicator", 2)]
        hidden = get(client, object_url(uid("indicator", 1)), "telco-b1")
        assert hidden.status_code == 404


def test_the_authors_organisation_always_sees_its_own_versions(client: TestClient) -> None:
    post(client, marked(1, RED, version=0), user="cert-b")
    post(client, marked(1, RED, version=1), user="cert-a")
    post(client, marked(2, STRICT), user="cert-a")
    versions_url = object_url(uid("indicator", 1)) + "versions/"
    # Another account of the same organisation sees what cert-b posted; nobody else does.
    for user in ("cert-b", "cert-b-2"):
        assert get(client, versions_url, user).json()["versions"] == [ts(0)]
    assert get(client, versions_url, "cert-a").json()["versions"] == [ts(1)]
    assert get(client, versions_url, "ncsc").status_code == 404


# -- markings ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("object_refs", "granular", "expected"),
    [
        pytest.param([GREEN], [STRICT], STRICT_READERS, id="granular-stricter"),
        pytest.param([AMBER], [GREEN], AMBER_READERS, id="object-stricter"),
        pytest.param([], [GREEN, AMBER_1], AMBER_READERS, id="granular-only"),
        pytest.param([CLEAR], [RED_1], {"cert-a", "ncsc"}, id="granular-red"),
    ],
)
def test_the_strictest_tlp_on_any_part_governs_the_object(
    client: TestClient, object_refs: list[str], granular: list[str], expected: set[str]
) -> None:
    obj = marked(
        1,
        *object_refs,
        description="marked in part",
        granular_markings=[{"marking_ref": ref, "selectors": ["description"]} for ref in granular],
        # Recipients narrow every level, so only the RED case names them.
        **({"extensions": recipients("ncsc", "op-b2")} if RED_1 in granular else {}),
    )
    assert post(client, obj)["success_count"] == 1
    assert seen_by(client, uid("indicator", 1)) == expected


@pytest.mark.parametrize(
    "refs", [[GREEN, AMBER], [AMBER_1, STRICT], [WHITE_1, RED]], ids=["2+2", "1+2", "white+red"]
)
def test_two_tlp_levels_in_object_marking_refs_fail_that_object(
    client: TestClient, refs: list[str]
) -> None:
    status = post(client, marked(1, *refs), marked(2, GREEN))
    assert failure_ids(status) == [uid("indicator", 1)]
    assert "more than one TLP" in status["failures"][0]["message"]
    assert success_ids(status) == [uid("indicator", 2)]
    assert get(client, object_url(uid("indicator", 1)), "cert-a").status_code == 404


def test_the_same_level_twice_is_one_level(client: TestClient) -> None:
    assert post(client, marked(1, WHITE_1, CLEAR))["success_count"] == 1
    assert seen_by(client, uid("indicator", 1)) == EVERY_READER


IMPOSTOR_ID = "marking-definition--0badc0de-0000-4000-8000-000000000001"
IMPOSTORS = {
    "tlp-name": {
        "name": "TLP:RED",
        "definition_type": "statement",
        "definition": {"statement": "x"},
    },
    "tlp-type": {"definition_type": "tlp", "definition": {"tlp": "green"}},
    "tlp2-extension": {
        "name": "Restricted",
        "extensions": {
            "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d": {
                "extension_type": "property-extension",
                "tlp_2_0": "clear",
            }
        },
    },
}


def impostor(kind: str) -> dict[str, Any]:
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": IMPOSTOR_ID,
        "created": ts(0),
        **IMPOSTORS[kind],
    }


@pytest.mark.parametrize("kind", IMPOSTORS)
def test_a_marking_claiming_tlp_under_another_id_fails_with_its_referrers(
    client: TestClient, kind: str
) -> None:
    status = post(client, marked(1, IMPOSTOR_ID), impostor(kind), marked(2, GREEN))
    assert sorted(failure_ids(status)) == sorted([uid("indicator", 1), IMPOSTOR_ID])
    assert success_ids(status) == [uid("indicator", 2)]
    for object_id in (uid("indicator", 1), IMPOSTOR_ID):
        assert get(client, object_url(object_id), "cert-a").status_code == 404


def test_a_granular_reference_to_an_impostor_marking_fails_too(client: TestClient) -> None:
    referrer = marked(
        1,
        description="marked in part",
        granular_markings=[{"marking_ref": IMPOSTOR_ID, "selectors": ["description"]}],
    )
    status = post(client, referrer, impostor("tlp-name"), marked(2, GREEN))
    assert sorted(failure_ids(status)) == sorted([uid("indicator", 1), IMPOSTOR_ID])
    assert success_ids(status) == [uid("indicator", 2)]
    assert get(client, object_url(uid("indicator", 1)), "cert-a").status_code == 404


# -- definitions the hub adds ------------------------------------------------------------

OASIS_GREEN = {
    "type": "marking-definition",
    "spec_version": "2.1",
    "id": GREEN,
    "created": "2022-10-01T00:00:00.000Z",
    "name": "TLP:GREEN",
    "extensions": {
        "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d": {
            "extension_type": "property-extension",
            "tlp_2_0": "green",
        }
    },
}


def test_referenced_tlp_definitions_are_stored_once_and_visible_to_every_reader(
    client: TestClient,
) -> None:
    first = post(client, marked(1, GREEN))
    assert success_ids(first) == [uid("indicator", 1)]  # the status lists the posted objects
    post(client, marked(2, GREEN), marked(3, AMBER_1), user="cert-b")
    post(client, marked(4, GREEN, version=1), user="ncsc")
    for definition in (GREEN, AMBER_1):
        assert seen_by(client, definition) == EVERY_READER
        versions = get(client, object_url(definition) + "versions/", "kiosk-b2").json()
        assert len(versions["versions"]) == 1
    assert get(client, object_url(GREEN), "kiosk-b2").json()["objects"] == [OASIS_GREEN]
    amber_1 = get(client, object_url(AMBER_1), "kiosk-b2").json()["objects"][0]
    assert (amber_1["definition_type"], amber_1["definition"]) == ("tlp", {"tlp": "amber"})
    for unused in (CLEAR, AMBER, STRICT, RED, WHITE_1, GREEN_1, RED_1, RECIPIENTS):
        assert get(client, object_url(unused), "cert-a").status_code == 404


def test_the_recipients_extension_definition_is_stored_once_when_used(client: TestClient) -> None:
    post(client, marked(1, RED))
    assert get(client, object_url(RECIPIENTS), "cert-a").status_code == 404
    post(client, marked(2, RED, extensions=recipients("csirt-a1")))
    post(client, marked(3, AMBER, extensions=recipients("ncsc")), user="ncsc")
    definition = get(client, object_url(RECIPIENTS), "kiosk-b2").json()["objects"]
    assert len(definition) == 1
    assert definition[0]["type"] == "extension-definition"
    assert definition[0]["extension_types"] == ["property-extension"]
    assert seen_by(client, RECIPIENTS) == EVERY_READER


class TestDefaultTlpRed:
    @pytest.fixture
    def config_text(self) -> str:
        return make_config(default_tlp="red")

    def test_the_hubs_definitions_stay_clear_whatever_the_default_tlp(
        self, client: TestClient
    ) -> None:
        post(client, marked(1, RED, extensions=recipients("csirt-a1", "ncsc")))
        assert seen_by(client, uid("indicator", 1)) == {"cert-a", "csirt-a1", "ncsc"}
        assert seen_by(client, RECIPIENTS) == EVERY_READER
        assert seen_by(client, RED) == EVERY_READER


@pytest.mark.parametrize("definition_first", [True, False], ids=["before", "after"])
def test_a_posted_exact_copy_of_a_tlp_definition_is_the_hubs_single_copy(
    client: TestClient, definition_first: bool
) -> None:
    objects = [OASIS_GREEN, marked(1, GREEN)]
    status = post(client, *(objects if definition_first else objects[::-1]), user="cert-b")
    assert sorted(success_ids(status)) == sorted([GREEN, uid("indicator", 1)])
    assert success_ids(post(client, OASIS_GREEN, user="cert-a")) == [GREEN]
    assert seen_by(client, GREEN) == EVERY_READER
    served = get(client, object_url(GREEN), "kiosk-b2", **{"match[version]": "all"}).json()
    assert served["objects"] == [OASIS_GREEN]


def test_an_altered_text_under_a_tlp_definition_id_fails(client: TestClient) -> None:
    altered = {**OASIS_GREEN, "name": "TLP:CLEAR"}
    status = post(client, altered, marked(1, GREEN))
    assert failure_ids(status) == [GREEN]
    assert success_ids(status) == [uid("indicator", 1)]
    served = get(client, object_url(GREEN), "op-b2", **{"match[version]": "all"}).json()
    assert served["objects"] == [OASIS_GREEN]
    # Also before the collection holds the hub's copy.
    alone = {**OASIS_GREEN, "id": AMBER, "name": "TLP:AMBER"}
    assert failure_ids(post(client, alone)) == [AMBER]
    assert get(client, object_url(AMBER), "cert-a").status_code == 404


def test_a_posted_exact_copy_of_the_recipients_extension_definition_is_accepted(
    client: TestClient,
) -> None:
    post(client, marked(1, RED, extensions=recipients("ncsc")))
    fetched = get(client, object_url(RECIPIENTS), "ncsc").json()["objects"]
    status = post(client, *fetched, user="ncsc")
    assert success_ids(status) == [RECIPIENTS]


# -- created_by_ref ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("writer", "collection", "claimed", "accepted"),
    [
        pytest.param("cert-a", AGREED, "cert-a", True, id="own-identity"),
        pytest.param("sensor-p", AGREED, "sensor-p", True, id="producer-own-identity"),
        pytest.param("cert-a", AGREED, "cert-b", False, id="producer-claims-party"),
        pytest.param("cert-b", AGREED, "op-b2", False, id="producer-claims-own-constituent"),
        pytest.param("ncsc", AGREED, "cert-b", True, id="coordinator-claims-party"),
        pytest.param("ncsc", AGREED, "sensor-p", True, id="coordinator-claims-producer"),
        pytest.param("ncsc", AGREED, "telco-b1", True, id="coordinator-claims-constituent"),
        pytest.param("ncsc", AGREED, "plant-b2", True, id="coordinator-claims-grand"),
        pytest.param("ncsc", AGREED, "vendor-x", False, id="coordinator-claims-outsider"),
        pytest.param("ncsc", AGREED, "", False, id="coordinator-claims-stranger"),
        pytest.param("cert-a", OPEN, "cert-a", True, id="can-write-own"),
        pytest.param("cert-a", OPEN, "csirt-a1", False, id="can-write-claims-other"),
    ],
)
def test_created_by_ref_is_the_writers_identity_or_a_coordinators_member(
    client: TestClient, writer: str, collection: str, claimed: str, accepted: bool
) -> None:
    identity = IDENTITY[claimed] if claimed else STRANGER
    status = post(
        client,
        marked(1, GREEN, created_by_ref=identity),
        marked(2, GREEN),
        user=writer,
        collection=collection,
    )
    if accepted:
        assert success_ids(status) == [uid("indicator", 1), uid("indicator", 2)]
        assert (
            get(client, object_url(uid("indicator", 1), collection), "cert-a").json()["objects"][0][
                "created_by_ref"
            ]
            == identity
        )
    else:
        assert success_ids(status) == [uid("indicator", 2)]
        assert failure_ids(status) == [uid("indicator", 1)]
        assert "created_by_ref" in status["failures"][0]["message"]
        assert identity in status["failures"][0]["message"]
        assert get(client, object_url(uid("indicator", 1), collection), "cert-a").status_code == 404


# -- DELETE ------------------------------------------------------------------------------


def test_delete_removes_only_the_requesters_versions(client: TestClient) -> None:
    post(client, marked(1, GREEN, version=0), marked(1, GREEN, version=2), user="cert-a")
    post(client, marked(1, GREEN, version=1), user="cert-b")
    response = client.delete(object_url(uid("indicator", 1)), headers=auth("cert-a"))
    assert response.status_code == 200
    for user in ("cert-a", "cert-b", "op-b2"):
        versions = get(client, object_url(uid("indicator", 1)) + "versions/", user).json()
        assert versions["versions"] == [ts(1)]


def test_delete_of_one_version_by_another_account_of_the_author(client: TestClient) -> None:
    post(client, marked(1, AMBER, version=0), marked(1, AMBER, version=1), user="cert-b")
    url = object_url(uid("indicator", 1))
    response = client.delete(url, params={"match[version]": "first"}, headers=auth("cert-b-2"))
    assert response.status_code == 200
    assert get(client, url + "versions/", "cert-b").json()["versions"] == [ts(1)]


def test_delete_of_an_object_the_requester_cannot_see_is_404_like_a_missing_one(
    client: TestClient,
) -> None:
    post(client, marked(1, RED, extensions=recipients("ncsc")))
    hidden = client.delete(object_url(uid("indicator", 1)), headers=auth("cert-b"))
    missing = client.delete(object_url(uid("indicator", 99)), headers=auth("cert-b"))
    assert hidden.status_code == 404
    assert anonymous(hidden) == anonymous(missing)
    assert seen_by(client, uid("indicator", 1)) == {"cert-a", "ncsc"}


def test_delete_of_a_visible_object_with_no_own_version_is_403(client: TestClient) -> None:
    post(client, marked(1, GREEN))
    response = client.delete(object_url(uid("indicator", 1)), headers=auth("cert-b"))
    assert response.status_code == 403
    assert "author" in response.json()["description"]
    assert seen_by(client, uid("indicator", 1)) == GREEN_READERS


# -- side channels -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "suffix", "params"),
    [
        ("GET", "", {}),
        ("GET", "", {"match[version]": "all"}),
        ("GET", "", {"match[version]": "first"}),
        ("GET", "", {"match[version]": ts(0)}),
        ("GET", "versions/", {}),
        ("GET", "versions/", {"limit": "1"}),
        ("DELETE", "", {}),
        ("DELETE", "", {"match[version]": "last"}),
        ("HEAD", "", {}),
        ("HEAD", "versions/", {}),
    ],
)
def test_a_hidden_object_answers_exactly_like_a_missing_one(
    client: TestClient, method: str, suffix: str, params: dict[str, str]
) -> None:
    post(client, marked(1, STRICT), marked(1, RED, version=1))  # hidden from op-b2 and cert-c
    post(client, marked(2, RED, extensions=recipients("ncsc")))  # hidden from cert-b
    for user, hidden in (("op-b2", 1), ("cert-b", 2), ("cert-c", 2)):
        answers = [
            anonymous(
                client.request(
                    method,
                    object_url(uid("indicator", n)) + suffix,
                    params=params,
                    headers=auth(user),
                )
            )
            for n in (hidden, 99)
        ]
        expected = 403 if method == "DELETE" and user in ("op-b2", "cert-c") else 404
        assert answers[0][0] == expected
        assert answers[0] == answers[1]


def _pages(client: TestClient, url: str, user: str, limit: int, **params: str) -> list[Any]:
    """Every page of a paged read, following ``next``: (body, headers) pairs."""
    pages = []
    query = {"limit": str(limit), **params}
    while True:
        response = get(client, url, user, **query)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append((body, response.headers))
        if not body["more"]:
            assert "next" not in body
            return pages
        query = {"limit": str(limit), **params, "next": body["next"]}


def test_paging_and_headers_reveal_nothing_of_hidden_objects(client: TestClient) -> None:
    post(client, marked(1, AMBER))  # hidden from telco-b1, added first
    post(client, marked(2, GREEN), marked(3, CLEAR))
    post(client, marked(4, GREEN))
    post(client, marked(5, AMBER), marked(6))  # hidden from telco-b1, added last
    visible = [uid("indicator", n) for n in (2, 3, 4)]
    dates = {}
    for limit in (1, 2, 3, 50):
        pages = _pages(client, manifest_url(), "telco-b1", limit)
        records = [r for body, _ in pages for r in body.get("objects", [])]
        # The TLP definitions the hub added are CLEAR; only the indicators matter here.
        ours = [r for r in records if r["id"].startswith("indicator--")]
        assert [r["id"] for r in ours] == visible
        assert len(pages) == -(-len(records) // limit)  # no trailing empty page
        for body, headers in pages:
            assert headers["X-TAXII-Date-Added-First"] == body["objects"][0]["date_added"]
            assert headers["X-TAXII-Date-Added-Last"] == body["objects"][-1]["date_added"]
        dates = {r["id"]: r["date_added"] for r in records}
        objects = _pages(client, objects_url(), "telco-b1", limit)
        assert [o["id"] for body, _ in objects for o in body.get("objects", [])] == list(dates)
        assert [h["X-TAXII-Date-Added-Last"] for _, h in objects] == [
            h["X-TAXII-Date-Added-Last"] for _, h in pages
        ]
    last = max(dates.values())
    assert last == dates[uid("indicator", 4)]  # not moved by 5 and 6
    after = get(client, objects_url(), "telco-b1", added_after=last)
    assert after.json() == {"more": False}
    assert "X-TAXII-Date-Added-First" not in after.headers
    typed = get(client, objects_url(), "telco-b1", **{"match[type]": "indicator", "limit": "3"})
    assert typed.json()["more"] is False
    assert [o["id"] for o in typed.json()["objects"]] == visible
    assert typed.headers["X-TAXII-Date-Added-Last"] == dates[uid("indicator", 4)]
    by_id = get(client, objects_url(), "telco-b1", **{"match[id]": uid("indicator", 5)})
    assert by_id.json() == {"more": False}
    assert "X-TAXII-Date-Added-Last" not in by_id.headers


def test_posting_an_id_and_version_held_hidden_is_a_normal_new_write(client: TestClient) -> None:
    secret = marked(1, RED)  # seen by cert-a alone
    post(client, secret, user="cert-a")
    fresh = post(client, marked(2, RED), user="cert-b")
    other_text = post(client, marked(1, GREEN, name="cert-b's own"), user="cert-b")
    same_text = post(client, secret, user="ncsc")

    def shape(status: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in status.items() if k not in {"id", "request_timestamp"}}

    assert shape(fresh)["successes"] == [{"id": uid("indicator", 2), "version": ts(0)}]
    for status in (other_text, same_text):
        assert shape(status) == shape(fresh) | {
            "successes": [{"id": uid("indicator", 1), "version": ts(0)}]
        }
    names = {}
    for user in ("cert-a", "cert-b", "ncsc", "op-b2"):
        body = get(client, object_url(uid("indicator", 1)), user, **{"match[version]": "all"})
        names[user] = sorted(o["name"] for o in body.json()["objects"])
    assert names == {
        "cert-a": ["Indicator 1 v0", "cert-b's own"],
        "cert-b": ["cert-b's own"],
        "ncsc": ["Indicator 1 v0", "cert-b's own"],
        "op-b2": ["cert-b's own"],
    }


def test_identical_copies_from_two_authors_are_served_once(client: TestClient) -> None:
    post(client, marked(1, GREEN), marked(2, GREEN), user="cert-a")
    post(client, marked(1, GREEN), marked(2, GREEN, name="a conflict"), user="cert-b")
    for user in sorted(GREEN_READERS):
        one = get(client, object_url(uid("indicator", 1)), user, **{"match[version]": "all"})
        assert one.json()["objects"] == [marked(1, GREEN)]
        two = get(client, object_url(uid("indicator", 2)), user, **{"match[version]": "all"})
        assert sorted(o["name"] for o in two.json()["objects"]) == ["Indicator 2 v0", "a conflict"]
    versions = get(client, object_url(uid("indicator", 1)) + "versions/", "op-b2").json()
    assert versions["versions"] == [ts(0)]
    manifest = get(client, manifest_url(), "op-b2").json()["objects"]
    assert [r["id"] for r in manifest].count(uid("indicator", 1)) == 1
    # The author that deletes its copy leaves the other one served.
    assert client.delete(object_url(uid("indicator", 1)), headers=auth("cert-a")).status_code == 200
    for user in ("cert-a", "op-b2"):
        one = get(client, object_url(uid("indicator", 1)), user).json()["objects"]
        assert one == [marked(1, GREEN)]


def test_match_version_first_and_last_choose_among_visible_versions(client: TestClient) -> None:
    post(
        client,
        marked(1, RED, version=0),
        marked(1, GREEN, version=1),
        marked(1, AMBER, version=2),
        marked(1, RED, version=3),
    )
    url = object_url(uid("indicator", 1))

    def modified(user: str, path: str, version: str | None) -> list[str]:
        params = {"match[version]": version} if version else {}
        body = get(client, path, user, **params).json()
        return [o["modified"] for o in body.get("objects", []) if o["id"] == uid("indicator", 1)]

    expected = {
        "cert-a": {"last": [ts(3)], "first": [ts(0)], "all": [ts(0), ts(1), ts(2), ts(3)]},
        "op-b2": {"last": [ts(2)], "first": [ts(1)], "all": [ts(1), ts(2)]},
        "telco-b1": {"last": [ts(1)], "first": [ts(1)], "all": [ts(1)]},
    }
    for user, answers in expected.items():
        for path in (url, objects_url()):
            assert modified(user, path, None) == answers["last"]
            for version, wanted in answers.items():
                assert modified(user, path, version) == wanted
        manifest = get(client, manifest_url(), user, **{"match[version]": "last"}).json()
        assert [r["version"] for r in manifest["objects"] if r["id"] == uid("indicator", 1)] == (
            answers["last"]
        )
        assert get(client, url + "versions/", user).json()["versions"] == answers["all"]


def test_a_status_resource_is_shown_only_to_the_posting_organisation(client: TestClient) -> None:
    status = post(client, marked(1, GREEN), user="cert-b")
    url = f"{ROOT}status/{status['id']}/"
    assert get(client, url, "cert-b-2").json() == status
    missing = get(client, f"{ROOT}status/00000000-0000-4000-8000-000000000000/", "cert-a")
    for user in ("cert-a", "ncsc", "op-b2", "vendor-x"):
        foreign = get(client, url, user)
        assert foreign.status_code == 404
        assert anonymous(foreign) == anonymous(missing)


# -- collections that name their readers ---------------------------------------------------


@pytest.mark.parametrize(
    ("marking", "extra", "expected"),
    [
        pytest.param(CLEAR, {}, set(OPEN_READERS), id="clear"),
        pytest.param(GREEN, {}, set(OPEN_READERS), id="green"),
        pytest.param(AMBER, {}, {"cert-a", "csirt-a1"}, id="amber"),
        pytest.param(STRICT, {}, {"cert-a", "csirt-a1"}, id="amber-strict"),
        pytest.param(RED, {"extensions": recipients("csirt-a1", "telco-b1")}, {"cert-a"}, id="red"),
        pytest.param(None, {}, {"cert-a", "csirt-a1"}, id="unmarked"),
    ],
)
def test_can_read_collections_treat_readers_as_parties_capped_at_amber(
    client: TestClient, marking: str | None, extra: dict[str, Any], expected: set[str]
) -> None:
    refs = [marking] if marking else []
    post(client, marked(1, *refs, **extra), collection=OPEN)
    assert seen_by(client, uid("indicator", 1), OPEN) == expected
    # Constituents of a listed organisation are not readers of a can_read collection.
    assert get(client, objects_url(OPEN), "op-b2").status_code == 404
