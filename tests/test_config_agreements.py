"""Agreements, parties, constituents and ceilings in hub.toml.

The agreement shape of the issue is accepted as written; every bad agreement file is
refused with a :class:`ConfigError` naming the key, the 1-based line and the reason. As in
tests/test_config.py, the line an error must name carries a ``# <-`` marker placed by hand,
so the expectation does not depend on the code that locates keys.
"""

from __future__ import annotations

# The issue's text is kept verbatim, en dashes included: they are not typos.
# ruff: noqa: RUF001
import json
import re
import tomllib
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from kakehashi.cli import cli
from kakehashi.config import (
    Agreement,
    Collection,
    Organization,
    Party,
    load_settings,
    parse_settings,
)
from kakehashi.errors import ConfigError
from kakehashi.policy import Policy
from kakehashi.stix.markings import Tlp
from kakehashi.stix.validate import validate_object
from kakehashi.stix.visibility import Visibility

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
MARK = "# <-"

CERT_A_IDENTITY = "identity--5f0e7a3c-2a71-4bb2-9e9b-0c2f1d8a6b11"
CERT_B_IDENTITY = "identity--a8d3c6f2-7d1e-4c55-8a0b-3e6f9b2c4d22"
TELCO_IDENTITY = "identity--1c9e4f7a-3b2d-4e6f-8a1b-2c3d4e5f6a7b"
COLLECTION_ID = "3b1f8c2e-5d4a-4f6b-9e7c-8a0b1c2d3e4f"

# The issue's text, verbatim.
ISSUE = """\
[hub]
default_tlp = "amber"
[[organizations]]
key = "telco-b1"
name = "A telecom operator under CERT B"
identity = "identity--1c9e4f7a-3b2d-4e6f-8a1b-2c3d4e5f6a7b"
parent = "cert-b"
ceiling = "green"          # optional, only lowers what the parent may receive
[[agreements]]
key = "ab-2020"
title = "A–B cybersecurity cooperation"
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
id = "3b1f8c2e-5d4a-4f6b-9e7c-8a0b1c2d3e4f"
api_root = "exchange"
title = "A–B 5G and CII indicators"
agreement = "ab-2020"
"""

# What the issue's text needs besides: a title, the two CERTs, accounts and the API root.
NEEDED = f"""
[[organizations]]
key = "cert-a"
name = "CERT A"
identity = "{CERT_A_IDENTITY}"

[[organizations]]
key = "cert-b"
name = "CERT B"
identity = "{CERT_B_IDENTITY}"

[[accounts]]
username = "alice"
organization = "cert-a"
token_sha256 = "{"a" * 64}"

[[accounts]]
username = "tom"
organization = "telco-b1"
token_sha256 = "{"b" * 64}"

[[api_roots]]
name = "exchange"
title = "Exchange"
"""

ISSUE_FILE = ISSUE.replace("[hub]\n", '[hub]\ntitle = "A–B hub"\n', 1) + NEEDED

# The same tables in the order a person writes them (CERTs before their constituents);
# the bad files below are edits of this text.
BASE = f"""\
[hub]
title = "A–B hub"
default_tlp = "amber"

[[organizations]]
key = "cert-a"
name = "CERT A"
identity = "{CERT_A_IDENTITY}"

[[organizations]]
key = "cert-b"
name = "CERT B"
identity = "{CERT_B_IDENTITY}"

[[organizations]]
key = "telco-b1"
name = "A telecom operator under CERT B"
identity = "{TELCO_IDENTITY}"
parent = "cert-b"
ceiling = "green"          # optional, only lowers what the parent may receive

[[api_roots]]
name = "exchange"
title = "Exchange"

[[agreements]]
key = "ab-2020"
title = "A–B cybersecurity cooperation"
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
id = "{COLLECTION_ID}"
api_root = "exchange"
title = "A–B 5G and CII indicators"
agreement = "ab-2020"
"""

PARTY_A = '  organization = "cert-a"\n  roles = ["producer", "consumer"]\n  ceiling = "red"\n'
PARTY_B = '  organization = "cert-b"\n  roles = ["producer", "consumer"]\n  ceiling = "amber"\n'
SECOND_AGREEMENT = """
[[agreements]]
key = "{key}"
title = "Another agreement"
  [[agreements.parties]]
  organization = "cert-a"
  roles = ["consumer"]
"""


def edited(*replacements: tuple[str, str], base: str = BASE) -> str:
    """``base`` with each ``(old, new)`` applied; ``old`` must occur exactly once."""
    text = base
    for old, new in replacements:
        assert text.count(old) == 1, f"{old!r} must occur once in the base text"
        text = text.replace(old, new)
    return text


def marked_line(text: str) -> int:
    lines = [n for n, line in enumerate(text.splitlines(), start=1) if line.endswith(MARK)]
    assert len(lines) == 1, "exactly one marked line per case"
    return lines[0]


def parse_error(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as excinfo:
        parse_settings(text, source="hub.toml", environ={})
    return excinfo.value


# -- the issue's shape, accepted as written -------------------------------------------------


def test_issue_agreement_text_is_accepted_as_written(tmp_path: Path) -> None:
    assert ISSUE_FILE.startswith('[hub]\ntitle = "A–B hub"\n' + ISSUE.removeprefix("[hub]\n"))

    settings = parse_settings(ISSUE_FILE, base_dir=tmp_path, environ={})

    assert settings.hub.default_tlp is Tlp.AMBER
    assert settings.organization("telco-b1") == Organization(
        key="telco-b1",
        name="A telecom operator under CERT B",
        identity=TELCO_IDENTITY,
        parent="cert-b",
        ceiling=Tlp.GREEN,
    )
    assert settings.organization("cert-a").parent == ""
    assert settings.organization("cert-a").ceiling is None
    assert settings.agreements == (
        Agreement(
            key="ab-2020",
            title="A–B cybersecurity cooperation",
            sectors=("cii", "5g", "iot", "ai"),
            parties=(
                Party("cert-a", frozenset({"producer", "consumer"}), Tlp.RED),
                Party("cert-b", frozenset({"producer", "consumer"}), Tlp.AMBER),
            ),
        ),
    )
    assert settings.collections == (
        Collection(
            id=COLLECTION_ID,
            api_root="exchange",
            title="A–B 5G and CII indicators",
            agreement="ab-2020",
        ),
    )


def test_issue_agreement_means_what_it_says() -> None:
    """The parsed agreement drives the sharing rules: parties read and write, the
    constituent reads through its parent, and its own ceiling only lowers what it gets."""
    settings = parse_settings(ISSUE_FILE, environ={})
    policy = Policy(settings)
    collection = settings.collections[0]

    cert_a = policy.visibility("cert-a", collection)
    cert_b = policy.visibility("cert-b", collection)
    telco = policy.visibility("telco-b1", collection)
    assert cert_a is not None
    assert cert_b is not None
    assert telco is not None
    assert (cert_a.open_level, cert_a.strict, cert_a.recipient_level) == (Tlp.AMBER, True, Tlp.RED)
    assert (cert_b.open_level, cert_b.strict, cert_b.recipient_level) == (
        Tlp.AMBER,
        True,
        Tlp.AMBER_STRICT,
    )
    assert (telco.open_level, telco.strict, telco.recipient_level) == (Tlp.GREEN, False, Tlp.GREEN)
    assert telco.identity == TELCO_IDENTITY
    assert telco.default_tlp is Tlp.AMBER
    assert policy.may_write("cert-a", collection)
    assert policy.may_write("cert-b", collection)
    assert not policy.may_write("telco-b1", collection)  # constituents read, never write


def test_constituent_ceiling_never_raises_the_parents() -> None:
    text = edited(('ceiling = "green"          #', 'ceiling = "red"          #'))
    settings = parse_settings(text, environ={})
    telco = Policy(settings).visibility("telco-b1", settings.collections[0])
    assert telco is not None
    # CERT B is capped at AMBER; the constituent's own "red" does not lift that.
    assert (telco.open_level, telco.strict, telco.recipient_level) == (
        Tlp.AMBER,
        False,
        Tlp.AMBER_STRICT,
    )


def test_party_ceiling_defaults_to_amber_and_sectors_are_free_vocabulary() -> None:
    text = edited(
        (PARTY_B, '  organization = "cert-b"\n  roles = ["consumer"]\n'),
        ('sectors = ["cii", "5g", "iot", "ai"]', 'sectors = ["CII", " space "]'),
    )
    agreement = parse_settings(text, environ={}).agreements[0]
    assert agreement.party("cert-b") == Party("cert-b", frozenset({"consumer"}), Tlp.AMBER)
    assert agreement.sectors == ("cii", "space")


def test_a_coordinator_party_is_accepted() -> None:
    text = edited((PARTY_B, PARTY_B.replace('"producer", "consumer"', '"coordinator"')))
    party = parse_settings(text, environ={}).agreements[0].party("cert-b")
    assert party is not None
    assert party.roles == frozenset({"coordinator"})


# -- bad agreement files: key, line and reason --------------------------------------------


def swap(old: str, new: str) -> str:
    """BASE with ``old`` replaced by ``new``, on a line marked as the one to report."""
    return edited((old, f"{new}  {MARK}"))


def organization_line(key: str, line: str) -> tuple[str, str]:
    """An edit adding ``line`` (marked) to the organisation ``key``."""
    header = f'[[organizations]]\nkey = "{key}"\n'
    return header, f"{header}{line}  {MARK}\n"


# fmt: off
BAD = [
    pytest.param(
        swap('  organization = "cert-b"', '  organization = "cert-z"'),
        "agreements[0].parties[1].organization", "names unknown organisation 'cert-z'",
        id="party-names-unknown-organisation",
    ),
    pytest.param(
        swap('  ceiling = "red"', '  ceiling = "crimson"'),
        "agreements[0].parties[0].ceiling", "'crimson' is not a TLP level",
        id="party-unknown-tlp-level",
    ),
    pytest.param(
        swap('  ceiling = "amber"', '  ceiling = "amber+"'),
        "agreements[0].parties[1].ceiling", "'amber+' is not a TLP level",
        id="party-almost-a-tlp-level",
    ),
    pytest.param(
        edited((PARTY_A, PARTY_A.replace(
            '["producer", "consumer"]', f'["producer", "auditor"]  {MARK}'))),
        "agreements[0].parties[0].roles",
        "unknown role 'auditor' (roles: producer, consumer, coordinator)",
        id="party-unknown-role",
    ),
    pytest.param(
        edited((PARTY_B, PARTY_B.replace('["producer", "consumer"]', f"[]  {MARK}"))),
        "agreements[0].parties[1].roles", "a party needs at least one role",
        id="party-without-roles",
    ),
    pytest.param(
        edited((PARTY_B, PARTY_B.replace('"cert-b"', f'"cert-b"\n  role = "consumer"  {MARK}'))),
        "agreements[0].parties[1].role", "unknown key (allowed here: ceiling, organization, roles)",
        id="party-misspelt-key",
    ),
    pytest.param(
        swap('  organization = "cert-b"', '  organization = "cert-a"'),
        "agreements[0].parties[1].organization",
        "duplicate organization 'cert-a' (first used by agreements[0].parties[0])",
        id="duplicate-party",
    ),
    pytest.param(
        edited(
            ("  [[agreements.parties]]\n" + PARTY_A + "  [[agreements.parties]]\n" + PARTY_B,
             f"parties = []  {MARK}\n"),
        ),
        "agreements[0].parties", "an agreement needs at least one party",
        id="agreement-with-empty-parties",
    ),
    pytest.param(
        edited(
            ("[[agreements]]\n", f"[[agreements]]  {MARK}\n"),
            ("  [[agreements.parties]]\n" + PARTY_A + "  [[agreements.parties]]\n" + PARTY_B, ""),
        ),
        "agreements[0].parties", "is required",
        id="agreement-without-parties",
    ),
    pytest.param(
        edited(organization_line("cert-a", 'parent = "cert-a"')),
        "organizations[0].parent", "parent chain is circular: cert-a -> cert-a",
        id="parent-is-itself",
    ),
    pytest.param(
        edited(
            organization_line("cert-a", 'parent = "cert-b"'),
            ('identity = "' + CERT_B_IDENTITY + '"\n',
             'identity = "' + CERT_B_IDENTITY + '"\nparent = "cert-a"\n'),
        ),
        "organizations[0].parent", "parent chain is circular: cert-a -> cert-b -> cert-a",
        id="parent-cycle-of-two",
    ),
    pytest.param(
        swap('parent = "cert-b"', 'parent = "cert-q"'),
        "organizations[2].parent", "names unknown organisation 'cert-q'",
        id="parent-does-not-exist",
    ),
    pytest.param(
        swap('ceiling = "green"          # optional, only lowers what the parent may receive',
             'ceiling = "greenish"'),
        "organizations[2].ceiling", "'greenish' is not a TLP level",
        id="organisation-bad-ceiling",
    ),
    pytest.param(
        edited(('agreement = "ab-2020"\n',
                f'agreement = "ab-2020"  {MARK}\ncan_read = ["cert-a"]\n')),
        "collections[0].agreement",
        "a collection follows either an agreement or can_read/can_write, not both",
        id="collection-agreement-and-can-read",
    ),
    pytest.param(
        edited(('agreement = "ab-2020"\n',
                f'can_write = ["cert-b"]\nagreement = "ab-2020"  {MARK}\n')),
        "collections[0].agreement",
        "a collection follows either an agreement or can_read/can_write, not both",
        id="collection-agreement-and-can-write",
    ),
    pytest.param(
        swap('agreement = "ab-2020"', 'agreement = "ab-2021"'),
        "collections[0].agreement", "names unknown agreement 'ab-2021'",
        id="collection-unknown-agreement",
    ),
    pytest.param(
        BASE + SECOND_AGREEMENT.format(key="ab-2020").replace(
            'key = "ab-2020"', f'key = "ab-2020"  {MARK}'),
        "agreements[1].key", "duplicate key 'ab-2020' (first used by agreements[0])",
        id="duplicate-agreement-key",
    ),
    pytest.param(
        BASE + SECOND_AGREEMENT.format(key="AB 2021").replace(
            'key = "AB 2021"', f'key = "AB 2021"  {MARK}'),
        "agreements[1].key", "must be lower-case letters, digits, '-' or '_'",
        id="agreement-key-syntax",
    ),
    pytest.param(
        swap('sectors = ["cii", "5g", "iot", "ai"]', 'sectors = ["cii", ""]'),
        "agreements[0].sectors", "must be a list of non-empty strings",
        id="agreement-empty-sector",
    ),
    pytest.param(
        swap('default_tlp = "amber"', 'default_tlp = "orange"'),
        "hub.default_tlp",
        "'orange' is not a TLP level (clear, green, amber, amber+strict, red; white = clear)",
        id="bad-default-tlp",
    ),
]
# fmt: on


@pytest.mark.parametrize(("text", "key", "reason"), BAD)
def test_bad_agreement_config_names_key_line_and_reason(text: str, key: str, reason: str) -> None:
    tomllib.loads(text)  # each case is valid TOML: the hub, not the TOML parser, refuses it
    error = parse_error(text)
    assert error.key == key
    assert reason in error.reason
    assert error.line == marked_line(text)
    assert str(error).startswith(f"hub.toml:{error.line}: {key}: ")


CYCLE_BEHIND_A_CONSTITUENT = f"""\
[hub]
title = "t"

[[organizations]]
key = "telco-b1"
name = "A telecom operator under CERT B"
identity = "{TELCO_IDENTITY}"
parent = "cert-b"

[[organizations]]
key = "cert-a"
name = "CERT A"
identity = "{CERT_A_IDENTITY}"
parent = "cert-b"  {MARK}

[[organizations]]
key = "cert-b"
name = "CERT B"
identity = "{CERT_B_IDENTITY}"
parent = "cert-a"
"""


def test_a_cycle_is_reported_on_an_organisation_in_it() -> None:
    error = parse_error(CYCLE_BEHIND_A_CONSTITUENT)
    assert "parent chain is circular" in error.reason
    assert error.key == "organizations[1].parent"
    assert error.line == marked_line(CYCLE_BEHIND_A_CONSTITUENT)


# -- the examples and the documentation -----------------------------------------------------


@pytest.mark.parametrize("name", ["hub.toml", "india-japan.toml"])
def test_example_passes_check_config(name: str) -> None:
    path = EXAMPLES / name
    settings = load_settings(path, environ={})
    result = CliRunner(env={"KAKEHASHI_DATABASE": None, "KAKEHASHI_LISTEN": None}).invoke(
        cli, ["--config", str(path), "check-config"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"{path}: OK — {len(settings.organizations)} organisations,"
        f" {len(settings.accounts)} accounts, {len(settings.api_roots)} API roots,"
        f" {len(settings.collections)} collections\n"
    )


def test_india_japan_example_models_the_agreement() -> None:
    settings = load_settings(EXAMPLES / "india-japan.toml", environ={})

    assert settings.hub.database == "sqlite:///india-japan.db"
    assert settings.hub.default_tlp is Tlp.AMBER
    orgs = {o.key: o for o in settings.organizations}
    assert {k: (o.parent, o.ceiling) for k, o in orgs.items() if o.parent} == {
        "in-grid": ("cert-in", Tlp.AMBER),
        "in-telco": ("cert-in", Tlp.GREEN),
        "jp-5g": ("jpcert", Tlp.AMBER),
        "jp-rail": ("jpcert", Tlp.GREEN),
    }
    for org in orgs.values():  # fresh random identities, not the test suite's
        assert uuid.UUID(org.identity.removeprefix("identity--")).version == 4
    assert {a.organization for a in settings.accounts} == set(orgs)
    assert len({a.token_sha256 for a in settings.accounts}) == len(settings.accounts)

    bilateral = settings.agreement("in-jp-2020")
    assert bilateral.sectors == ("cii", "5g", "iot", "ai")
    assert {p.organization: (p.roles, p.ceiling) for p in bilateral.parties} == {
        "cert-in": (frozenset({"producer", "consumer"}), Tlp.RED),
        "jpcert": (frozenset({"producer", "consumer"}), Tlp.RED),
        "in-nciipc": (frozenset({"coordinator"}), Tlp.AMBER),
        "jp-nisc": (frozenset({"coordinator"}), Tlp.AMBER),
    }
    quad = settings.agreement("quad-green")
    assert {p.organization for p in quad.parties} == {"cert-in", "jpcert", "au-cert", "us-cert"}
    assert {p.ceiling for p in quad.parties} == {Tlp.GREEN}
    assert all(p.roles == frozenset({"producer", "consumer"}) for p in quad.parties)
    assert sorted((c.alias, c.agreement) for c in settings.collections) == [
        ("green-indicators", "quad-green"),
        ("indicators", "in-jp-2020"),
        ("reports", "in-jp-2020"),
    ]


# The "who sees what" table of docs/agreements.md for the in-jp collections:
# CLEAR, GREEN, AMBER, AMBER+STRICT, RED naming it, unmarked (None: no access).
IN_JP_TABLE: dict[str, tuple[bool, ...] | None] = {
    "cert-in": (True, True, True, True, True, True),
    "jpcert": (True, True, True, True, True, True),
    "in-nciipc": (True, True, True, True, False, True),
    "jp-nisc": (True, True, True, True, False, True),
    "in-grid": (True, True, True, False, False, True),
    "jp-5g": (True, True, True, False, False, True),
    "in-telco": (True, True, False, False, False, False),
    "jp-rail": (True, True, False, False, False, False),
    "au-cert": None,
    "us-cert": None,
}


def _row(visibility: Visibility | None) -> tuple[bool, ...] | None:
    if visibility is None:
        return None
    return (
        visibility.open_level >= Tlp.CLEAR,
        visibility.open_level >= Tlp.GREEN,
        visibility.open_level >= Tlp.AMBER,
        visibility.strict,
        visibility.recipient_level is Tlp.RED,
        visibility.default_tlp <= visibility.open_level,
    )


def test_india_japan_example_shares_as_the_docs_say() -> None:
    settings = load_settings(EXAMPLES / "india-japan.toml", environ={})
    policy = Policy(settings)
    by_alias = {c.alias: c for c in settings.collections}

    for alias in ("indicators", "reports"):
        rows = {
            o.key: _row(policy.visibility(o.key, by_alias[alias])) for o in settings.organizations
        }
        assert rows == IN_JP_TABLE

    # The GREEN community: the four CERTs and the CERTs' constituents, CLEAR and GREEN only.
    quad = {
        o.key: _row(policy.visibility(o.key, by_alias["green-indicators"]))
        for o in settings.organizations
    }
    community = (True, True, False, False, False, False)
    assert quad == {key: None if key in {"in-nciipc", "jp-nisc"} else community for key in quad}

    # Writers: producers and coordinators; a coordinator may post for a constituent.
    indicators = by_alias["indicators"]
    assert {o.key for o in settings.organizations if policy.may_write(o.key, indicators)} == {
        "cert-in",
        "jpcert",
        "in-nciipc",
        "jp-nisc",
    }
    grid = settings.organization("in-grid").identity
    assert policy.may_claim("in-nciipc", indicators, grid)
    assert not policy.may_claim("cert-in", indicators, grid)


def _blocks(language: str) -> list[str]:
    text = (ROOT / "docs" / "agreements.md").read_text(encoding="utf-8")
    return re.findall(rf"```{language}\n(.*?)```", text, re.DOTALL)


def test_agreements_doc_toml_fragments_match_the_example() -> None:
    example = (EXAMPLES / "india-japan.toml").read_text(encoding="utf-8")
    fragments = _blocks("toml")
    assert len(fragments) >= 3
    for fragment in fragments:
        tomllib.loads(fragment)
        for line in fragment.splitlines():
            if "=" in line and not line.lstrip().startswith("#"):
                key_value = line.split("#")[0].strip()
                assert key_value in example, f"{key_value!r} is not in examples/india-japan.toml"


def test_agreements_doc_red_example_is_a_valid_object_for_cert_in() -> None:
    [text] = _blocks("json")
    obj = json.loads(text)
    checked = validate_object(obj, text)
    settings = load_settings(EXAMPLES / "india-japan.toml", environ={})
    assert checked.tlp is Tlp.RED
    assert checked.recipients == (settings.organization("cert-in").identity,)
    assert checked.created_by_ref == settings.organization("jpcert").identity
