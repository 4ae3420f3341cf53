"""Policy, rule by rule: who reads a collection, at which ceiling, who writes, who may claim.

One small hub.toml (parsed by the real :func:`parse_settings`) holds every shape the rules
distinguish; each parametrised case is one line: an organisation, a collection, the answer.

    gov (ceiling clear, no party)
    └── cert-a ─ party: producer+consumer, red
        ├── csirt-a1                     constituent
        └── sensor-a ─ party: producer   reads only through cert-a
    cert-b ─ party: producer+consumer, amber
    ├── telco-b1 (ceiling green)         constituent, own ceiling lowers
    │   └── lab-b1                       lowered by telco-b1 on the way up
    ├── op-b2                            constituent
    │   ├── plant-b2                     grand-constituent
    │   └── kiosk-b2 (ceiling clear)
    └── op-b3 ─ party: consumer, red     the nearest reading party decides
        └── plant-b3
    ncsc ─ party: coordinator, red
    sensor-p ─ party: producer
    cert-c (ceiling amber) ─ party: consumer, red
    cert-d (ceiling red) ─ party: consumer, green
    vendor-x ─ party of the other agreement only
"""

from __future__ import annotations

import pytest

from kakehashi.config import Collection, Settings, parse_settings
from kakehashi.policy import Access, Policy, Reader
from kakehashi.stix.markings import Tlp

AGREED = "aaaaaaaa-0000-4000-8000-000000000001"
OPEN = "aaaaaaaa-0000-4000-8000-000000000002"
CLEAR, GREEN, AMBER, STRICT, RED = Tlp.CLEAR, Tlp.GREEN, Tlp.AMBER, Tlp.AMBER_STRICT, Tlp.RED

# key -> (parent, own ceiling)
ORGS: dict[str, tuple[str, str]] = {
    "gov": ("", "clear"),
    "cert-a": ("gov", ""),
    "csirt-a1": ("cert-a", ""),
    "sensor-a": ("cert-a", ""),
    "cert-b": ("", ""),
    "telco-b1": ("cert-b", "green"),
    "lab-b1": ("telco-b1", ""),
    "op-b2": ("cert-b", ""),
    "plant-b2": ("op-b2", ""),
    "kiosk-b2": ("op-b2", "clear"),
    "op-b3": ("cert-b", ""),
    "plant-b3": ("op-b3", ""),
    "ncsc": ("", ""),
    "sensor-p": ("", ""),
    "cert-c": ("", "amber"),
    "cert-d": ("", "red"),
    "vendor-x": ("", ""),
}
IDENTITY = {
    key: f"identity--bbbbbbbb-0000-4000-8000-{index:012d}" for index, key in enumerate(ORGS)
}
STRANGER = "identity--cccccccc-0000-4000-8000-000000000000"
# agreement "cii": org -> (roles, party ceiling or "" for the default)
PARTIES: dict[str, tuple[list[str], str]] = {
    "cert-a": (["producer", "consumer"], "red"),
    "cert-b": (["producer", "consumer"], "amber"),
    "op-b3": (["consumer"], "red"),
    "ncsc": (["coordinator"], "red"),
    "sensor-p": (["producer"], ""),
    "sensor-a": (["producer"], "red"),
    "cert-c": (["consumer"], "red"),
    "cert-d": (["consumer"], "green"),
}


def config(default_tlp: str = "") -> str:
    lines = ['[hub]\ntitle = "policy"']
    if default_tlp:
        lines.append(f'default_tlp = "{default_tlp}"')
    for key, (parent, ceiling) in ORGS.items():
        lines.append(
            f'[[organizations]]\nkey = "{key}"\nname = "{key}"\nidentity = "{IDENTITY[key]}"'
        )
        if parent:
            lines.append(f'parent = "{parent}"')
        if ceiling:
            lines.append(f'ceiling = "{ceiling}"')
    lines.append('[[agreements]]\nkey = "cii"\ntitle = "CII"')
    for org, (roles, ceiling) in PARTIES.items():
        lines.append(f'[[agreements.parties]]\norganization = "{org}"\nroles = {roles!r}')
        if ceiling:
            lines.append(f'ceiling = "{ceiling}"')
    lines.append('[[agreements]]\nkey = "other"\ntitle = "Other"')
    lines.append('[[agreements.parties]]\norganization = "vendor-x"\nroles = ["producer"]')
    lines.append('[[api_roots]]\nname = "exchange"\ntitle = "Exchange"')
    lines.append(
        f'[[collections]]\nid = "{AGREED}"\napi_root = "exchange"\ntitle = "CII"\nagreement = "cii"'
    )
    lines.append(
        f'[[collections]]\nid = "{OPEN}"\napi_root = "exchange"\ntitle = "Open"\n'
        'can_read = ["cert-a", "telco-b1", "cert-d"]\ncan_write = ["cert-a", "cert-b"]'
    )
    return "\n".join(lines) + "\n"


SETTINGS: Settings = parse_settings(config(), environ={})
POLICY = Policy(SETTINGS)
COLLECTIONS = {c.id: c for c in SETTINGS.collections}


def coll(collection_id: str) -> Collection:
    return COLLECTIONS[collection_id]


@pytest.mark.parametrize(
    ("org", "collection", "expected"),
    [
        pytest.param("cert-a", AGREED, Reader(RED, party=True), id="party"),
        pytest.param("ncsc", AGREED, Reader(RED, party=True), id="coordinator-reads"),
        pytest.param("cert-c", AGREED, Reader(AMBER, party=True), id="org-ceiling-lowers-party"),
        pytest.param("csirt-a1", AGREED, Reader(RED, party=False), id="constituent"),
        pytest.param("op-b2", AGREED, Reader(AMBER, party=False), id="constituent-amber"),
        pytest.param("plant-b2", AGREED, Reader(AMBER, party=False), id="grand-constituent"),
        pytest.param("telco-b1", AGREED, Reader(GREEN, party=False), id="own-ceiling-lowers"),
        pytest.param("lab-b1", AGREED, Reader(GREEN, party=False), id="between-ceiling-lowers"),
        pytest.param("kiosk-b2", AGREED, Reader(CLEAR, party=False), id="own-ceiling-clear"),
        pytest.param("cert-d", AGREED, Reader(GREEN, party=True), id="own-ceiling-never-raises"),
        pytest.param("op-b3", AGREED, Reader(RED, party=True), id="nearest-party-decides"),
        pytest.param("plant-b3", AGREED, Reader(RED, party=False), id="nearest-party-of-child"),
        pytest.param("sensor-a", AGREED, Reader(RED, party=False), id="producer-reads-via-parent"),
        pytest.param("sensor-p", AGREED, None, id="producer-only-does-not-read"),
        pytest.param("gov", AGREED, None, id="ancestor-of-party-does-not-read"),
        pytest.param("vendor-x", AGREED, None, id="party-of-other-agreement"),
        pytest.param("nobody", AGREED, None, id="unknown-organisation"),
        pytest.param("cert-a", OPEN, Reader(AMBER, party=True), id="can-read-capped-amber"),
        pytest.param("cert-d", OPEN, Reader(AMBER, party=True), id="can-read-own-red-capped"),
        pytest.param("telco-b1", OPEN, Reader(GREEN, party=True), id="can-read-own-ceiling"),
        pytest.param("csirt-a1", OPEN, None, id="can-read-has-no-constituents"),
        pytest.param("cert-b", OPEN, None, id="can-write-only-does-not-read"),
        pytest.param("nobody", OPEN, None, id="can-read-unknown-organisation"),
    ],
)
def test_reader(org: str, collection: str, expected: Reader | None) -> None:
    assert POLICY.reader(org, coll(collection)) == expected


def test_ceilings_above_the_reading_party_do_not_apply() -> None:
    # gov (ceiling clear) is cert-a's parent, yet cert-a and its constituents read at RED.
    assert POLICY.reader("cert-a", coll(AGREED)) == Reader(RED, party=True)
    assert POLICY.reader("csirt-a1", coll(AGREED)) == Reader(RED, party=False)


@pytest.mark.parametrize(
    ("org", "collection", "expected"),
    [
        pytest.param("cert-a", AGREED, True, id="producer"),
        pytest.param("ncsc", AGREED, True, id="coordinator"),
        pytest.param("sensor-p", AGREED, True, id="producer-only"),
        pytest.param("cert-c", AGREED, False, id="consumer"),
        pytest.param("csirt-a1", AGREED, False, id="constituent-of-producer"),
        pytest.param("plant-b2", AGREED, False, id="grand-constituent"),
        pytest.param("vendor-x", AGREED, False, id="producer-of-other-agreement"),
        pytest.param("gov", AGREED, False, id="parent-of-producer"),
        pytest.param("nobody", AGREED, False, id="unknown-organisation"),
        pytest.param("cert-a", OPEN, True, id="can-write"),
        pytest.param("cert-b", OPEN, True, id="can-write-only"),
        pytest.param("telco-b1", OPEN, False, id="can-read-only"),
        pytest.param("csirt-a1", OPEN, False, id="constituent-of-can-write"),
    ],
)
def test_may_write(org: str, collection: str, expected: bool) -> None:
    assert POLICY.may_write(org, coll(collection)) is expected


@pytest.mark.parametrize(
    ("org", "collection", "expected"),
    [
        pytest.param("cert-a", AGREED, Access(can_read=True, can_write=True), id="both"),
        pytest.param("csirt-a1", AGREED, Access(can_read=True, can_write=False), id="read"),
        pytest.param("sensor-p", AGREED, Access(can_read=False, can_write=True), id="write"),
        pytest.param("vendor-x", AGREED, Access(can_read=False, can_write=False), id="none"),
        pytest.param("cert-b", OPEN, Access(can_read=False, can_write=True), id="open-write"),
        pytest.param("telco-b1", OPEN, Access(can_read=True, can_write=False), id="open-read"),
        pytest.param("ncsc", OPEN, Access(can_read=False, can_write=False), id="open-none"),
    ],
)
def test_access(org: str, collection: str, expected: Access) -> None:
    access = POLICY.access(org, coll(collection))
    assert access == expected
    assert access.visible is (expected.can_read or expected.can_write)


@pytest.mark.parametrize(
    ("org", "collection", "open_level", "strict", "recipient_level"),
    [
        pytest.param("cert-a", AGREED, AMBER, True, RED, id="party-red"),
        pytest.param("ncsc", AGREED, AMBER, True, RED, id="coordinator-red"),
        pytest.param("csirt-a1", AGREED, AMBER, False, RED, id="constituent-red-no-strict"),
        pytest.param("cert-b", AGREED, AMBER, True, STRICT, id="party-amber"),
        pytest.param("cert-c", AGREED, AMBER, True, STRICT, id="party-lowered-to-amber"),
        pytest.param("op-b2", AGREED, AMBER, False, STRICT, id="constituent-amber"),
        pytest.param("plant-b2", AGREED, AMBER, False, STRICT, id="grand-constituent"),
        pytest.param("telco-b1", AGREED, GREEN, False, GREEN, id="constituent-green"),
        pytest.param("kiosk-b2", AGREED, CLEAR, False, CLEAR, id="constituent-clear"),
        pytest.param("cert-d", AGREED, GREEN, False, GREEN, id="party-green-no-strict"),
        pytest.param("op-b3", AGREED, AMBER, True, RED, id="nearest-party-red"),
        pytest.param("plant-b3", AGREED, AMBER, False, RED, id="constituent-of-near-party"),
        pytest.param("cert-a", OPEN, AMBER, True, STRICT, id="can-read-strict-never-red"),
        pytest.param("telco-b1", OPEN, GREEN, False, GREEN, id="can-read-green"),
    ],
)
def test_visibility_fields(
    org: str, collection: str, open_level: Tlp, strict: bool, recipient_level: Tlp
) -> None:
    visibility = POLICY.visibility(org, coll(collection))
    assert visibility is not None
    assert (visibility.open_level, visibility.strict) == (open_level, strict)
    assert visibility.recipient_level is recipient_level
    assert visibility.organization == org
    assert visibility.identity == IDENTITY[org]
    assert visibility.default_tlp is AMBER
    assert visibility.everything is False


@pytest.mark.parametrize(
    ("org", "collection"),
    [("sensor-p", AGREED), ("vendor-x", AGREED), ("gov", AGREED), ("cert-b", OPEN)],
)
def test_no_visibility_for_non_readers(org: str, collection: str) -> None:
    assert POLICY.visibility(org, coll(collection)) is None


@pytest.mark.parametrize("level", ["clear", "green", "amber", "amber+strict", "red"])
def test_visibility_carries_the_hub_default_tlp(level: str) -> None:
    policy = Policy(parse_settings(config(default_tlp=level), environ={}))
    visibility = policy.visibility("cert-a", coll(AGREED))
    assert visibility is not None
    assert visibility.default_tlp is Tlp.parse(level)


@pytest.mark.parametrize(
    ("writer", "collection", "claimed", "expected"),
    [
        pytest.param("cert-a", AGREED, "cert-a", True, id="own-identity"),
        pytest.param("sensor-p", AGREED, "sensor-p", True, id="producer-own-identity"),
        pytest.param("cert-a", AGREED, "cert-b", False, id="producer-claims-party"),
        pytest.param("cert-a", AGREED, "csirt-a1", False, id="producer-claims-constituent"),
        pytest.param("ncsc", AGREED, "ncsc", True, id="coordinator-own"),
        pytest.param("ncsc", AGREED, "cert-b", True, id="coordinator-claims-party"),
        pytest.param("ncsc", AGREED, "sensor-p", True, id="coordinator-claims-producer"),
        pytest.param("ncsc", AGREED, "op-b2", True, id="coordinator-claims-constituent"),
        pytest.param("ncsc", AGREED, "plant-b2", True, id="coordinator-claims-grand"),
        pytest.param("ncsc", AGREED, "vendor-x", False, id="coordinator-claims-other-party"),
        pytest.param("ncsc", AGREED, "gov", False, id="coordinator-claims-ancestor"),
        pytest.param("ncsc", AGREED, "", False, id="coordinator-claims-stranger"),
        pytest.param("cert-a", OPEN, "cert-a", True, id="can-write-own"),
        pytest.param("cert-a", OPEN, "cert-b", False, id="can-write-claims-other"),
        pytest.param("nobody", AGREED, "cert-a", False, id="unknown-writer"),
    ],
)
def test_may_claim(writer: str, collection: str, claimed: str, expected: bool) -> None:
    identity = IDENTITY[claimed] if claimed else STRANGER
    assert POLICY.may_claim(writer, coll(collection), identity) is expected
