"""The ``kakehashi`` command, run in-process with click's CliRunner on real SQLite files."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import stix2
from click.testing import CliRunner, Result

from kakehashi.api.auth import Authenticator
from kakehashi.cli import cli
from kakehashi.config import parse_settings
from kakehashi.stix.envelope import split_envelope
from kakehashi.stix.visibility import Visibility
from kakehashi.store.sqlite import SqliteStore
from stixgen import indicator, ipv4, malware

SHARED = "9e5c7a1b-3f2d-4e8a-b6c4-1d0f2a3b4c5d"
REPORTS = "2f6b0e3d-8c1a-4d5e-9f7a-6b5c4d3e2f1a"
ALICE_SHA256 = "965b04f03a8200d4bff70f6df635c1d4d3e9c9a1d164d415efc95b9304bfbaf2"

CONFIG = f"""\
[hub]
title = "CLI test hub"
database = "sqlite:///hub.db"

[[organizations]]
key = "cert-a"
name = "CERT A"
identity = "identity--5f0e7a3c-2a71-4bb2-9e9b-0c2f1d8a6b11"

[[organizations]]
key = "cert-b"
name = "CERT B"
identity = "identity--a8d3c6f2-7d1e-4c55-8a0b-3e6f9b2c4d22"

[[accounts]]
username = "alice"
organization = "cert-a"
token_sha256 = "{ALICE_SHA256}"

[[accounts]]
username = "bob"
organization = "cert-b"
token_sha256 = "0357e24c1cb1874dde0773886097863f71ac666f63fba1e9d4c623b79ffda11f"

[[api_roots]]
name = "exchange"
title = "Exchange"

[[collections]]
id = "{SHARED}"
api_root = "exchange"
title = "Shared indicators"
alias = "shared-indicators"
can_read = ["cert-a", "cert-b"]
can_write = ["cert-a"]

[[collections]]
id = "{REPORTS}"
api_root = "exchange"
title = "Reports from CERT B"
can_read = ["cert-a", "cert-b"]
can_write = ["cert-b"]
"""

# Variables the hub reads from the environment; cleared so the caller's shell cannot leak in.
CLEAN_ENV: dict[str, str | None] = {
    "KAKEHASHI_CONFIG": None,
    "KAKEHASHI_DATABASE": None,
    "KAKEHASHI_LISTEN": None,
}


def run(*args: str | Path, env: Mapping[str, str | None] | None = None) -> Result:
    runner = CliRunner(env={**CLEAN_ENV, **(env or {})})
    return runner.invoke(cli, [str(a) for a in args], prog_name="kakehashi", catch_exceptions=False)


@dataclass(frozen=True)
class Hub:
    """A configured hub in a temporary folder; nothing is created until a command runs."""

    config: Path
    database: Path

    def kakehashi(self, *args: str | Path, env: Mapping[str, str | None] | None = None) -> Result:
        return run("--config", self.config, *args, env=env)

    def stored(self, collection: str = SHARED, database: Path | None = None) -> list[str]:
        """The JSON texts the store holds for a collection, in date_added order."""
        store = SqliteStore(database or self.database)
        store.open()
        try:
            return [item.raw for item in store.iter_objects(collection, Visibility.all_objects())]
        finally:
            store.close()


@pytest.fixture
def hub(tmp_path: Path) -> Hub:
    config = tmp_path / "conf" / "hub.toml"
    config.parent.mkdir()
    config.write_text(CONFIG, encoding="utf-8")
    return Hub(config=config, database=config.parent / "hub.db")


def texts() -> list[str]:
    """Three objects serialised three different ways, to check they survive byte for byte."""
    return [
        json.dumps(indicator(1, name="指標 1 — ünïcode"), indent=2, ensure_ascii=False),
        json.dumps(dict(reversed(list(malware(2).items()))), separators=(",", ":")),
        json.dumps(ipv4(3)),
    ]


def bundle(objects: list[str], tmp_path: Path, name: str = "bundle.json") -> Path:
    path = tmp_path / name
    body = ",\n    ".join(objects)
    path.write_text(
        '{\n  "type": "bundle",\n  "id": "bundle--5eed0000-0000-4000-8000-000000000000",\n'
        f'  "objects": [\n    {body}\n  ]\n}}\n',
        encoding="utf-8",
    )
    return path


def invalid_indicator() -> str:
    return json.dumps({"type": "indicator", "spec_version": "2.1", "id": "indicator--bad"})


# -- token new ------------------------------------------------------------------------------


TOKEN_OUTPUT = re.compile(r'\Atoken: (?P<token>\S+)\ntoken_sha256 = "(?P<digest>[0-9a-f]{64})"\n\Z')


def test_token_new_prints_a_token_and_the_digest_line() -> None:
    result = run("token", "new")

    assert result.exit_code == 0
    match = TOKEN_OUTPUT.match(result.stdout)
    assert match is not None, result.stdout
    token = match["token"]
    assert len(token) >= 32
    assert hashlib.sha256(token.encode()).hexdigest() == match["digest"]


def test_token_new_line_configures_an_account_the_token_then_opens() -> None:
    match = TOKEN_OUTPUT.match(run("token", "new").stdout)
    assert match is not None
    digest_line = match.group(0).splitlines()[1]

    text = CONFIG.replace(f'token_sha256 = "{ALICE_SHA256}"', digest_line)
    settings = parse_settings(text, environ={})

    account = Authenticator(settings.accounts).authenticate(f"Bearer {match['token']}")
    assert account.username == "alice"


def test_token_new_is_fresh_every_time() -> None:
    first, second = run("token", "new").stdout, run("token", "new").stdout
    assert first != second


# -- check-config ---------------------------------------------------------------------------


def test_check_config_summarises_a_good_file(hub: Hub) -> None:
    result = hub.kakehashi("check-config")

    assert result.exit_code == 0
    assert result.stdout == (
        f"{hub.config}: OK — 2 organisations, 2 accounts, 1 API roots, 2 collections\n"
    )
    assert not hub.database.exists()  # checking never creates the database


def test_check_config_reads_the_config_path_from_the_environment(hub: Hub) -> None:
    result = run("check-config", env={"KAKEHASHI_CONFIG": str(hub.config)})
    assert result.exit_code == 0
    assert result.stdout.startswith(f"{hub.config}: OK")


def test_check_config_bad_file_exits_3_naming_file_line_and_key(hub: Hub) -> None:
    hub.config.write_text(
        CONFIG.replace('can_write = ["cert-b"]', 'can_write = ["cert-z"]'), encoding="utf-8"
    )
    line = CONFIG.splitlines().index('can_write = ["cert-b"]') + 1

    result = hub.kakehashi("check-config")

    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.stderr == (
        f"Error: {hub.config}:{line}: collections[1].can_write:"
        " names unknown organisation 'cert-z'\n"
    )


def test_check_config_wrong_type_names_line_and_key(hub: Hub) -> None:
    hub.config.write_text(
        CONFIG.replace("[hub]\n", '[hub]\nmax_page_size = "50"\n'), encoding="utf-8"
    )
    result = hub.kakehashi("check-config")
    assert result.exit_code == 3
    assert f"{hub.config}:2: hub.max_page_size: must be an integer, not str" in result.stderr


def test_check_config_missing_file_exits_3(tmp_path: Path) -> None:
    missing = tmp_path / "absent.toml"
    result = run("--config", missing, "check-config")
    assert result.exit_code == 3
    assert result.stderr == f"Error: {missing}: cannot read: No such file or directory\n"


# -- import ---------------------------------------------------------------------------------


def test_import_by_alias_stores_the_objects_byte_for_byte(hub: Hub, tmp_path: Path) -> None:
    objects = texts()

    result = hub.kakehashi("import", bundle(objects, tmp_path), "--collection", "shared-indicators")

    assert result.exit_code == 0, result.stderr
    assert result.stdout == "3 stored, 0 already present, 0 failed\n"
    assert hub.stored(SHARED) == objects
    assert hub.stored(REPORTS) == []


def test_import_by_collection_id(hub: Hub, tmp_path: Path) -> None:
    objects = texts()[:2]
    result = hub.kakehashi("import", bundle(objects, tmp_path), "--collection", REPORTS)
    assert result.exit_code == 0, result.stderr
    assert hub.stored(REPORTS) == objects


def test_import_accepts_a_taxii_envelope(hub: Hub, tmp_path: Path) -> None:
    objects = texts()
    path = tmp_path / "envelope.json"
    path.write_text('{"objects": [' + ", ".join(objects) + "]}", encoding="utf-8")

    result = hub.kakehashi("import", path, "--collection", SHARED)

    assert result.exit_code == 0, result.stderr
    assert hub.stored() == objects


def test_import_reports_invalid_objects_stores_the_rest_and_exits_5(
    hub: Hub, tmp_path: Path
) -> None:
    good = texts()
    path = bundle([good[0], invalid_indicator(), good[1]], tmp_path)

    result = hub.kakehashi("import", path, "--collection", SHARED)

    assert result.exit_code == 5
    assert result.stdout == "2 stored, 0 already present, 1 failed\n"
    failures = [line for line in result.stderr.splitlines() if line.startswith("failed: ")]
    assert len(failures) == 1
    assert failures[0].startswith("failed: indicator--bad: ")
    assert "UUID" in failures[0]
    assert hub.stored() == [good[0], good[1]]


def test_reimport_reports_already_present_and_stores_nothing(hub: Hub, tmp_path: Path) -> None:
    path = bundle(texts(), tmp_path)
    assert hub.kakehashi("import", path, "--collection", SHARED).exit_code == 0

    again = hub.kakehashi("import", path, "--collection", SHARED)

    assert again.exit_code == 0
    assert again.stdout == "0 stored, 3 already present, 0 failed\n"
    assert hub.stored() == texts()


def test_import_of_a_changed_object_under_the_same_version_fails(hub: Hub, tmp_path: Path) -> None:
    original = json.dumps(indicator(1))
    changed = json.dumps(indicator(1, name="Same id and modified, other content"))
    hub.kakehashi("import", bundle([original], tmp_path, "a.json"), "--collection", SHARED)

    result = hub.kakehashi("import", bundle([changed], tmp_path, "b.json"), "--collection", SHARED)

    assert result.exit_code == 5
    assert result.stdout == "0 stored, 0 already present, 1 failed\n"
    assert f"failed: {indicator(1)['id']}: a different object" in result.stderr
    assert hub.stored() == [original]


def test_import_new_versions_are_kept_beside_old_ones(hub: Hub, tmp_path: Path) -> None:
    versions = [json.dumps(indicator(1, version=v)) for v in range(3)]
    result = hub.kakehashi("import", bundle(versions, tmp_path), "--collection", SHARED)
    assert result.exit_code == 0
    assert hub.stored() == versions


def test_import_in_batches_of_one(hub: Hub, tmp_path: Path) -> None:
    objects = texts()
    result = hub.kakehashi(
        "import", bundle(objects, tmp_path), "--collection", SHARED, "--batch", "1"
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "3 stored, 0 already present, 0 failed\n"
    assert hub.stored() == objects


@pytest.mark.parametrize("size", ["0", "-1"])
def test_import_batch_size_must_be_positive(hub: Hub, tmp_path: Path, size: str) -> None:
    path = bundle(texts(), tmp_path)
    result = hub.kakehashi("import", path, "--collection", SHARED, "--batch", size)
    assert result.exit_code == 2
    assert "--batch" in result.stderr


IMPOSTOR = {
    "type": "marking-definition",
    "spec_version": "2.1",
    "id": "marking-definition--11111111-1111-4111-8111-111111111111",
    "created": "2024-01-01T00:00:00.000Z",
    "definition_type": "tlp",
    "name": "TLP:GREEN",
    "definition": {"tlp": "green"},
}
CERT_B_IDENTITY = "identity--a8d3c6f2-7d1e-4c55-8a0b-3e6f9b2c4d22"


@pytest.mark.parametrize(
    "obj",
    [
        indicator(5, created_by_ref=CERT_B_IDENTITY),
        indicator(6, object_marking_refs=[IMPOSTOR["id"]]),
    ],
    ids=["created-by-another-organisation", "marked-with-an-impostor-tlp"],
)
def test_import_refuses_what_a_post_refuses(hub: Hub, tmp_path: Path, obj: dict[str, Any]) -> None:
    path = bundle([json.dumps(IMPOSTOR), json.dumps(obj)], tmp_path)

    result = hub.kakehashi("import", path, "--collection", SHARED)

    assert result.exit_code == 5
    assert result.stdout == "0 stored, 0 already present, 2 failed\n"
    assert hub.stored() == []


def test_an_alias_used_in_two_api_roots_is_ambiguous(hub: Hub, tmp_path: Path) -> None:
    hub.config.write_text(
        CONFIG.replace(
            'title = "Exchange"\n',
            'title = "Exchange"\n\n[[api_roots]]\nname = "other"\ntitle = "Other"\n',
        )
        + '\n[[collections]]\nid = "11111111-1111-4111-8111-111111111111"\napi_root = "other"\n'
        'title = "Elsewhere"\nalias = "shared-indicators"\ncan_read = ["cert-a"]\n'
        'can_write = ["cert-a"]\n',
        encoding="utf-8",
    )
    assert hub.kakehashi("check-config").exit_code == 0

    result = hub.kakehashi("import", bundle(texts(), tmp_path), "--collection", "shared-indicators")

    assert result.exit_code == 2
    assert "--collection" in result.stderr
    assert not hub.database.exists()


def test_import_into_an_unknown_collection_is_a_usage_error(hub: Hub, tmp_path: Path) -> None:
    result = hub.kakehashi("import", bundle(texts(), tmp_path), "--collection", "nope")

    assert result.exit_code == 2
    assert (
        "Error: Invalid value for --collection: no collection 'nope' in the configuration"
        in result.stderr
    )
    assert not hub.database.exists()


@pytest.mark.parametrize("organization", ["cert-z", "cert-b"], ids=["unknown", "reader"])
def test_import_as_an_organisation_that_may_not_write_is_a_usage_error(
    hub: Hub, tmp_path: Path, organization: str
) -> None:
    path = bundle(texts(), tmp_path)
    result = hub.kakehashi("import", path, "--collection", SHARED, "--as", organization)
    assert result.exit_code == 2
    assert f"Invalid value for --as: '{organization}' may not write to this collection" in (
        result.stderr
    )
    assert not hub.database.exists()


def test_import_as_a_writer(hub: Hub, tmp_path: Path) -> None:
    objects = texts()
    path = bundle(objects, tmp_path)
    result = hub.kakehashi("import", path, "--collection", REPORTS, "--as", "cert-b")
    assert result.exit_code == 0, result.stderr
    assert hub.stored(REPORTS) == objects


def test_import_needs_as_when_several_organisations_write(hub: Hub, tmp_path: Path) -> None:
    hub.config.write_text(
        CONFIG.replace('can_write = ["cert-a"]', 'can_write = ["cert-a", "cert-b"]'),
        encoding="utf-8",
    )
    result = hub.kakehashi("import", bundle(texts(), tmp_path), "--collection", SHARED)
    assert result.exit_code == 2
    assert "name the writing organisation with --as (one of: cert-a, cert-b)" in result.stderr
    assert not hub.database.exists()


def test_import_of_a_file_that_is_not_json_exits_5(hub: Hub, tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"objects": [', encoding="utf-8")

    result = hub.kakehashi("import", path, "--collection", SHARED)

    assert result.exit_code == 5
    assert "Error: the body is not valid JSON" in result.stderr
    assert not hub.database.exists()


def test_import_with_a_bad_config_exits_3(hub: Hub, tmp_path: Path) -> None:
    hub.config.write_text(CONFIG.replace('title = "Exchange"', ""), encoding="utf-8")
    result = hub.kakehashi("import", bundle(texts(), tmp_path), "--collection", SHARED)
    assert result.exit_code == 3
    assert "api_roots[0].title: is required" in result.stderr


def test_kakehashi_database_overrides_the_file(hub: Hub, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere" / "other.db"
    objects = texts()

    result = hub.kakehashi(
        "import",
        bundle(objects, tmp_path),
        "--collection",
        SHARED,
        env={"KAKEHASHI_DATABASE": f"sqlite:///{elsewhere}"},
    )

    assert result.exit_code == 0, result.stderr
    assert hub.stored(SHARED, database=elsewhere) == objects
    assert not hub.database.exists()


# -- export ---------------------------------------------------------------------------------


@pytest.fixture
def imported(hub: Hub, tmp_path: Path) -> list[str]:
    """Fill the shared collection with texts() and a second version of the indicator, and
    the reports collection with one object; return what went into the shared one."""
    objects = [*texts(), json.dumps(indicator(1, version=1), indent=1)]
    other = [json.dumps(malware(9))]
    for collection, items, name in ((SHARED, objects, "in.json"), (REPORTS, other, "other.json")):
        result = hub.kakehashi(
            "import",
            bundle(items, tmp_path, name),
            "--collection",
            collection,
            "--as",
            "cert-a" if collection == SHARED else "cert-b",
        )
        assert result.exit_code == 0, result.stderr
    return objects


def exported_texts(body: bytes) -> list[str]:
    """The exact text of each object in an exported bundle."""
    items, members = split_envelope(body)
    assert members["type"] == "bundle"
    assert re.fullmatch(
        r"bundle--[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
        members["id"],
    )
    return [item.raw for item in items]


def test_export_all_writes_a_bundle_of_exactly_the_stored_objects(
    hub: Hub, tmp_path: Path, imported: list[str]
) -> None:
    out = tmp_path / "out" / "export.json"
    out.parent.mkdir()

    result = hub.kakehashi("export", "--collection", SHARED, "--all", "--output", out)

    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    body = out.read_bytes()
    assert exported_texts(body) == hub.stored(SHARED) == imported
    parsed: Any = stix2.parse(body.decode("utf-8"), allow_custom=False)
    assert parsed.type == "bundle"
    assert [o.id for o in parsed.objects] == [json.loads(t)["id"] for t in imported]


def test_export_to_stdout_by_alias(hub: Hub, imported: list[str]) -> None:
    result = hub.kakehashi("export", "--collection", "shared-indicators", "--all")
    assert result.exit_code == 0, result.stderr
    assert exported_texts(result.stdout_bytes) == imported


def test_export_holds_only_that_collection(hub: Hub, imported: list[str]) -> None:
    result = hub.kakehashi("export", "--collection", REPORTS, "--all", "-o", "-")
    assert result.exit_code == 0, result.stderr
    assert exported_texts(result.stdout_bytes) == [json.dumps(malware(9))]


def test_export_of_an_unknown_collection_is_a_usage_error(hub: Hub, tmp_path: Path) -> None:
    out = tmp_path / "export.json"

    result = hub.kakehashi("export", "--collection", "nope", "--all", "--output", out)

    assert result.exit_code == 2
    assert "Invalid value for --collection: no collection 'nope'" in result.stderr
    assert not out.exists()
    assert not hub.database.exists()


def test_export_of_an_empty_collection_omits_objects(hub: Hub) -> None:
    result = hub.kakehashi("export", "--collection", SHARED, "--all")
    assert result.exit_code == 0
    exported = json.loads(result.stdout)
    assert exported["type"] == "bundle"
    assert "objects" not in exported


# -- serve (no socket: a bad address is refused before anything starts) ---------------------


def test_serve_refuses_a_bad_listen_address(hub: Hub) -> None:
    result = hub.kakehashi("serve", "--listen", "nowhere")
    assert result.exit_code == 2
    assert "Invalid value for --listen: 'nowhere' is not HOST:PORT" in result.stderr
    assert not hub.database.exists()
