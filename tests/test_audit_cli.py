"""`kakehashi audit` and `kakehashi export`, run with CliRunner on a real SQLite hub.

The hub is exercised the way an operator meets it: accounts post and read over TAXII (the
app in-process, on the database file the commands then open), and the commands answer
"who received this indicator?" and "what did we release to CERT B last week?".
"""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from starlette.testclient import TestClient

from kakehashi.api import create_app
from kakehashi.audit import AuditAction, AuditEntry, AuditRecord
from kakehashi.cli import cli
from kakehashi.config import load_settings
from kakehashi.stix.timestamps import format_us, now_us
from kakehashi.store.sqlite import SqliteStore
from stixgen import indicator, uid

AB = "3b1f8c2e-5d4a-4f6b-9e7c-8a0b1c2d3e4f"
AGREEMENT = "ab-2020"
TAXII = "application/taxii+json;version=2.1"
TOKENS = {
    "alice": "alice-audit-token-0123456789",
    "bob": "bob-audit-token-0123456789",
    "tina": "tina-audit-token-0123456789",
    "carl": "carl-audit-token-0123456789",
}
IDENTITY = {
    "cert-a": "identity--5f0e7a3c-2a71-4bb2-9e9b-0c2f1d8a6b11",
    "cert-b": "identity--a8d3c6f2-7d1e-4c55-8a0b-3e6f9b2c4d22",
    "telco-b1": "identity--1c9e4f7a-3b2d-4e6f-8a1b-2c3d4e5f6a7b",
    "cert-c": "identity--c3c3c3c3-7d1e-4c55-8a0b-3e6f9b2c4d22",
}
# OASIS TLP 2.0 marking definitions, written out (not taken from the code under test).
TLP = {
    "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "amber+strict": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "red": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
RECIPIENTS = "extension-definition--9067863b-bbbc-4e1b-bbe4-76f6ecec33c2"


def digest(user: str) -> str:
    return hashlib.sha256(TOKENS[user].encode()).hexdigest()


CONFIG = f"""\
[hub]
title = "Audit CLI hub"
database = "sqlite:///hub.db"
default_tlp = "amber"

[[organizations]]
key = "cert-a"
name = "CERT A"
identity = "{IDENTITY["cert-a"]}"

[[organizations]]
key = "cert-b"
name = "CERT B"
identity = "{IDENTITY["cert-b"]}"

[[organizations]]
key = "telco-b1"
name = "A telecom operator under CERT B"
identity = "{IDENTITY["telco-b1"]}"
parent = "cert-b"
ceiling = "green"

[[organizations]]
key = "cert-c"
name = "CERT C, in no agreement"
identity = "{IDENTITY["cert-c"]}"

[[accounts]]
username = "alice"
organization = "cert-a"
token_sha256 = "{digest("alice")}"

[[accounts]]
username = "bob"
organization = "cert-b"
token_sha256 = "{digest("bob")}"

[[accounts]]
username = "tina"
organization = "telco-b1"
token_sha256 = "{digest("tina")}"

[[accounts]]
username = "carl"
organization = "cert-c"
token_sha256 = "{digest("carl")}"

[[api_roots]]
name = "exchange"
title = "Exchange"

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
  ceiling = "red"

[[collections]]
id = "{AB}"
api_root = "exchange"
title = "A-B 5G and CII indicators"
alias = "ab-indicators"
agreement = "{AGREEMENT}"
"""


def marked(n: int, level: str | None, *recipients: str) -> dict[str, Any]:
    """Indicator ``n`` marked ``level`` (None: unmarked), RED ones naming ``recipients``."""
    extra: dict[str, Any] = {}
    if level is not None:
        extra["object_marking_refs"] = [TLP[level]]
    if recipients:
        extra["extensions"] = {
            RECIPIENTS: {
                "extension_type": "property-extension",
                "recipients": [IDENTITY[r] for r in recipients],
            }
        }
    return indicator(n, **extra)


# What CERT A posts: one indicator per TLP level, and one unmarked.
POSTED = [
    marked(1, "clear"),
    marked(2, "green"),
    marked(3, "amber"),
    marked(4, "amber+strict"),
    marked(5, "red", "cert-b"),
    marked(6, "red", "cert-c"),
    marked(7, None),  # default_tlp: AMBER
]
IND = {n: uid("indicator", n) for n in range(1, 8)}
DEFINITIONS = set(TLP.values()) | {RECIPIENTS}  # what the hub adds beside them

# Who may receive what (from the TLP rules in docs/agreements.md, not from the code):
SEEN_BY = {
    # a party with ceiling RED: CLEAR..AMBER+STRICT, RED naming it, unmarked (AMBER)
    "cert-b": {IND[1], IND[2], IND[3], IND[4], IND[5], IND[7]} | DEFINITIONS,
    # its constituent, capped at GREEN: community information, and the definitions the hub
    # keeps, which are public to every reader
    "telco-b1": {IND[1], IND[2]} | DEFINITIONS,
}

CLEAN_ENV: dict[str, str | None] = {
    "KAKEHASHI_CONFIG": None,
    "KAKEHASHI_DATABASE": None,
    "KAKEHASHI_LISTEN": None,
}


def headers(user: str, *, post: bool = False) -> dict[str, str]:
    raw = f"{user}:{TOKENS[user]}".encode()
    out = {"Authorization": "Basic " + base64.b64encode(raw).decode(), "Accept": TAXII}
    if post:
        out["Content-Type"] = TAXII
    return out


def version_of(obj: Mapping[str, Any]) -> str:
    return str(obj.get("modified") or obj["created"])


@dataclass(frozen=True)
class Hub:
    """A configured hub in a temporary folder."""

    config: Path
    database: Path

    def kakehashi(self, *args: str | Path) -> Result:
        runner = CliRunner(env=CLEAN_ENV)
        return runner.invoke(
            cli,
            ["--config", str(self.config), *(str(a) for a in args)],
            prog_name="kakehashi",
            catch_exceptions=False,
        )

    @contextmanager
    def store(self) -> Iterator[SqliteStore]:
        store = SqliteStore(self.database)
        store.open()
        try:
            yield store
        finally:
            store.close()

    @contextmanager
    def taxii(self) -> Iterator[TestClient]:
        """The hub's app over the same database file the commands use."""
        settings = load_settings(self.config, environ={})
        with self.store() as store:
            app = create_app(settings, store, manage_store=False)
            with TestClient(app, base_url="http://hub.test") as client:
                yield client

    def records(self) -> list[AuditRecord]:
        with self.store() as store:
            return list(store.audit_records())


def objects_url(suffix: str = "") -> str:
    return f"/exchange/collections/{AB}/objects/{suffix}"


@pytest.fixture
def hub(tmp_path: Path) -> Hub:
    config = tmp_path / "hub.toml"
    config.write_text(CONFIG, encoding="utf-8")
    return Hub(config=config, database=tmp_path / "hub.db")


@pytest.fixture
def busy_hub(hub: Hub) -> Hub:
    """CERT A posts one indicator per TLP level; CERT B asks for indicator 2, then reads
    everything; CERT B's telecom constituent reads everything it may.

    Records: 1 write (alice), 2 release (bob, GET object), 3 release (bob, GET objects),
    4 release (tina, GET objects).
    """
    with hub.taxii() as client:
        posted = client.post(
            objects_url(),
            content=json.dumps({"objects": POSTED}),
            headers=headers("alice", post=True),
        )
        assert posted.status_code == 202, posted.text
        assert posted.json()["success_count"] == len(POSTED)
        for user, path in (("bob", IND[2] + "/"), ("bob", ""), ("tina", "")):
            response = client.get(objects_url(path), headers=headers(user))
            assert response.status_code == 200, response.text
    assert [(r.entry.action, r.entry.account) for r in hub.records()] == [
        (AuditAction.WRITE, "alice"),
        (AuditAction.RELEASE, "bob"),
        (AuditAction.RELEASE, "bob"),
        (AuditAction.RELEASE, "tina"),
    ]
    return hub


def tamper(hub: Hub, statement: str, *params: object) -> None:
    with closing(sqlite3.connect(hub.database)) as conn, conn:
        conn.execute(statement, params)


def json_lines(result: Result) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.splitlines()]


# -- audit verify -----------------------------------------------------------------------------


def test_verify_reports_ok_with_the_count_and_head(busy_hub: Hub) -> None:
    result = busy_hub.kakehashi("audit", "verify")
    assert result.exit_code == 0, result.output
    head = busy_hub.records()[-1].hash
    assert result.stdout == f"audit chain OK: 4 records, head {head}\n"
    assert "OK: 4 records" in result.stdout


def test_verify_on_a_new_hub_has_no_records(hub: Hub) -> None:
    result = hub.kakehashi("audit", "verify")
    assert result.exit_code == 0, result.output
    assert result.stdout == "audit chain OK: 0 records, head " + "0" * 64 + "\n"


@pytest.mark.parametrize(
    ("statement", "seq", "reason"),
    [
        ("UPDATE audit_log SET organization = 'cert-c' WHERE seq = 2", 2, "was edited"),
        ("UPDATE audit_log SET objects = '[]' WHERE seq = 3", 3, "was edited"),
        ("DELETE FROM audit_log WHERE seq = 2", 3, "expected record 2 here"),
    ],
)
def test_verify_names_the_tampered_record_and_exits_6(
    busy_hub: Hub, statement: str, seq: int, reason: str
) -> None:
    tamper(busy_hub, statement)
    result = busy_hub.kakehashi("audit", "verify")
    assert result.exit_code == 6
    assert result.stdout == ""
    assert result.stderr.startswith(f"audit chain BROKEN at record {seq}: ")
    assert reason in result.stderr


def test_verify_names_a_record_edited_into_nonsense(busy_hub: Hub) -> None:
    tamper(busy_hub, "UPDATE audit_log SET objects = 'deleted' WHERE seq = 3")
    result = busy_hub.kakehashi("audit", "verify")
    assert result.exit_code == 6
    assert result.stderr.startswith("audit chain BROKEN at record 3: ")
    assert "was edited" in result.stderr


# -- audit show -------------------------------------------------------------------------------


def test_show_answers_who_received_this_indicator(busy_hub: Hub) -> None:
    result = busy_hub.kakehashi("audit", "show", "--object", IND[2], "--action", "release")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert [line.split()[2:5] for line in lines if line.startswith("#")] == [
        ["release", "cert-b", "(bob)"],
        ["release", "cert-b", "(bob)"],
        ["release", "telco-b1", "(tina)"],
    ]
    assert lines[0].startswith("#2 ")
    assert f"GET object collection {AB} agreement {AGREEMENT}: 1 object version(s)" in lines[0]
    # Only the asked-for object is listed under each record, with its version.
    assert [line.split() for line in lines if line.startswith("    ")] == [
        [IND[2], version_of(POSTED[1])]
    ] * 3
    assert result.stderr.endswith("3 record(s)\n")


def test_show_for_a_red_indicator_lists_only_its_recipients(busy_hub: Hub) -> None:
    result = busy_hub.kakehashi("audit", "show", "--object", IND[5], "--json")
    assert result.exit_code == 0, result.output
    shown = json_lines(result)
    assert [(r["action"], r["organization"]) for r in shown] == [
        ("write", "cert-a"),
        ("release", "cert-b"),
    ]
    assert all(r["objects"] == [[IND[5], version_of(POSTED[4])]] for r in shown)


def test_show_json_lines_carry_every_field(busy_hub: Hub) -> None:
    result = busy_hub.kakehashi("audit", "show", "--json")
    assert result.exit_code == 0, result.output
    shown = json_lines(result)
    records = busy_hub.records()
    assert [r["seq"] for r in shown] == [1, 2, 3, 4]
    for line, record in zip(shown, records, strict=True):
        assert line == {
            "seq": record.seq,
            "at": format_us(record.entry.at_us),
            "organization": record.entry.organization,
            "account": record.entry.account,
            "action": str(record.entry.action),
            "collection": AB,
            "agreement": AGREEMENT,
            "detail": record.entry.detail,
            "objects": [list(pair) for pair in record.entry.objects],
            "prev_hash": record.prev_hash,
            "hash": record.hash,
        }
    assert shown[0]["objects"] == [[o["id"], version_of(o)] for o in POSTED]
    assert {o for o, _ in shown[3]["objects"]} == SEEN_BY["telco-b1"]
    assert result.stderr == ""


def test_show_by_organisation_and_action(busy_hub: Hub) -> None:
    result = busy_hub.kakehashi("audit", "show", "--org", "cert-b", "--action", "release", "--json")
    assert result.exit_code == 0, result.output
    shown = json_lines(result)
    assert [(r["seq"], r["detail"]) for r in shown] == [(2, "GET object"), (3, "GET objects")]
    assert {o for o, _ in shown[1]["objects"]} == SEEN_BY["cert-b"]

    writes = busy_hub.kakehashi("audit", "show", "--action", "write", "--json")
    assert [(r["seq"], r["organization"]) for r in json_lines(writes)] == [(1, "cert-a")]
    nobody = busy_hub.kakehashi("audit", "show", "--org", "cert-c")
    assert nobody.exit_code == 0
    assert nobody.stdout == ""
    assert nobody.stderr.endswith("0 record(s)\n")


def test_show_what_we_released_to_cert_b_last_week(busy_hub: Hub) -> None:
    month_ago = now_us() - 30 * 86400 * 1_000_000
    with busy_hub.store() as store:
        store.append_audit(
            AuditEntry(
                at_us=month_ago,
                organization="cert-b",
                account="bob",
                action=AuditAction.RELEASE,
                collection_id=AB,
                agreement=AGREEMENT,
                objects=((IND[1], version_of(POSTED[0])),),
                detail="GET objects",
            )
        )

    def seqs(*args: str) -> list[int]:
        result = busy_hub.kakehashi(
            "audit", "show", "--org", "cert-b", "--action", "release", "--json", *args
        )
        assert result.exit_code == 0, result.output
        return [r["seq"] for r in json_lines(result)]

    assert seqs("--since", "7d") == [2, 3]
    assert seqs("--since", "60d") == [2, 3, 5]
    assert seqs("--since", format_us(month_ago - 1)) == [2, 3, 5]
    assert seqs("--since", format_us(month_ago + 1)) == [2, 3]
    assert seqs() == [2, 3, 5]


def test_show_refuses_a_since_it_cannot_read(busy_hub: Hub) -> None:
    result = busy_hub.kakehashi("audit", "show", "--since", "last week")
    assert result.exit_code == 2
    assert "--since" in result.stderr
    assert "7d" in result.stderr


# -- export -----------------------------------------------------------------------------------


def export(hub: Hub, tmp_path: Path, *args: str) -> tuple[list[dict[str, Any]], AuditRecord]:
    """Run export to a file; return the bundle's objects and the record it appended."""
    before = len(hub.records())
    out = tmp_path / "export.json"
    result = hub.kakehashi("export", "--collection", "ab-indicators", "-o", out, *args)
    assert result.exit_code == 0, result.output
    bundle = json.loads(out.read_text(encoding="utf-8"))
    assert bundle["type"] == "bundle"
    assert bundle["id"].startswith("bundle--")
    records = hub.records()
    assert len(records) == before + 1
    return bundle["objects"], records[-1]


@pytest.mark.parametrize("organization", ["cert-b", "telco-b1"])
def test_export_as_an_organisation_gives_only_what_it_may_receive(
    busy_hub: Hub, tmp_path: Path, organization: str
) -> None:
    objects, record = export(busy_hub, tmp_path, "--as", organization)

    assert {o["id"] for o in objects} == SEEN_BY[organization]
    assert len(objects) == len(SEEN_BY[organization])
    assert record.entry.action is AuditAction.EXPORT
    assert (
        record.entry.organization,
        record.entry.account,
        record.entry.collection_id,
        record.entry.agreement,
        record.entry.detail,
    ) == (organization, "cli", AB, AGREEMENT, "kakehashi export --as")
    assert record.entry.objects == tuple((o["id"], version_of(o)) for o in objects)


def test_export_as_writes_the_bundle_to_stdout_by_default(busy_hub: Hub) -> None:
    result = busy_hub.kakehashi("export", "--collection", AB, "--as", "telco-b1")
    assert result.exit_code == 0, result.output
    bundle = json.loads(result.stdout)
    assert {o["id"] for o in bundle["objects"]} == SEEN_BY["telco-b1"]
    assert busy_hub.records()[-1].entry.action is AuditAction.EXPORT


@pytest.mark.parametrize("default_tlp", ["green", "amber", "red"])
def test_a_red_recipient_receives_the_extension_definition_it_relies_on(
    tmp_path: Path, default_tlp: str
) -> None:
    config = tmp_path / "hub.toml"
    config.write_text(
        CONFIG.replace('default_tlp = "amber"', f'default_tlp = "{default_tlp}"'),
        encoding="utf-8",
    )
    hub = Hub(config=config, database=tmp_path / "hub.db")
    with hub.taxii() as client:
        posted = client.post(
            objects_url(),
            content=json.dumps({"objects": [marked(5, "red", "cert-b")]}),
            headers=headers("alice", post=True),
        )
        assert posted.json()["success_count"] == 1

    objects, _ = export(hub, tmp_path, "--as", "cert-b")

    assert {o["id"] for o in objects} == {IND[5], TLP["red"], RECIPIENTS}


def test_export_all_takes_everything_and_is_recorded(busy_hub: Hub, tmp_path: Path) -> None:
    objects, record = export(busy_hub, tmp_path, "--all")

    assert {o["id"] for o in objects} == set(IND.values()) | DEFINITIONS
    assert [o for o in objects if o["id"] in IND.values()] == POSTED  # as posted, in order
    assert (record.entry.action, record.entry.organization, record.entry.detail) == (
        AuditAction.EXPORT,
        "(operator)",
        "kakehashi export --all",
    )
    assert record.entry.objects == tuple((o["id"], version_of(o)) for o in objects)
    shown = busy_hub.kakehashi("audit", "show", "--action", "export", "--json")
    assert [(r["seq"], r["organization"]) for r in json_lines(shown)] == [(5, "(operator)")]


@pytest.mark.parametrize("args", [(), ("--as", "cert-b", "--all")])
def test_export_needs_exactly_one_of_as_and_all(busy_hub: Hub, args: tuple[str, ...]) -> None:
    result = busy_hub.kakehashi("export", "--collection", AB, *args)
    assert result.exit_code == 2
    assert "give exactly one of --as ORGANISATION or --all" in result.stderr
    assert result.stdout == ""
    assert len(busy_hub.records()) == 4


def test_export_as_an_organisation_that_may_not_read_is_refused(busy_hub: Hub) -> None:
    outsider = busy_hub.kakehashi("export", "--collection", AB, "--as", "cert-c")
    unknown = busy_hub.kakehashi("export", "--collection", AB, "--as", "cert-z")
    assert outsider.exit_code == 5
    assert f"cert-c may not read collection {AB}" in outsider.stderr
    assert unknown.exit_code == 2
    assert "no organisation 'cert-z'" in unknown.stderr
    assert outsider.stdout == unknown.stdout == ""
    assert len(busy_hub.records()) == 4


# -- import, and the chain across commands ------------------------------------------------------


def test_import_appends_a_write_record(hub: Hub, tmp_path: Path) -> None:
    bundle = tmp_path / "bundle.json"
    objects = [marked(8, "green"), marked(9, "amber")]
    bundle_id = "bundle--6b1f0c2e-5d4a-4f6b-9e7c-8a0b1c2d3e4f"
    bundle.write_text(json.dumps({"type": "bundle", "id": bundle_id, "objects": objects}))

    result = hub.kakehashi("import", bundle, "--collection", "ab-indicators", "--as", "cert-b")

    assert result.exit_code == 0, result.output
    [record] = hub.records()
    assert (
        record.entry.action,
        record.entry.organization,
        record.entry.account,
        record.entry.collection_id,
        record.entry.agreement,
        record.entry.detail,
    ) == (AuditAction.WRITE, "cert-b", "cli", AB, AGREEMENT, "kakehashi import")
    assert record.entry.objects == tuple((o["id"], version_of(o)) for o in objects)


def test_the_chain_spans_http_and_commands(busy_hub: Hub, tmp_path: Path) -> None:
    export(busy_hub, tmp_path, "--as", "cert-b")
    export(busy_hub, tmp_path, "--all")
    with busy_hub.taxii() as client:
        response = client.get(objects_url(IND[1] + "/"), headers=headers("tina"))
        assert response.status_code == 200
    result = busy_hub.kakehashi("audit", "verify")
    assert result.exit_code == 0, result.output
    assert "OK: 7 records" in result.stdout
