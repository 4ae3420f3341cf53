"""hub.toml: the issue's minimal file is accepted; every bad file names its key and line.

Bad files are built by editing the minimal file. The line the error must name carries a
``# <-`` comment (placed by hand, so the expectation is independent of the locator); a case
without the marker expects ``line is None`` (there is no line to point at).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kakehashi.config import (
    ACCOUNT_FIELDS,
    AGREEMENT_FIELDS,
    API_ROOT_FIELDS,
    COLLECTION_FIELDS,
    DEFAULT_LISTEN,
    HUB_FIELDS,
    ORGANIZATION_FIELDS,
    PARTY_FIELDS,
    Account,
    ApiRoot,
    Collection,
    Field,
    Organization,
    load_settings,
    parse_settings,
)
from kakehashi.errors import ConfigError
from kakehashi.stix.markings import Tlp

ROOT = Path(__file__).resolve().parent.parent

# SHA-256 of the tokens tests/conftest.py gives alice and bob.
ALICE_SHA256 = "965b04f03a8200d4bff70f6df635c1d4d3e9c9a1d164d415efc95b9304bfbaf2"
BOB_SHA256 = "0357e24c1cb1874dde0773886097863f71ac666f63fba1e9d4c623b79ffda11f"
ALICE_TOKEN = "alice-token-0123456789"
COLLECTION_ID = "9e5c7a1b-3f2d-4e8a-b6c4-1d0f2a3b4c5d"

# The minimal hub.toml of the issue, verbatim but for the digests (tests/conftest.py's CONFIG_TEXT
# without its extras: max_page_size, a third organisation and account, two more collections).
MINIMAL = f"""\
[hub]
title = "Kakehashi test hub"
database = "sqlite:///hub.db"   # relative to this file; or postgresql://user@host:port/db

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
token_sha256 = "{BOB_SHA256}"

[[api_roots]]
name = "exchange"
title = "Exchange"

[[collections]]
id = "{COLLECTION_ID}"
api_root = "exchange"
title = "Shared indicators"
can_read = ["cert-a", "cert-b"]
can_write = ["cert-a"]
"""

MARK = "# <-"
DATABASE_LINE = (
    'database = "sqlite:///hub.db"   # relative to this file; or postgresql://user@host:port/db'
)


def edited(*replacements: tuple[str, str]) -> str:
    """MINIMAL with each ``(old, new)`` applied; ``old`` must occur exactly once."""
    text = MINIMAL
    for old, new in replacements:
        assert text.count(old) == 1, f"{old!r} must occur once in the base text"
        text = text.replace(old, new)
    return text


def marked_line(text: str) -> int | None:
    """The 1-based line carrying the ``# <-`` marker, or None."""
    lines = [n for n, line in enumerate(text.splitlines(), start=1) if line.endswith(MARK)]
    assert len(lines) <= 1, "at most one marked line per case"
    return lines[0] if lines else None


def parse_error(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as excinfo:
        parse_settings(text, environ={})
    return excinfo.value


# -- the good file ---------------------------------------------------------------------------


def test_issue_minimal_file_is_accepted_as_written(tmp_path: Path) -> None:
    settings = parse_settings(MINIMAL, source="hub.toml", base_dir=tmp_path, environ={})

    hub = settings.hub
    assert hub.title == "Kakehashi test hub"
    assert hub.database == "sqlite:///hub.db"
    # Every key the file leaves out takes its declared default.
    assert hub.description == ""
    assert hub.contact == ""
    assert hub.listen == DEFAULT_LISTEN == "127.0.0.1:8470"
    assert hub.max_content_length == 10 * 1024 * 1024
    assert hub.max_page_size == 1000
    assert hub.status_retention_s == 7 * 86400
    assert hub.default_tlp == Tlp.AMBER
    assert settings.organizations == (
        Organization("cert-a", "CERT A", "identity--5f0e7a3c-2a71-4bb2-9e9b-0c2f1d8a6b11"),
        Organization("cert-b", "CERT B", "identity--a8d3c6f2-7d1e-4c55-8a0b-3e6f9b2c4d22"),
    )
    assert settings.accounts == (
        Account("alice", "cert-a", ALICE_SHA256),
        Account("bob", "cert-b", BOB_SHA256),
    )
    assert settings.api_roots == (ApiRoot("exchange", "Exchange"),)
    assert settings.collections == (
        Collection(
            id=COLLECTION_ID,
            api_root="exchange",
            title="Shared indicators",
            can_read=("cert-a", "cert-b"),
            can_write=("cert-a",),
        ),
    )
    assert settings.base_dir == tmp_path
    assert settings.source == "hub.toml"


def test_load_settings_reads_the_file_and_resolves_against_its_folder(tmp_path: Path) -> None:
    path = tmp_path / "conf" / "hub.toml"
    path.parent.mkdir()
    path.write_text(MINIMAL, encoding="utf-8")

    settings = load_settings(path, environ={})

    assert settings.base_dir == path.parent
    assert settings.source == str(path)
    assert settings.collections[0].id == COLLECTION_ID


def test_account_repr_never_shows_the_digest() -> None:
    settings = parse_settings(MINIMAL, environ={})
    assert ALICE_SHA256 not in repr(settings.accounts[0])


def test_example_hub_toml_is_valid() -> None:
    settings = load_settings(ROOT / "examples" / "hub.toml", environ={})
    assert [c.alias for c in settings.collections] == ["shared-indicators", ""]


@pytest.mark.parametrize(
    ("line", "attribute", "expected"),
    [
        ('listen = "[::1]:8470"', "listen", "[::1]:8470"),
        ('listen = "0.0.0.0:1"', "listen", "0.0.0.0:1"),
        ('status_retention = "24h"', "status_retention_s", 86400),
        ('status_retention = "1d"', "status_retention_s", 86400),
        ('status_retention = "1440m"', "status_retention_s", 86400),
        ('status_retention = "86400s"', "status_retention_s", 86400),
        ('status_retention = "30d"', "status_retention_s", 30 * 86400),
        ('database = "postgresql://hub@db:5432/hub"', "database", "postgresql://hub@db:5432/hub"),
        ('database = "postgres://hub@db/hub"', "database", "postgres://hub@db/hub"),
        ('database = "sqlite:////var/lib/hub.db"', "database", "sqlite:////var/lib/hub.db"),
        ("max_page_size = 1", "max_page_size", 1),
        ("max_content_length = 1", "max_content_length", 1),
    ],
)
def test_good_hub_values(line: str, attribute: str, expected: object) -> None:
    hub = parse_settings(edited((DATABASE_LINE, line)), environ={}).hub
    assert getattr(hub, attribute) == expected


def test_alias_may_repeat_in_another_api_root() -> None:
    text = edited(
        ('title = "Shared indicators"', 'title = "Shared indicators"\nalias = "shared"'),
        (
            '[[api_roots]]\nname = "exchange"',
            '[[api_roots]]\nname = "other"\ntitle = "Other"\n\n[[api_roots]]\nname = "exchange"',
        ),
    )
    text += (
        '\n[[collections]]\nid = "11111111-1111-4111-8111-111111111111"\n'
        'api_root = "other"\ntitle = "Elsewhere"\nalias = "shared"\n'
    )
    settings = parse_settings(text, environ={})
    assert [(c.api_root, c.alias) for c in settings.collections] == [
        ("exchange", "shared"),
        ("other", "shared"),
    ]


# -- bad files: key, line and reason ---------------------------------------------------------


def swap(old: str, new: str) -> str:
    """MINIMAL with ``old`` replaced by ``new``, on a line marked as the one to report."""
    return edited((old, f"{new}  {MARK}"))


def in_hub(line: str) -> str:
    """MINIMAL with ``line`` added to [hub] and marked."""
    return edited(("[hub]\n", f"[hub]\n{line}  {MARK}\n"))


def header_without(table: str, *removed: str) -> str:
    """MINIMAL without the ``removed`` lines; ``table`` (a unique text that starts with the
    table's header) gets the mark, as a missing key is reported at its table's header."""
    header, newline, rest = table.partition("\n")
    return edited((table, f"{header}  {MARK}{newline}{rest}"), *((line, "") for line in removed))


def allowed(fields: tuple[Field, ...]) -> str:
    """The reason given for an unknown key: it lists every key the section declares."""
    return f"unknown key (allowed here: {', '.join(sorted(f.name for f in fields))})"


def collection(
    id: str = "11111111-1111-4111-8111-111111111111", extra: str = "", *, id_mark: str = ""
) -> str:
    """A further [[collections]] table to append to MINIMAL."""
    return (
        f'\n[[collections]]\nid = "{id}"{id_mark}\napi_root = "exchange"\ntitle = "More"\n{extra}'
    )


HUB_HEAD = '[hub]\ntitle = "Kakehashi test hub"\n'
ORG_A = '[[organizations]]\nkey = "cert-a"'
ORG_B = '[[organizations]]\nkey = "cert-b"'
ORG_B_IDENTITY = 'identity = "identity--a8d3c6f2-7d1e-4c55-8a0b-3e6f9b2c4d22"'
ALICE = '[[accounts]]\nusername = "alice"'
BOB = '[[accounts]]\nusername = "bob"'
ALICE_DIGEST_LINE = f'token_sha256 = "{ALICE_SHA256}"'
BOB_DIGEST_LINE = f'token_sha256 = "{BOB_SHA256}"'
COLLECTION_ID_LINE = f'id = "{COLLECTION_ID}"'
NO_HUB = edited((HUB_HEAD, ""), (DATABASE_LINE, ""))
AGREEMENT = """
[[agreements]]
key = "india-japan"
title = "India-Japan cybersecurity cooperation"
sectors = ["cii", "5g"]

[[agreements.parties]]
organization = "cert-a"
roles = ["producer", "consumer"]

[[agreements.parties]]
organization = "cert-b"
roles = ["consumer"]
"""

# fmt: off
BAD = [
    # unknown keys, one per section, and unknown sections
    pytest.param(
        in_hub('titel = "x"'), "hub.titel", allowed(HUB_FIELDS),
        id="unknown-hub-key",
    ),
    pytest.param(
        swap('name = "CERT B"', 'name = "CERT B"\nsector = "cii"'),
        "organizations[1].sector", allowed(ORGANIZATION_FIELDS),
        id="unknown-organization-key",
    ),
    pytest.param(
        swap('username = "alice"', 'username = "alice"\npassword = "s3cret"'),
        "accounts[0].password", allowed(ACCOUNT_FIELDS),
        id="unknown-account-key",
    ),
    pytest.param(
        swap('title = "Exchange"', 'title = "Exchange"\nmax_content_length = 10'),
        "api_roots[0].max_content_length", allowed(API_ROOT_FIELDS),
        id="unknown-api-root-key",
    ),
    pytest.param(
        swap('can_read = ["cert-a", "cert-b"]', 'media_types = ["application/stix+json"]'),
        "collections[0].media_types",
        allowed(COLLECTION_FIELDS),
        id="unknown-collection-key",
    ),
    pytest.param(
        MINIMAL + AGREEMENT.replace('"5g"]', f'"5g"]\nparty = "cert-a"  {MARK}'),
        "agreements[0].party", allowed(AGREEMENT_FIELDS),
        id="unknown-agreement-key",
    ),
    pytest.param(
        MINIMAL + AGREEMENT + f'ceiling = "green"\nrole = "consumer"  {MARK}\n',
        "agreements[0].parties[1].role", allowed(PARTY_FIELDS),
        id="unknown-party-key",
    ),
    pytest.param(
        MINIMAL + f'\n[replication]  {MARK}\nurl = "https://peer.example/taxii2/"\n',
        "replication", "unknown section (allowed: accounts, ",
        id="unknown-section",
    ),
    pytest.param(
        MINIMAL + f'\n[[sharing_groups]]  {MARK}\nname = "india-japan"\n',
        "sharing_groups", "unknown section",
        id="unknown-array-section",
    ),
    pytest.param(
        MINIMAL + f'\n[replication.cert-c]  {MARK}\nurl = "https://peer.example/taxii2/"\n',
        "replication", "unknown section",
        id="unknown-dotted-section",
    ),
    pytest.param(
        f"debug = true  {MARK}\n" + MINIMAL, "debug", "unknown section",
        id="unknown-top-level-key",
    ),
    # missing required keys: reported at the header of the table that lacks them
    pytest.param(
        header_without("[hub]", 'title = "Kakehashi test hub"\n'), "hub.title", "is required",
        id="missing-hub-title",
    ),
    pytest.param(
        header_without(ORG_B, ORG_B_IDENTITY + "\n"), "organizations[1].identity", "is required",
        id="missing-organization-identity",
    ),
    pytest.param(
        header_without(BOB, BOB_DIGEST_LINE + "\n"), "accounts[1].token_sha256", "is required",
        id="missing-account-token",
    ),
    pytest.param(
        header_without(ALICE, 'organization = "cert-a"\n'), "accounts[0].organization",
        "is required",
        id="missing-account-organization",
    ),
    pytest.param(
        header_without('[[api_roots]]\nname = "exchange"', 'title = "Exchange"\n'),
        "api_roots[0].title", "is required",
        id="missing-api-root-title",
    ),
    pytest.param(
        header_without("[[collections]]", COLLECTION_ID_LINE + "\n"), "collections[0].id",
        "is required",
        id="missing-collection-id",
    ),
    pytest.param(
        header_without("[[collections]]", 'api_root = "exchange"\n'), "collections[0].api_root",
        "is required",
        id="missing-collection-api-root",
    ),
    pytest.param(NO_HUB, "hub", "the [hub] table is required", id="missing-hub-table"),
    pytest.param(
        swap('name = "CERT A"', 'name = "  "'), "organizations[0].name", "must not be empty",
        id="blank-required-string",
    ),
    # wrong types
    pytest.param(
        in_hub('max_page_size = "50"'), "hub.max_page_size", "must be an integer, not str",
        id="string-for-int",
    ),
    pytest.param(
        swap('title = "Kakehashi test hub"', "title = 5"), "hub.title",
        "must be a string, not int",
        id="int-for-string",
    ),
    pytest.param(
        in_hub("max_content_length = true"), "hub.max_content_length",
        "must be an integer, not bool",
        id="bool-for-int",
    ),
    pytest.param(
        in_hub("max_page_size = 2.5"), "hub.max_page_size", "must be an integer, not float",
        id="float-for-int",
    ),
    pytest.param(
        swap('username = "bob"', "username = 7"), "accounts[1].username",
        "must be a string, not int",
        id="int-for-username",
    ),
    pytest.param(
        swap('can_write = ["cert-a"]', 'can_write = "cert-a"'), "collections[0].can_write",
        "must be a list, not str",
        id="string-for-list",
    ),
    pytest.param(
        in_hub("status_retention = 7"), "hub.status_retention", "must be a string, not int",
        id="int-for-duration",
    ),
    pytest.param(
        f'hub = "Kakehashi"  {MARK}\n' + NO_HUB, "hub", "must be a table",
        id="hub-not-a-table",
    ),
    pytest.param(
        edited(
            (ORG_A, f'[organizations]  {MARK}\nkey = "cert-a"'),
            (f'{ORG_B}\nname = "CERT B"\n{ORG_B_IDENTITY}\n', ""),
        ),
        "organizations", "must be an array of tables ([[organizations]])",
        id="organizations-not-an-array",
    ),
    # duplicates: reported at the second occurrence
    pytest.param(
        swap('key = "cert-b"', 'key = "cert-a"'), "organizations[1].key",
        "duplicate key 'cert-a' (first used by organizations[0])",
        id="duplicate-organization-key",
    ),
    pytest.param(
        swap(ORG_B_IDENTITY, 'identity = "identity--5f0e7a3c-2a71-4bb2-9e9b-0c2f1d8a6b11"'),
        "organizations[1].identity",
        "duplicate identity 'identity--5f0e7a3c-2a71-4bb2-9e9b-0c2f1d8a6b11'",
        id="duplicate-identity",
    ),
    pytest.param(
        swap('username = "bob"', 'username = "alice"'), "accounts[1].username",
        "duplicate username 'alice' (first used by accounts[0])",
        id="duplicate-username",
    ),
    pytest.param(
        swap(BOB_DIGEST_LINE, ALICE_DIGEST_LINE), "accounts[1].token_sha256",
        "duplicate token_sha256",
        id="duplicate-token-digest",
    ),
    pytest.param(
        MINIMAL + f'\n[[api_roots]]\nname = "exchange"  {MARK}\ntitle = "Again"\n',
        "api_roots[1].name", "duplicate name 'exchange' (first used by api_roots[0])",
        id="duplicate-api-root",
    ),
    pytest.param(
        MINIMAL + collection(COLLECTION_ID, id_mark=f"  {MARK}"),
        "collections[1].id", f"duplicate id '{COLLECTION_ID}' (first used by collections[0])",
        id="duplicate-collection-id",
    ),
    pytest.param(
        edited(('title = "Shared indicators"', 'title = "Shared indicators"\nalias = "shared"'))
        + collection(extra=f'alias = "shared"  {MARK}\n'),
        "collections[1].alias", "duplicate alias",
        id="duplicate-alias",
    ),
    pytest.param(
        MINIMAL + collection(extra='alias = "dup"\n')
        + collection("22222222-2222-4222-8222-222222222222", f'alias = "dup"  {MARK}\n'),
        "collections[2].alias",
        "duplicate alias 'dup' in API root 'exchange' (first used by collections[1])",
        id="duplicate-alias-after-a-collection-without-one",
    ),
    # references to things the file does not define
    pytest.param(
        swap('organization = "cert-b"', 'organization = "cert-z"'), "accounts[1].organization",
        "names unknown organisation 'cert-z'",
        id="account-unknown-organization",
    ),
    pytest.param(
        swap('can_read = ["cert-a", "cert-b"]', 'can_read = ["cert-a", "cert-z"]'),
        "collections[0].can_read", "names unknown organisation 'cert-z'",
        id="can-read-unknown-organization",
    ),
    pytest.param(
        swap('can_write = ["cert-a"]', 'can_write = ["cert-z"]'), "collections[0].can_write",
        "names unknown organisation 'cert-z'",
        id="can-write-unknown-organization",
    ),
    pytest.param(
        swap('can_read = ["cert-a", "cert-b"]', 'can_read = ["cert-a", 2]'),
        "collections[0].can_read", "names unknown organisation 2",
        id="can-read-not-a-string",
    ),
    pytest.param(
        swap('api_root = "exchange"', 'api_root = "exchnage"'), "collections[0].api_root",
        "names unknown API root 'exchnage'",
        id="unknown-api-root",
    ),
    # identifiers and names
    pytest.param(
        swap(
            'identity = "identity--5f0e7a3c-2a71-4bb2-9e9b-0c2f1d8a6b11"',
            'identity = "identity--5F0E7A3C-2A71-4BB2-9E9B-0C2F1D8A6B11"',
        ),
        "organizations[0].identity", "must be a STIX identity id: identity--<lower-case UUID>",
        id="identity-upper-case",
    ),
    pytest.param(
        swap(ORG_B_IDENTITY, ORG_B_IDENTITY.replace("identity--", "organization--")),
        "organizations[1].identity", "must be a STIX identity id",
        id="identity-wrong-type",
    ),
    pytest.param(
        swap(
            'identity = "identity--5f0e7a3c-2a71-4bb2-9e9b-0c2f1d8a6b11"',
            'identity = "identity--cert-a"',
        ),
        "organizations[0].identity", "must be a STIX identity id",
        id="identity-not-a-uuid",
    ),
    pytest.param(
        swap('key = "cert-a"', 'key = "CERT-A"'), "organizations[0].key",
        "must be lower-case letters, digits, '-' or '_'",
        id="organization-key-upper-case",
    ),
    pytest.param(
        swap(COLLECTION_ID_LINE, f'id = "{COLLECTION_ID.upper()}"'),
        "collections[0].id", "must be a lower-case UUID",
        id="collection-id-upper-case",
    ),
    pytest.param(
        swap(COLLECTION_ID_LINE, 'id = "shared-indicators"'), "collections[0].id",
        "must be a lower-case UUID",
        id="collection-id-not-a-uuid",
    ),
    pytest.param(
        swap(COLLECTION_ID_LINE, COLLECTION_ID_LINE.replace("-", "")), "collections[0].id",
        "must be a lower-case UUID",
        id="collection-id-without-hyphens",
    ),
    pytest.param(
        swap('title = "Shared indicators"', 'title = "Shared indicators"\nalias = "a/b"'),
        "collections[0].alias", "must be lower-case letters, digits, '-' or '_'",
        id="alias-with-slash",
    ),
    pytest.param(
        swap('name = "exchange"', 'name = "taxii2"'), "api_roots[0].name", "(and not 'taxii2')",
        id="api-root-named-taxii2",
    ),
    pytest.param(
        swap('name = "exchange"', 'name = "ex/change"'), "api_roots[0].name",
        "must be letters, digits, '-' or '_'",
        id="api-root-with-slash",
    ),
    pytest.param(
        swap('username = "bob"', 'username = "bob:x"'), "accounts[1].username",
        "must not contain ':' (HTTP Basic)",
        id="username-with-colon",
    ),
    # token digests
    pytest.param(
        swap(ALICE_DIGEST_LINE, f'token_sha256 = "{ALICE_SHA256.upper()}"'),
        "accounts[0].token_sha256",
        "must be 64 lower-case hex digits (the SHA-256 of the token, never the token)",
        id="sha256-upper-case",
    ),
    pytest.param(
        swap(BOB_DIGEST_LINE, f'token_sha256 = "{BOB_SHA256[:63]}"'), "accounts[1].token_sha256",
        "must be 64 lower-case hex digits",
        id="sha256-short",
    ),
    pytest.param(
        swap(ALICE_DIGEST_LINE, f'token_sha256 = "{ALICE_TOKEN}"'), "accounts[0].token_sha256",
        "never the token",
        id="sha256-is-a-plaintext-token",
    ),
    # [hub] values
    pytest.param(
        in_hub('listen = "localhost"'), "hub.listen", "'localhost' is not HOST:PORT",
        id="listen-without-port",
    ),
    pytest.param(
        in_hub('listen = "127.0.0.1:65536"'), "hub.listen", "is not HOST:PORT",
        id="listen-port-out-of-range",
    ),
    pytest.param(
        in_hub('listen = "127.0.0.1:http"'), "hub.listen", "is not HOST:PORT",
        id="listen-port-not-a-number",
    ),
    pytest.param(
        in_hub('listen = ":8470"'), "hub.listen", "is not HOST:PORT", id="listen-without-host"
    ),
    pytest.param(
        in_hub('status_retention = "23h"'), "hub.status_retention", "must be at least 24h",
        id="status-retention-under-24h",
    ),
    pytest.param(
        in_hub('status_retention = "86399s"'), "hub.status_retention", "must be at least 24h",
        id="status-retention-one-second-short",
    ),
    pytest.param(
        in_hub('status_retention = "7 days"'), "hub.status_retention",
        "'7 days' is not a duration like 30s, 10m, 24h or 7d",
        id="status-retention-words",
    ),
    pytest.param(
        in_hub('status_retention = "7"'), "hub.status_retention", "is not a duration",
        id="status-retention-no-unit",
    ),
    pytest.param(
        in_hub('status_retention = "1.5d"'), "hub.status_retention", "is not a duration",
        id="status-retention-fraction",
    ),
    pytest.param(
        in_hub("max_page_size = 0"), "hub.max_page_size", "must be a positive integer",
        id="max-page-size-zero",
    ),
    pytest.param(
        in_hub("max_content_length = -1"), "hub.max_content_length", "must be a positive integer",
        id="max-content-length-negative",
    ),
    pytest.param(
        swap(DATABASE_LINE, 'database = "mysql://hub@db/hub"'), "hub.database",
        "must start with sqlite:/// or postgresql://",
        id="database-mysql",
    ),
    pytest.param(
        swap(DATABASE_LINE, 'database = "sqlite://hub.db"'), "hub.database",
        "must start with sqlite:/// or postgresql://",
        id="database-sqlite-two-slashes",
    ),
    pytest.param(
        swap(DATABASE_LINE, 'database = "sqlite:///"'), "hub.database",
        "a sqlite URL needs a file name",
        id="database-sqlite-without-file",
    ),
    pytest.param(
        swap(DATABASE_LINE, 'database = "hub.db"'), "hub.database",
        "must start with sqlite:/// or postgresql://",
        id="database-bare-path",
    ),
]
# fmt: on


@pytest.mark.parametrize(("text", "key", "fragment"), BAD)
def test_bad_config_names_key_line_and_reason(text: str, key: str, fragment: str) -> None:
    error = parse_error(text)

    assert error.key == key
    assert error.line == marked_line(text)
    assert fragment in error.reason
    # The rendered message carries all three, as a terminal user sees it.
    where = "hub.toml" if error.line is None else f"hub.toml:{error.line}"
    assert str(error) == f"{where}: {key}: {error.reason}"


def test_plaintext_token_is_not_echoed_in_the_error() -> None:
    error = parse_error(
        edited((f'token_sha256 = "{ALICE_SHA256}"', f'token_sha256 = "{ALICE_TOKEN}"'))
    )
    assert ALICE_TOKEN not in str(error)


def test_error_names_the_source_file() -> None:
    with pytest.raises(ConfigError) as excinfo:
        parse_settings(
            edited(('title = "Exchange"', "")), source="/etc/kakehashi/hub.toml", environ={}
        )
    assert excinfo.value.path == "/etc/kakehashi/hub.toml"
    assert str(excinfo.value).startswith("/etc/kakehashi/hub.toml:25: api_roots[0].title:")


def test_issue_file_lines_are_the_lines_of_the_issue_text() -> None:
    """Spot checks with literal line numbers in the issue's file, independent of markers."""
    cases = {
        ('can_write = ["cert-a"]', 'can_write = ["cert-c"]'): ("collections[0].can_write", 34),
        ('organization = "cert-b"', 'organization = "cert-c"'): ("accounts[1].organization", 22),
        ('title = "Exchange"', 'title = ""'): ("api_roots[0].title", 27),
        ('key = "cert-b"', 'key = "cert-a"'): ("organizations[1].key", 11),
    }
    for (old, new), (key, line) in cases.items():
        error = parse_error(edited((old, new)))
        assert (error.key, error.line) == (key, line)


def test_unknown_default_tlp_is_rejected() -> None:
    text = edited(("[hub]\n", f'[hub]\ndefault_tlp = "purple"  {MARK}\n'))
    error = parse_error(text)
    assert (error.key, error.line) == ("hub.default_tlp", marked_line(text))
    assert "'purple'" in error.reason


# -- TOML syntax, encoding, missing files ---------------------------------------------------


INVALID_TOML = edited(("[hub]\n", f"[hub]\nmax_page_size = = 5  {MARK}\n"))


def test_invalid_toml_is_a_config_error_naming_the_parser_line() -> None:
    error = parse_error(INVALID_TOML)
    assert error.reason.startswith("not valid TOML: ")
    assert "line 2" in error.reason
    assert error.key == ""


def test_duplicate_key_in_a_table_is_a_toml_error() -> None:
    error = parse_error(edited(("[hub]\n", '[hub]\ntitle = "Twice"\n')))
    assert error.reason.startswith("not valid TOML: ")
    assert "line 3" in error.reason


def test_invalid_toml_sets_the_line_attribute() -> None:
    # tomllib has TOMLDecodeError.lineno only from Python 3.14; the line must be there before.
    assert parse_error(INVALID_TOML).line == marked_line(INVALID_TOML) == 2


def test_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "hub.toml"
    path.write_bytes(MINIMAL.replace("CERT A", "CERT \xc4").encode("latin-1"))
    with pytest.raises(ConfigError) as excinfo:
        load_settings(path, environ={})
    assert excinfo.value.path == str(path)
    assert excinfo.value.reason == "is not UTF-8 text"
    assert str(excinfo.value) == f"{path}: is not UTF-8 text"


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.toml"
    with pytest.raises(ConfigError) as excinfo:
        load_settings(path, environ={})
    assert excinfo.value.path == str(path)
    assert excinfo.value.line is None
    assert excinfo.value.reason == "cannot read: No such file or directory"


def test_folder_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as excinfo:
        load_settings(tmp_path, environ={})
    assert excinfo.value.reason.startswith("cannot read: ")


# -- environment overrides -------------------------------------------------------------------


def test_env_overrides_database_and_listen() -> None:
    text = edited(("[hub]\n", '[hub]\nlisten = "127.0.0.1:1111"\n'))
    settings = parse_settings(
        text,
        environ={
            "KAKEHASHI_DATABASE": "postgresql://hub@db.example:5432/hub",
            "KAKEHASHI_LISTEN": "0.0.0.0:2222",
        },
    )
    assert settings.hub.database == "postgresql://hub@db.example:5432/hub"
    assert settings.hub.listen == "0.0.0.0:2222"


def test_empty_env_values_are_ignored() -> None:
    settings = parse_settings(MINIMAL, environ={"KAKEHASHI_DATABASE": "", "KAKEHASHI_LISTEN": ""})
    assert settings.hub.database == "sqlite:///hub.db"
    assert settings.hub.listen == DEFAULT_LISTEN


def test_environ_argument_replaces_the_process_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KAKEHASHI_LISTEN", "0.0.0.0:3333")
    assert parse_settings(MINIMAL, environ={}).hub.listen == DEFAULT_LISTEN
    assert parse_settings(MINIMAL).hub.listen == "0.0.0.0:3333"


@pytest.mark.parametrize(
    ("variable", "value", "key"),
    [
        ("KAKEHASHI_LISTEN", "nonsense", "hub.listen"),
        ("KAKEHASHI_DATABASE", "mysql://hub@db/hub", "hub.database"),
        ("KAKEHASHI_DATABASE", "sqlite:///", "hub.database"),
    ],
)
def test_bad_env_value_names_the_variable_not_a_line(variable: str, value: str, key: str) -> None:
    # The value is not in the file, so no line of the file is blamed for it.
    text = edited(("[hub]\n", '[hub]\nlisten = "127.0.0.1:1"\n'))
    with pytest.raises(ConfigError) as excinfo:
        parse_settings(text, environ={variable: value})
    assert excinfo.value.key == key
    assert f"the environment variable {variable}" in excinfo.value.reason
    assert excinfo.value.line is None
