"""Property: every reader receives exactly what the sharing rules say, on every read path.

Hypothesis draws a world — organisations with random parents (no cycles) and ceilings,
one or two agreements with random parties, roles and ceilings, a hub default TLP, and
objects with random TLP markings (TLP 1.0 or 2.0, object-level and granular, or none),
random TLP:RED recipients, a random ``created_by_ref`` and a random author among the
writers; several versions of some ids, the same id and version from several authors (a
different text each, or one identical text), and now and then a writer posting the exact
text of a TLP definition. The objects are posted over HTTP to a fresh app (on SQLite and
PostgreSQL; every example gets its own collection id, so the store needs no reset), and
then every organisation reads everything: objects (all versions, paged with a small limit,
following ``next``), the manifest (paged, headers checked against ``date_added``),
``match[version]=first`` and ``last``, and each id by GET object and GET versions; an id
with nothing visible must answer exactly like one never posted. Each answer is compared
with :class:`Model`, a plain restatement of the rules that does not use
``kakehashi.policy``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from conftest import TAXII
from kakehashi.api import create_app
from kakehashi.config import parse_settings
from kakehashi.stix.markings import definition_objects
from kakehashi.store import Store
from stixgen import indicator, ts, uid

LEVELS = ("clear", "green", "amber", "amber+strict", "red")  # the index is the rank
CLEAR, GREEN, AMBER, STRICT, RED = range(5)
TLP2_CREATED = "2022-10-01T00:00:00.000Z"
TLP1_CREATED = "2017-01-20T00:00:00.000Z"
# marking id -> (level, the version the hub's copy of its definition carries)
MARKINGS: dict[str, tuple[int, str]] = {
    "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487": (CLEAR, TLP2_CREATED),
    "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb": (GREEN, TLP2_CREATED),
    "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421": (AMBER, TLP2_CREATED),
    "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003": (STRICT, TLP2_CREATED),
    "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1": (RED, TLP2_CREATED),
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": (CLEAR, TLP1_CREATED),
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": (GREEN, TLP1_CREATED),
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": (AMBER, TLP1_CREATED),
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": (RED, TLP1_CREATED),
}
# Drawn more often: the levels whose rules have the most conditions.
SKEWED = [m for m, (level, _) in MARKINGS.items() if level in (STRICT, RED)]
ORG_CEILINGS = (None, None, None, CLEAR, GREEN, AMBER, STRICT, RED)
PARTY_CEILINGS = (RED, None, CLEAR, GREEN, AMBER, STRICT, RED)
RECIPIENTS = "extension-definition--9067863b-bbbc-4e1b-bbe4-76f6ecec33c2"
RECIPIENTS_VERSION = "2026-11-28T00:00:00.000Z"
ROLES = ("producer", "consumer", "coordinator")
READING = frozenset({"consumer", "coordinator"})
WRITING = frozenset({"producer", "coordinator"})
STRANGER = "identity--eeeeeeee-0000-4000-8000-999999999999"
NEVER_POSTED = uid("indicator", 999)
HUB = "hub"  # the tag of what the hub itself stores
SHARED = "shared"  # the tag of texts that several authors may post identically
# The exact texts of the TLP definitions, as a writer may post them too.
OFFICIAL = {d["id"]: d for d in definition_objects(set(MARKINGS), recipients=False)}


def key(org: int) -> str:
    return f"org-{org}"


def identity(org: int) -> str:
    return f"identity--eeeeeeee-0000-4000-8000-{org:012d}"


def token(org: int) -> str:
    return f"token-{org}-0123456789"


# -- the world ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Party:
    roles: frozenset[str]
    ceiling: int | None  # None: not set in the file (the default, amber)


@dataclass(frozen=True)
class Entry:
    """One object version some writer posts."""

    n: int
    version: int
    author: int
    object_ref: str | None
    granular_ref: str | None
    recipients: tuple[str, ...]  # () = no recipients extension
    claim: str | None  # created_by_ref
    shared: bool = False  # the same text as every other shared entry of this id and version

    @property
    def tag(self) -> str:
        return SHARED if self.shared else key(self.author)

    def stix(self) -> dict[str, Any]:
        extra: dict[str, Any] = {"x_author": self.tag, "name": f"{self.tag}/{self.n}"}
        if self.object_ref:
            extra["object_marking_refs"] = [self.object_ref]
        if self.granular_ref:
            extra["granular_markings"] = [{"marking_ref": self.granular_ref, "selectors": ["name"]}]
        if self.recipients:
            extra["extensions"] = {
                RECIPIENTS: {"extension_type": "property-extension", "recipients": self.recipients}
            }
        if self.claim:
            extra["created_by_ref"] = self.claim
        return indicator(self.n, version=self.version, **extra)


@dataclass(frozen=True)
class Envelope:
    """One POST: its author and its items, object versions or (a str) the exact text of a
    TLP definition, which any writer may post too."""

    author: int
    items: tuple[Entry | str, ...]

    def stix(self) -> list[dict[str, Any]]:
        return [OFFICIAL[i] if isinstance(i, str) else i.stix() for i in self.items]


@dataclass(frozen=True)
class World:
    parents: tuple[int | None, ...]
    ceilings: tuple[int | None, ...]
    agreements: tuple[dict[int, Party], ...]  # the collection follows the first
    default_tlp: int
    envelopes: tuple[Envelope, ...]
    limit: int

    @property
    def orgs(self) -> range:
        return range(len(self.parents))

    def config(self, collection: str) -> str:
        parts = ['[hub]\ntitle = "property"', f'default_tlp = "{LEVELS[self.default_tlp]}"']
        for org in self.orgs:
            parts.append(
                f'[[organizations]]\nkey = "{key(org)}"\nname = "{key(org)}"\n'
                f'identity = "{identity(org)}"'
            )
            parent, ceiling = self.parents[org], self.ceilings[org]
            if parent is not None:
                parts.append(f'parent = "{key(parent)}"')
            if ceiling is not None:
                parts.append(f'ceiling = "{LEVELS[ceiling]}"')
            digest = hashlib.sha256(token(org).encode()).hexdigest()
            parts.append(
                f'[[accounts]]\nusername = "{key(org)}"\norganization = "{key(org)}"\n'
                f'token_sha256 = "{digest}"'
            )
        for index, agreement in enumerate(self.agreements):
            parts.append(f'[[agreements]]\nkey = "ag-{index}"\ntitle = "Agreement {index}"')
            for org, party in agreement.items():
                parts.append(
                    f'[[agreements.parties]]\norganization = "{key(org)}"\n'
                    f"roles = {json.dumps(sorted(party.roles))}"
                )
                if party.ceiling is not None:
                    parts.append(f'ceiling = "{LEVELS[party.ceiling]}"')
        parts.append('[[api_roots]]\nname = "exchange"\ntitle = "Exchange"')
        parts.append(
            f'[[collections]]\nid = "{collection}"\napi_root = "exchange"\ntitle = "Shared"\n'
            'agreement = "ag-0"'
        )
        return "\n".join(parts) + "\n"


@st.composite
def worlds(draw: st.DrawFn) -> World:
    count = draw(st.integers(3, 7))
    # Parents drawn among all earlier organisations (no cycles), so chains are often deep.
    parents = (None, *(draw(st.sampled_from([None, *range(i)])) for i in range(1, count)))
    # Skewed towards what makes RED and AMBER+STRICT reachable: few organisation ceilings.
    ceilings = tuple(draw(st.sampled_from(ORG_CEILINGS)) for _ in range(count))

    def agreement() -> dict[int, Party]:
        members = [org for org in range(count) if draw(st.booleans())] or [0]
        return {
            org: Party(
                roles=frozenset(draw(st.sets(st.sampled_from(ROLES), min_size=1))),
                ceiling=draw(st.sampled_from(PARTY_CEILINGS)),
            )
            for org in members
        }

    agreements = tuple(agreement() for _ in range(draw(st.integers(1, 2))))
    shared_under = agreements[0]
    if not any(party.roles & WRITING for party in shared_under.values()):
        first = min(shared_under)  # somebody must write, or there is nothing to read
        shared_under[first] = Party(
            shared_under[first].roles | {"producer"}, shared_under[first].ceiling
        )
    writers = sorted(org for org, party in agreements[0].items() if party.roles & WRITING)
    identities = [identity(org) for org in range(count)] + [STRANGER]
    object_marking = st.sampled_from([None, None, None, *sorted(MARKINGS), *SKEWED])
    granular_marking = st.sampled_from([None] * len(MARKINGS) + sorted(MARKINGS))

    def entry(n: int, version: int, author: int, shared: bool) -> Entry:
        own = () if shared else (identity(author),)
        return Entry(
            n=n,
            version=version,
            author=author,
            object_ref=draw(object_marking),
            granular_ref=draw(granular_marking),
            recipients=tuple(i for i in identities if draw(st.booleans())),
            claim=draw(st.none() | st.sampled_from([*own, *identities])),
            shared=shared,
        )

    entries: dict[tuple[int, int, int], Entry] = {}
    for n in range(draw(st.integers(1, 5))):
        shared_text: Entry | None = None  # one version several authors post identically
        for _ in range(draw(st.integers(1, 4))):
            shared = draw(st.booleans())
            version = draw(st.integers(0, 2))
            if shared and shared_text is not None:
                version = shared_text.version
            others = [w for w in writers if (n, version, w) not in entries]
            author = draw(st.sampled_from(others or writers))
            if (n, version, author) in entries:
                continue
            if shared:
                shared_text = shared_text or entry(n, version, author, True)
                entries[n, version, author] = Entry(**{**vars(shared_text), "author": author})
            else:
                entries[n, version, author] = entry(n, version, author, False)
    order = draw(st.permutations(list(entries.values())))
    groups: list[list[Entry]] = []
    for item in order:  # consecutive versions by one author travel together, up to 4
        if groups and groups[-1][0].author == item.author and len(groups[-1]) < 4:
            groups[-1].append(item)
        else:
            groups.append([item])
    envelopes = []
    for group in groups:
        items: list[Entry | str] = list(group)
        posted = draw(st.none() | st.sampled_from(sorted(OFFICIAL)))
        if posted is not None:
            items.insert(draw(st.integers(0, len(items))), posted)
        envelopes.append(Envelope(group[0].author, tuple(items)))
    return World(
        parents=parents,
        ceilings=ceilings,
        agreements=agreements,
        default_tlp=draw(st.integers(0, 4)),
        envelopes=tuple(envelopes),
        limit=draw(st.integers(1, 4)),
    )


# -- the rules, restated -----------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One stored version as the model expects it."""

    id: str
    version: str
    author: int | None  # None: the hub
    level: int | None  # None: unmarked
    recipients: tuple[str, ...]
    tag: str  # who wrote the text: an organisation, SHARED or HUB


class Model:
    def __init__(self, world: World) -> None:
        self.world = world
        self.agreement = world.agreements[0]

    def chain(self, org: int) -> list[int]:
        out = [org]
        while (parent := self.world.parents[out[-1]]) is not None:
            out.append(parent)
        return out

    def reader(self, org: int) -> tuple[int, bool] | None:
        """(ceiling, is a party itself), or None for an organisation that does not read.

        The nearest organisation up the parent chain that is a consumer or coordinator
        party decides; its party ceiling is lowered by every organisation ceiling from the
        reader up to it. Is a party itself: that organisation is the reader.
        """
        chain = self.chain(org)
        for depth, member in enumerate(chain):
            party = self.agreement.get(member)
            if party is not None and party.roles & READING:
                ceiling = AMBER if party.ceiling is None else party.ceiling
                for lower in chain[: depth + 1]:
                    own = self.world.ceilings[lower]
                    if own is not None and own < ceiling:
                        ceiling = own
                return ceiling, depth == 0
        return None

    def writes(self, org: int) -> bool:
        party = self.agreement.get(org)
        return party is not None and bool(party.roles & WRITING)

    def may_claim(self, author: int, claim: str | None) -> bool:
        if claim is None or claim == identity(author):
            return True
        party = self.agreement[author]
        if "coordinator" not in party.roles:
            return False
        claimed = next((o for o in self.world.orgs if identity(o) == claim), None)
        return claimed is not None and any(o in self.agreement for o in self.chain(claimed))

    def sees(self, viewer: int, row: Row) -> bool:
        if row.author == viewer:
            return True
        reader = self.reader(viewer)
        assert reader is not None
        ceiling, party = reader
        level = self.world.default_tlp if row.level is None else row.level
        if row.recipients:  # named recipients narrow the audience at every level
            admitted = STRICT if ceiling == AMBER else ceiling
            return identity(viewer) in row.recipients and level <= admitted
        if level == STRICT:
            return party and ceiling >= AMBER
        if level == RED:
            return False  # RED without recipients: the author only
        return ceiling >= level  # CLEAR, GREEN, AMBER

    def served(self, viewer: int, rows: list[Row]) -> list[Row]:
        """What ``viewer`` receives: the rows it may see, an identical text (same id,
        version and text from several authors) once, the first added."""
        out: list[Row] = []
        for row in rows:
            if not self.sees(viewer, row):
                continue
            if row.tag == SHARED and any(
                (r.id, r.version, r.tag) == (row.id, row.version, SHARED) for r in out
            ):
                continue
            out.append(row)
        return out

    def store(self) -> tuple[list[Row], list[tuple[list[str], list[str]]]]:
        """The rows in date_added order, and (successes, failures) ids per envelope.

        Before an envelope's objects the hub stores, once per collection, the OASIS
        definitions of the TLP markings the accepted objects reference, then the recipients
        extension-definition if one of them uses it; both belong to the hub and are CLEAR.
        A TLP definition a writer posts is the hub's single copy too.
        """
        rows: list[Row] = []
        statuses: list[tuple[list[str], list[str]]] = []
        defined: set[str] = set()

        def define(definition: str, version: str) -> None:
            if definition not in defined:
                rows.append(Row(definition, version, None, CLEAR, (), HUB))
                defined.add(definition)

        for envelope in self.world.envelopes:
            accepted = [
                i for i in envelope.items if isinstance(i, str) or self.may_claim(i.author, i.claim)
            ]
            entries = [i for i in accepted if isinstance(i, Entry)]
            refused = [i for i in envelope.items if isinstance(i, Entry) and i not in accepted]
            statuses.append(
                (
                    [i if isinstance(i, str) else uid("indicator", i.n) for i in accepted],
                    [uid("indicator", i.n) for i in refused],
                )
            )
            used = {ref for e in entries for ref in (e.object_ref, e.granular_ref) if ref}
            for marking in sorted(used):
                define(marking, MARKINGS[marking][1])
            if any(e.recipients for e in entries):
                define(RECIPIENTS, RECIPIENTS_VERSION)
            for item in accepted:
                if isinstance(item, str):
                    define(item, MARKINGS[item][1])
                    continue
                levels = [MARKINGS[r][0] for r in (item.object_ref, item.granular_ref) if r]
                rows.append(
                    Row(
                        uid("indicator", item.n),
                        ts(item.version),
                        item.author,
                        max(levels) if levels else None,
                        item.recipients,
                        item.tag,
                    )
                )
        return rows, statuses


# -- reading over HTTP -------------------------------------------------------------------


def auth(org: int) -> dict[str, str]:
    raw = f"{key(org)}:{token(org)}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode(), "Accept": TAXII}


def version_of(obj: dict[str, Any]) -> str:
    return str(obj.get("modified", obj.get("created")))


def paged(
    client: TestClient, url: str, org: int, limit: int, params: dict[str, str], member: str
) -> list[tuple[list[Any], Any]]:
    """Follow ``next`` to the end: (items, response headers) for each page."""
    pages = []
    query = {**params, "limit": str(limit)}
    while True:
        response = client.get(url, params=query, headers=auth(org))
        assert response.status_code == 200, response.text
        body = response.json()
        items = body.get(member, [])
        pages.append((items, response.headers))
        if not body["more"]:
            assert "next" not in body
            return pages
        assert len(pages) < 100
        query = {**params, "limit": str(limit), "next": body["next"]}


def page_sizes(total: int, limit: int) -> list[int]:
    if total == 0:
        return [0]
    return [min(limit, total - start) for start in range(0, total, limit)]


def anonymous(response: Any) -> tuple[int, dict[str, Any]]:
    body = dict(response.json())
    body.pop("error_id", None)
    return response.status_code, body


def check_reader(client: TestClient, base: str, model: Model, rows: list[Row], org: int) -> None:
    world = model.world
    visible = model.served(org, rows)
    # Objects, every version, paged.
    pages = paged(client, base + "objects/", org, world.limit, {"match[version]": "all"}, "objects")
    assert [len(items) for items, _ in pages] == page_sizes(len(visible), world.limit)
    served = [(o["id"], version_of(o), o.get("x_author", HUB)) for items, _ in pages for o in items]
    assert served == [(r.id, r.version, r.tag) for r in visible]
    # The manifest, paged; its headers name the first and last date_added of each page.
    manifest = paged(
        client, base + "manifest/", org, world.limit, {"match[version]": "all"}, "objects"
    )
    assert [len(items) for items, _ in manifest] == page_sizes(len(visible), world.limit)
    records = [record for items, _ in manifest for record in items]
    assert [(r["id"], r["version"]) for r in records] == [(r.id, r.version) for r in visible]
    stamps = [r["date_added"] for r in records]
    assert stamps == sorted(stamps)
    assert len(set(stamps)) == len(stamps)
    for (items, headers), (object_items, object_headers) in zip(manifest, pages, strict=True):
        if items:
            assert headers["X-TAXII-Date-Added-First"] == items[0]["date_added"]
            assert headers["X-TAXII-Date-Added-Last"] == items[-1]["date_added"]
            assert object_headers["X-TAXII-Date-Added-Last"] == items[-1]["date_added"]
        else:
            assert not object_items
            assert "X-TAXII-Date-Added-First" not in headers
            assert "X-TAXII-Date-Added-Last" not in object_headers
    # First and last among the versions this reader may see.
    for which, pick in (("last", max), ("first", min)):
        chosen = {
            object_id: pick(r.version for r in visible if r.id == object_id)
            for object_id in {r.id for r in visible}
        }
        body = client.get(
            base + "objects/", params={"match[version]": which}, headers=auth(org)
        ).json()
        assert [
            (o["id"], version_of(o), o.get("x_author", HUB)) for o in body.get("objects", [])
        ] == [(r.id, r.version, r.tag) for r in visible if r.version == chosen[r.id]]
    # Every id, one by one; an id with nothing visible answers like one never posted.
    missing = [
        anonymous(client.get(f"{base}objects/{NEVER_POSTED}/{suffix}", headers=auth(org)))
        for suffix in ("", "versions/")
    ]
    for object_id in sorted({r.id for r in rows} | {NEVER_POSTED}):
        mine = [r for r in visible if r.id == object_id]
        one = client.get(
            f"{base}objects/{object_id}/", params={"match[version]": "all"}, headers=auth(org)
        )
        versions = client.get(f"{base}objects/{object_id}/versions/", headers=auth(org))
        if not mine:
            assert [anonymous(one), anonymous(versions)] == missing
            assert missing[0][0] == 404
            continue
        assert one.status_code == 200, one.text
        assert [
            (o["id"], version_of(o), o.get("x_author", HUB)) for o in one.json()["objects"]
        ] == [(r.id, r.version, r.tag) for r in mine]
        assert versions.json()["versions"] == [r.version for r in mine]


@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(world=worlds())
def test_every_reader_receives_exactly_what_the_rules_allow(store: Store, world: World) -> None:
    collection = str(uuid.uuid4())
    base = f"/exchange/collections/{collection}/"
    model = Model(world)
    rows, statuses = model.store()
    app = create_app(
        parse_settings(world.config(collection), environ={}), store, manage_store=False
    )
    with TestClient(app, base_url="http://hub.test") as client:
        for envelope, (successes, failures) in zip(world.envelopes, statuses, strict=True):
            response = client.post(
                base + "objects/",
                content=json.dumps({"objects": envelope.stix()}),
                headers={**auth(envelope.author), "Content-Type": TAXII},
            )
            assert response.status_code == 202, response.text
            status = response.json()
            assert [s["id"] for s in status.get("successes", [])] == successes
            assert [f["id"] for f in status.get("failures", [])] == failures
            assert all("created_by_ref" in f["message"] for f in status.get("failures", []))
        for org in world.orgs:
            reader, writer = model.reader(org), model.writes(org)
            collection_resource = client.get(base, headers=auth(org))
            if reader is None and not writer:
                assert collection_resource.status_code == 404
                assert client.get(base + "objects/", headers=auth(org)).status_code == 404
                continue
            flags = collection_resource.json()
            assert (flags["can_read"], flags["can_write"]) == (reader is not None, writer)
            if reader is None:
                assert client.get(base + "objects/", headers=auth(org)).status_code == 403
                continue
            check_reader(client, base, model, rows, org)
