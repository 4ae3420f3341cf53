"""The audit trail: what is written, released and deleted, in a tamper-evident chain.

Runs on SQLite and PostgreSQL (the ``store`` and ``client`` fixtures). Tampering is done
the way an intruder with database access would do it: plain SQL on the tables, behind the
hub's back; :func:`kakehashi.audit.verify_chain` must then name the first record that does
not fit and say why.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from conftest import (
    API_ROOT,
    CONFIG_TEXT,
    TAXII,
    basic,
    envelope,
    objects_url,
    post_headers,
)
from kakehashi.audit import (
    GENESIS_HASH,
    AuditAction,
    AuditEntry,
    AuditRecord,
    chain_hash,
    verify_chain,
)
from kakehashi.errors import StoreError
from kakehashi.stix.markings import definition_objects
from kakehashi.stix.timestamps import now_us
from kakehashi.stix.validate import validate_object
from kakehashi.stix.visibility import Visibility
from kakehashi.store import ObjectQuery, Store, VersionSelector, WriteRequest
from stixgen import indicator, malware, uid

AB = "0b7e5a2c-4d3f-4e1a-9b8c-7d6e5f4a3b2c"
AGREEMENT = "ab-2020"
CERT_B_IDENTITY = "identity--a8d3c6f2-7d1e-4c55-8a0b-3e6f9b2c4d22"
CERT_D_IDENTITY = "identity--d4d4d4d4-7d1e-4c55-8a0b-3e6f9b2c4d22"
# OASIS TLP 2.0 marking definitions (written out here, not taken from the code under test).
TLP_GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
TLP_AMBER = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
TLP_RED = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"
RECIPIENTS = "extension-definition--9067863b-bbbc-4e1b-bbe4-76f6ecec33c2"

# The test hub plus the agreement between CERT A and CERT B, and a collection bound
# to it. CERT D is in no agreement.
AGREEMENT_CONFIG = (
    CONFIG_TEXT
    + f"""
[[agreements]]
key = "{AGREEMENT}"
title = "A-B cybersecurity cooperation"
sectors = ["cii", "5g", "iot", "ai"]
  [[agreements.parties]]
  organization = "cert-a"
  roles = ["producer", "consumer"]
  ceiling = "red"
  [[agreements.parties]]
  organization = "cert-b"
  roles = ["producer", "consumer"]
  ceiling = "amber"

[[collections]]
id = "{AB}"
api_root = "exchange"
title = "A-B 5G and CII indicators"
agreement = "{AGREEMENT}"
"""
)

Pairs = tuple[tuple[str, str], ...]


@pytest.fixture
def config_text() -> str:
    return AGREEMENT_CONFIG


# -- helpers ------------------------------------------------------------------------------


def records(store: Store) -> list[AuditRecord]:
    return list(store.audit_records())


def assert_chain_ok(store: Store, count: int) -> str:
    """The whole chain verifies and holds ``count`` records; return its head hash."""
    found, head, broken = verify_chain(store.audit_records())
    assert broken is None, broken
    assert found == count
    return head


def request(
    *objects: dict[str, Any],
    author: str = "cert-a",
    account: str = "alice",
    collection: str = AB,
    definitions: Sequence[dict[str, Any]] = (),
    request_us: int | None = None,
) -> WriteRequest:
    def check(obj: dict[str, Any]) -> Any:
        return validate_object(obj, json.dumps(obj))

    return WriteRequest(
        collection_id=collection,
        author=author,
        objects=[check(o) for o in objects],
        rejected=[],
        status_id=str(uuid.uuid4()),
        request_us=now_us() if request_us is None else request_us,
        definitions=[check(d) for d in definitions],
        account=account,
        agreement=AGREEMENT if collection == AB else "",
        detail="test write",
    )


def entry(n: int, *, organization: str = "cert-b", at_us: int | None = None) -> AuditEntry:
    """A release record of indicator ``n`` to ``organization``."""
    return AuditEntry(
        at_us=1_700_000_000_000_000 + n if at_us is None else at_us,
        organization=organization,
        account="bob" if organization == "cert-b" else "someone",
        action=AuditAction.RELEASE,
        collection_id=AB,
        agreement=AGREEMENT,
        objects=((uid("indicator", n), "2024-01-01T00:00:00.000Z"),),
        detail="GET objects",
    )


def versions_of(obj: dict[str, Any]) -> str:
    return str(obj.get("modified") or obj["created"])


def pairs_of(*objects: dict[str, Any]) -> Pairs:
    return tuple((o["id"], versions_of(o)) for o in objects)


Sql = Callable[..., None]


@pytest.fixture
def sql(backend: str, tmp_path: Path, postgres_dsn: str | None) -> Sql:
    """Run one statement on the test database behind the store's back (``?`` params)."""

    def run(statement: str, *params: object) -> None:
        if backend == "sqlite":
            with closing(sqlite3.connect(tmp_path / "hub.db")) as conn, conn:
                conn.execute(statement, params)
            return
        import psycopg

        assert postgres_dsn is not None
        with psycopg.connect(postgres_dsn, autocommit=True) as pg:
            if params:
                pg.execute(statement.replace("?", "%s"), params)
            else:
                pg.execute(statement)

    return run


@pytest.fixture
def audit_outage(backend: str, sql: Sql) -> Iterator[Callable[[bool], None]]:
    """Switch on (and off) a database fault that makes every audit_log insert fail."""

    def down(on: bool) -> None:
        if backend == "sqlite":
            sql("DROP TRIGGER IF EXISTS audit_outage")
            if on:
                sql(
                    "CREATE TRIGGER audit_outage BEFORE INSERT ON audit_log"
                    " BEGIN SELECT RAISE(ABORT, 'audit outage'); END"
                )
            return
        sql("DROP TRIGGER IF EXISTS audit_outage ON audit_log")
        if on:
            sql(
                "CREATE OR REPLACE FUNCTION audit_outage() RETURNS trigger LANGUAGE plpgsql"
                " AS $$ BEGIN RAISE EXCEPTION 'audit outage'; END $$"
            )
            sql(
                "CREATE TRIGGER audit_outage BEFORE INSERT ON audit_log"
                " FOR EACH ROW EXECUTE FUNCTION audit_outage()"
            )

    yield down
    down(False)


# -- writes and deletes (store) -----------------------------------------------------------


def test_a_write_appends_one_record_naming_who_what_and_where(store: Store) -> None:
    green = definition_objects({TLP_GREEN}, recipients=False)
    first, second = indicator(1, object_marking_refs=[TLP_GREEN]), malware(2)
    write = request(first, second, definitions=green)

    result = store.add_objects(write)

    assert result.stored == 2
    [record] = records(store)
    assert record.seq == 1
    assert record.entry == AuditEntry(
        at_us=write.request_us,
        organization="cert-a",
        account="alice",
        action=AuditAction.WRITE,
        collection_id=AB,
        agreement=AGREEMENT,
        # The hub's own TLP definition is stored too, but nobody wrote it: not recorded.
        objects=pairs_of(first, second),
        detail="test write",
    )
    assert record.prev_hash == GENESIS_HASH
    assert record.hash == chain_hash(GENESIS_HASH, record.entry, 1)


def test_a_write_records_only_the_versions_that_succeeded(store: Store) -> None:
    store.add_objects(request(indicator(1)))
    changed = indicator(1, name="same id and version, different text")

    result = store.add_objects(request(changed, indicator(2)))

    assert [f.id for f in result.status.failures] == [uid("indicator", 1)]
    assert [r.entry.objects for r in records(store)] == [
        pairs_of(indicator(1)),
        pairs_of(indicator(2)),
    ]


def test_a_write_that_stores_nothing_appends_nothing(store: Store) -> None:
    store.add_objects(request())
    store.add_objects(request(indicator(1)))
    store.add_objects(request(indicator(1, name="a conflicting text")))
    assert [r.entry.action for r in records(store)] == [AuditAction.WRITE]
    assert_chain_ok(store, 1)


def test_a_write_and_its_record_are_one_transaction(
    store: Store, audit_outage: Callable[[bool], None]
) -> None:
    write = request(indicator(1), indicator(2))
    audit_outage(True)

    with pytest.raises(StoreError):
        store.add_objects(write)

    audit_outage(False)
    # Neither the objects nor the status resource were stored without their record.
    assert store.count_objects(AB, Visibility.all_objects()) == 0
    assert store.get_status(write.status_id) is None
    assert records(store) == []
    store.add_objects(request(indicator(3)))
    assert [r.seq for r in records(store)] == [1]
    assert_chain_ok(store, 1)


def test_delete_appends_a_delete_record_with_every_version_removed(store: Store) -> None:
    store.add_objects(request(indicator(1), indicator(1, version=1), indicator(2)))
    everything = ObjectQuery(limit=100, versions=VersionSelector.every())

    deleted = store.delete_object(
        AB,
        uid("indicator", 1),
        everything,
        Visibility.all_objects(),
        author="cert-a",
        account="alice",
        agreement=AGREEMENT,
    )

    assert deleted == 2
    write, delete = records(store)
    assert write.entry.action is AuditAction.WRITE
    assert delete.seq == 2
    assert delete.prev_hash == write.hash
    assert (
        delete.entry.organization,
        delete.entry.account,
        delete.entry.action,
        delete.entry.collection_id,
        delete.entry.agreement,
    ) == ("cert-a", "alice", AuditAction.DELETE, AB, AGREEMENT)
    assert sorted(delete.entry.objects) == sorted(pairs_of(indicator(1), indicator(1, version=1)))
    assert_chain_ok(store, 2)


def test_a_delete_that_removes_nothing_appends_nothing(store: Store) -> None:
    store.add_objects(request(indicator(1)))
    deleted = store.delete_object(
        AB,
        uid("indicator", 1),
        ObjectQuery(limit=100, versions=VersionSelector.every()),
        Visibility.all_objects(),
        author="cert-b",  # not the author
        account="bob",
        agreement=AGREEMENT,
    )
    assert deleted == 0
    assert [r.entry.action for r in records(store)] == [AuditAction.WRITE]


# -- reading the chain (store) ------------------------------------------------------------


def test_append_audit_links_each_record_to_the_one_before(store: Store) -> None:
    appended = [store.append_audit(entry(n)) for n in range(1, 4)]
    assert [r.seq for r in appended] == [1, 2, 3]
    assert records(store) == appended
    previous = GENESIS_HASH
    for record in appended:
        assert record.prev_hash == previous
        assert record.hash == chain_hash(previous, record.entry, record.seq)
        previous = record.hash
    assert assert_chain_ok(store, 3) == appended[-1].hash


def test_audit_records_filters_and_pages(store: Store) -> None:
    store.append_audit(entry(1, organization="cert-b", at_us=1_000))
    store.append_audit(entry(2, organization="cert-d", at_us=2_000))
    store.append_audit(entry(3, organization="cert-b", at_us=3_000))
    store.append_audit(entry(12, organization="cert-b", at_us=4_000))
    store.append_audit(entry(1, organization="cert-d", at_us=5_000))

    def seqs(**filters: Any) -> list[int]:
        return [r.seq for r in store.audit_records(**filters)]

    assert seqs() == [1, 2, 3, 4, 5]
    assert seqs(batch=2) == [1, 2, 3, 4, 5]
    assert seqs(organization="cert-b", batch=1) == [1, 3, 4]
    assert seqs(object_id=uid("indicator", 1), batch=1) == [1, 5]
    assert seqs(object_id=uid("indicator", 1), organization="cert-d") == [5]
    assert seqs(since_us=3_000) == [3, 4, 5]
    assert seqs(after_seq=3) == [4, 5]
    assert seqs(organization="nobody") == []


# -- tampering (store, SQL behind its back) -------------------------------------------------


@pytest.fixture
def chain(store: Store) -> list[AuditRecord]:
    """Five records: seq 1..5."""
    return [store.append_audit(entry(n)) for n in range(1, 6)]


EDITED = "contents do not match its hash (the record was edited)"


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("organization", "cert-d"),
        ("account", "mallory"),
        ("action", "write"),
        ("collection_id", "4d1c2b3a-9e8f-4a7b-8c6d-5e4f3a2b1c0d"),
        ("agreement", ""),
        ("detail", "GET manifest"),
        ("at_us", 1_600_000_000_000_000),
        ("objects", json.dumps([[uid("indicator", 9), "2024-01-01T00:00:00.000Z"]])),
        ("objects", "[]"),
        ("hash", "f" * 64),
    ],
)
def test_editing_a_field_of_a_middle_record_is_named(
    store: Store, chain: list[AuditRecord], sql: Sql, column: str, value: object
) -> None:
    sql(f"UPDATE audit_log SET {column} = ? WHERE seq = 3", value)
    count, head, broken = verify_chain(store.audit_records())
    assert broken is not None
    assert (broken.seq, broken.reason) == (3, EDITED)
    assert count == 3
    assert head == chain[1].hash  # the last record that still fits


def test_editing_the_objects_json_of_a_middle_record_is_named(
    store: Store, chain: list[AuditRecord], sql: Sql
) -> None:
    # The same pair with a different version: "we released an older version".
    sql(
        "UPDATE audit_log SET objects = ? WHERE seq = 2",
        json.dumps([[uid("indicator", 2), "2023-12-31T00:00:00.000Z"]]),
    )
    _, _, broken = verify_chain(store.audit_records())
    assert broken is not None
    assert (broken.seq, broken.reason) == (2, EDITED)


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("objects", "not json"),
        ("objects", json.dumps([[uid("indicator", 2)]])),  # a pair without its version
        ("action", "exfiltrate"),
    ],
)
def test_a_record_edited_into_nonsense_is_named_too(
    store: Store, chain: list[AuditRecord], sql: Sql, column: str, value: str
) -> None:
    sql(f"UPDATE audit_log SET {column} = ? WHERE seq = 2", value)
    _, _, broken = verify_chain(store.audit_records())
    assert broken is not None
    assert (broken.seq, broken.reason) == (2, EDITED)


def test_editing_prev_hash_is_named(store: Store, chain: list[AuditRecord], sql: Sql) -> None:
    sql("UPDATE audit_log SET prev_hash = ? WHERE seq = 4", chain[1].hash)
    _, _, broken = verify_chain(store.audit_records())
    assert broken is not None
    assert (broken.seq, broken.reason) == (4, "prev_hash does not match the record before it")


def test_deleting_a_middle_record_is_named(
    store: Store, chain: list[AuditRecord], sql: Sql
) -> None:
    sql("DELETE FROM audit_log WHERE seq = 3")
    count, head, broken = verify_chain(store.audit_records())
    assert broken is not None
    assert (broken.seq, broken.reason) == (4, "expected record 3 here; records are missing")
    assert (count, head) == (3, chain[1].hash)


def test_swapping_two_records_seq_is_named(
    store: Store, chain: list[AuditRecord], sql: Sql
) -> None:
    sql("UPDATE audit_log SET seq = -1 WHERE seq = 2")
    sql("UPDATE audit_log SET seq = 2 WHERE seq = 4")
    sql("UPDATE audit_log SET seq = 4 WHERE seq = -1")
    _, _, broken = verify_chain(store.audit_records())
    assert broken is not None
    assert (broken.seq, broken.reason) == (2, "prev_hash does not match the record before it")


def test_the_first_break_is_the_one_named(store: Store, chain: list[AuditRecord], sql: Sql) -> None:
    sql("UPDATE audit_log SET account = 'mallory' WHERE seq = 4")
    sql("DELETE FROM audit_log WHERE seq = 2")
    _, _, broken = verify_chain(store.audit_records())
    assert broken is not None
    assert broken.seq == 3
    assert "record 2" in broken.reason


def test_an_edited_record_with_a_recomputed_hash_breaks_the_next_link(
    store: Store, chain: list[AuditRecord], sql: Sql
) -> None:
    forged = AuditEntry(**{**_fields(chain[2].entry), "organization": "cert-d"})
    sql(
        "UPDATE audit_log SET organization = ?, hash = ? WHERE seq = 3",
        "cert-d",
        chain_hash(chain[1].hash, forged, 3),
    )
    _, _, broken = verify_chain(store.audit_records())
    assert broken is not None
    assert (broken.seq, broken.reason) == (4, "prev_hash does not match the record before it")


def test_the_limit_a_rewritten_tail_verifies_but_its_head_differs(
    store: Store, chain: list[AuditRecord], sql: Sql
) -> None:
    """The chain is not keyed: rewriting every hash from the edit on gives a valid chain.
    Only a head hash kept elsewhere (anchored) shows the difference (docs/agreements.md)."""
    anchored = chain[-1].hash
    previous = chain[1].hash
    for record in chain[2:]:
        changed = AuditEntry(**{**_fields(record.entry), "account": "mallory"})
        digest = chain_hash(previous, changed, record.seq)
        sql(
            "UPDATE audit_log SET account = 'mallory', prev_hash = ?, hash = ? WHERE seq = ?",
            previous,
            digest,
            record.seq,
        )
        previous = digest
    head = assert_chain_ok(store, 5)
    assert head != anchored


def test_the_limit_truncation_at_the_end_verifies_until_the_next_append(
    store: Store, chain: list[AuditRecord], sql: Sql
) -> None:
    sql("DELETE FROM audit_log WHERE seq >= 4")
    head = assert_chain_ok(store, 3)
    assert head == chain[2].hash != chain[-1].hash  # only an anchored head shows the cut

    # The hub's own head still says 5, so the next record exposes the gap.
    appended = store.append_audit(entry(6))
    assert appended.seq == 6
    _, _, broken = verify_chain(store.audit_records())
    assert broken is not None
    assert (broken.seq, broken.reason) == (6, "expected record 4 here; records are missing")


def _fields(audit_entry: AuditEntry) -> dict[str, Any]:
    return {name: getattr(audit_entry, name) for name in AuditEntry.__slots__}


# -- concurrency -----------------------------------------------------------------------------


def _hammer(stores: Sequence[Store], threads: int, appends: int) -> int:
    """Append from many threads at once, writes and releases mixed; return the count."""
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def work(worker: int) -> None:
        target = stores[worker % len(stores)]
        try:
            start.wait()
            for i in range(appends):
                if i % 5 == 0:
                    n = worker * 1000 + i
                    target.add_objects(request(indicator(n), author="cert-a"))
                else:
                    target.append_audit(entry(worker * 1000 + i))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(w,)) for w in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    return threads * appends


def test_concurrent_appends_keep_one_valid_chain(store: Store) -> None:
    total = _hammer([store], threads=8, appends=20)
    found = records(store)
    assert [r.seq for r in found] == list(range(1, total + 1))
    assert_chain_ok(store, total)
    assert sum(r.entry.action is AuditAction.WRITE for r in found) == 8 * 4


def test_two_hub_processes_on_one_database_keep_one_chain(
    store: Store, backend: str, tmp_path: Path, postgres_dsn: str | None
) -> None:
    # A second store on the same database stands for a second `kakehashi serve` process.
    if backend == "sqlite":
        from kakehashi.store.sqlite import SqliteStore

        other: Store = SqliteStore(tmp_path / "hub.db")
        other.open()
    else:
        from kakehashi.store.postgres import PostgresStore

        assert postgres_dsn is not None
        other = PostgresStore(postgres_dsn, pool_size=4)
        other.open()
    try:
        total = _hammer([store, other], threads=8, appends=15)
    finally:
        other.close()
    assert [r.seq for r in records(store)] == list(range(1, total + 1))
    assert_chain_ok(store, total)


# -- over HTTP (client) ------------------------------------------------------------------------


AB_ROOT = f"/{API_ROOT}/collections/{AB}/"


def post(client: TestClient, *objects: dict[str, Any], user: str = "alice") -> dict[str, Any]:
    response = client.post(
        objects_url(AB), content=json.dumps(envelope(*objects)), headers=post_headers(user)
    )
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body


def get(client: TestClient, path: str, user: str = "bob", **params: str) -> dict[str, Any]:
    response = client.get(AB_ROOT + path, params=params, headers=basic(user))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == TAXII
    body: dict[str, Any] = response.json()
    return body


def released(store: Store) -> list[tuple[str, str, str, Pairs]]:
    """(organization, account, detail, pairs) of every release record, in order."""
    return [
        (r.entry.organization, r.entry.account, r.entry.detail, r.entry.objects)
        for r in records(store)
        if r.entry.action is AuditAction.RELEASE
    ]


def test_post_appends_a_write_record(client: TestClient, store: Store) -> None:
    before = now_us()
    status = post(client, indicator(1), indicator(2, modified="yesterday"), malware(3))
    after = now_us()

    assert status["success_count"] == 2
    [record] = records(store)
    assert record.entry.action is AuditAction.WRITE
    assert (
        record.entry.organization,
        record.entry.account,
        record.entry.collection_id,
        record.entry.agreement,
        record.entry.detail,
    ) == ("cert-a", "alice", AB, AGREEMENT, "POST objects")
    assert record.entry.objects == pairs_of(indicator(1), malware(3))
    assert before <= record.entry.at_us <= after


def test_get_objects_records_exactly_each_page_it_releases(
    client: TestClient, store: Store
) -> None:
    posted = [indicator(n, object_marking_refs=[TLP_GREEN]) for n in range(1, 5)]
    post(client, *posted)

    first = get(client, "objects/", limit="3")
    second = get(client, "objects/", limit="3", next=first["next"])

    assert first["objects"][0]["id"] == TLP_GREEN  # the hub's definition
    assert released(store) == [
        ("cert-b", "bob", "GET objects", pairs_of(*first["objects"])),
        ("cert-b", "bob", "GET objects", pairs_of(*second["objects"])),
    ]
    assert len(first["objects"]) == 3
    assert pairs_of(*first["objects"], *second["objects"])[1:] == pairs_of(*posted)
    record = records(store)[-1]
    assert (record.entry.collection_id, record.entry.agreement) == (AB, AGREEMENT)


def test_get_object_manifest_and_versions_record_what_they_release(
    client: TestClient, store: Store
) -> None:
    post(client, indicator(1), indicator(1, version=1), indicator(2))
    one = uid("indicator", 1)

    by_id = get(client, f"objects/{one}/", **{"match[version]": "all"})
    manifest = get(client, "manifest/")
    versions = get(client, f"objects/{one}/versions/")

    assert released(store) == [
        ("cert-b", "bob", "GET object", pairs_of(*by_id["objects"])),
        (
            "cert-b",
            "bob",
            "GET manifest",
            tuple((o["id"], o["version"]) for o in manifest["objects"]),
        ),
        ("cert-b", "bob", "GET versions", tuple((one, v) for v in versions["versions"])),
    ]
    assert pairs_of(*by_id["objects"]) == pairs_of(indicator(1), indicator(1, version=1))
    assert [o["id"] for o in manifest["objects"]] == [one, uid("indicator", 2)]
    assert len(versions["versions"]) == 2


def test_a_release_names_only_what_that_reader_received(client: TestClient, store: Store) -> None:
    red_to_b = indicator(
        3,
        object_marking_refs=[TLP_RED],
        extensions={
            RECIPIENTS: {"extension_type": "property-extension", "recipients": [CERT_B_IDENTITY]}
        },
    )
    post(client, indicator(1, object_marking_refs=[TLP_AMBER]), indicator(2), red_to_b)

    alice = get(client, "objects/", user="alice")
    bob = get(client, "objects/", user="bob")

    alice_pairs, bob_pairs = (pairs for *_, pairs in released(store))
    assert alice_pairs == pairs_of(*alice["objects"])
    assert bob_pairs == pairs_of(*bob["objects"])
    # CERT B's ceiling is AMBER: the RED indicator naming it still does not reach it.
    assert (red_to_b["id"], versions_of(red_to_b)) in alice_pairs
    assert red_to_b["id"] not in {object_id for object_id, _ in bob_pairs}


@pytest.mark.parametrize(
    ("user", "path", "params", "status"),
    [
        ("bob", "objects/", {"match[type]": "malware"}, 200),
        ("bob", "objects/", {"added_after": "2999-01-01T00:00:00Z"}, 200),
        ("bob", "manifest/", {"match[type]": "malware"}, 200),
        ("bob", "objects/{one}/", {"match[version]": "2020-01-01T00:00:00.000Z"}, 200),
        ("bob", "objects/{missing}/", {}, 404),
        ("bob", "objects/{missing}/versions/", {}, 404),
        ("dave", "objects/", {}, 404),  # not in the agreement: the collection does not exist
        ("dave", "manifest/", {}, 404),
    ],
)
def test_an_empty_or_refused_response_appends_nothing(
    client: TestClient,
    store: Store,
    user: str,
    path: str,
    params: dict[str, str],
    status: int,
) -> None:
    post(client, indicator(1))
    url = AB_ROOT + path.format(one=uid("indicator", 1), missing=uid("indicator", 99))

    response = client.get(url, params=params, headers=basic(user))

    assert response.status_code == status, response.text
    assert "objects" not in response.json()
    assert [r.entry.action for r in records(store)] == [AuditAction.WRITE]


def test_delete_appends_a_delete_record(client: TestClient, store: Store) -> None:
    post(client, indicator(1), indicator(1, version=1))
    url = f"{AB_ROOT}objects/{uid('indicator', 1)}/"

    refused = client.delete(url, headers=basic("bob"))  # not the author
    deleted = client.delete(url, headers=basic("alice"))

    assert refused.status_code == 403
    assert deleted.status_code == 200
    write, delete = records(store)
    assert delete.entry.action is AuditAction.DELETE
    assert (
        delete.entry.organization,
        delete.entry.account,
        delete.entry.collection_id,
        delete.entry.agreement,
        delete.entry.detail,
    ) == ("cert-a", "alice", AB, AGREEMENT, "DELETE object")
    assert sorted(delete.entry.objects) == sorted(write.entry.objects)
    assert_chain_ok(store, 2)


def test_a_session_over_http_leaves_a_verifiable_chain(client: TestClient, store: Store) -> None:
    post(client, indicator(1), malware(2))
    post(client, indicator(3), user="bob")
    get(client, "objects/")
    get(client, "manifest/", user="alice")
    get(client, f"objects/{uid('indicator', 3)}/versions/", user="alice")
    assert client.delete(f"{AB_ROOT}objects/{uid('indicator', 3)}/", headers=basic("bob"))
    actions = [r.entry.action for r in records(store)]
    assert actions == [
        AuditAction.WRITE,
        AuditAction.WRITE,
        AuditAction.RELEASE,
        AuditAction.RELEASE,
        AuditAction.RELEASE,
        AuditAction.DELETE,
    ]
    assert_chain_ok(store, 6)


def test_nothing_is_released_unless_it_is_recorded(
    client: TestClient, store: Store, audit_outage: Callable[[bool], None]
) -> None:
    post(client, indicator(1))
    audit_outage(True)

    for path in ("objects/", f"objects/{uid('indicator', 1)}/", "manifest/"):
        response = client.get(AB_ROOT + path, headers=basic("bob"))
        assert response.status_code == 500, path
        assert uid("indicator", 1) not in response.text

    audit_outage(False)
    assert [r.entry.action for r in records(store)] == [AuditAction.WRITE]


@pytest.mark.parametrize(
    "path", ["objects/", "objects/{one}/", "manifest/", "objects/{one}/versions/"]
)
def test_head_releases_nothing_and_records_nothing(
    client: TestClient, store: Store, path: str
) -> None:
    """docs/taxii.md: HEAD is answered wherever GET is, same status and headers, no body.
    A response without a body releases no object, so it is no release record."""
    post(client, indicator(1))
    response = client.head(AB_ROOT + path.format(one=uid("indicator", 1)), headers=basic("bob"))
    assert response.status_code == 200
    assert response.content == b""
    assert [r.entry.action for r in records(store)] == [AuditAction.WRITE]


@pytest.mark.parametrize("created", ["2022-10-01T00:00:00.000Z", "2030-01-01T00:00:00.000Z"])
def test_an_altered_oasis_definition_is_refused_and_never_recorded(
    client: TestClient, store: Store, created: str
) -> None:
    [genuine] = definition_objects({TLP_GREEN}, recipients=False)
    forged = {**genuine, "created": created, "name": "TLP:GREEN (anything goes)"}

    status = post(client, forged)
    post(client, indicator(1, object_marking_refs=[TLP_GREEN]))

    assert (status["success_count"], status["failure_count"]) == (0, 1)
    assert [r.entry.objects for r in records(store)] == [pairs_of(indicator(1))]
    served = get(client, f"objects/{TLP_GREEN}/", **{"match[version]": "all"})
    assert [d["name"] for d in served["objects"]] == ["TLP:GREEN"]
