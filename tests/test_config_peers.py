"""Federation peers in hub.toml: the issue's ``[[peers]]`` shape is accepted as written, and
every bad peer is refused with a :class:`ConfigError` naming the key, the 1-based line and
the reason; a missing peer token stops ``serve`` and ``sync`` before anything starts.

As in tests/test_config.py, the line an error must name carries a ``# <-`` marker placed by
hand, so the expectation does not depend on the code that locates keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from kakehashi.cli import EXIT_CONFIG, cli
from kakehashi.config import Peer, PeerCollection, parse_settings
from kakehashi.errors import ConfigError
from kakehashi.store.sqlite import SqliteStore
from kakehashi.sync import SyncRunner, peer_token

MARK = "# <-"
TOKEN_ENV = "KAKEHASHI_PEER_HUB_A_TOKEN"
REMOTE = "3b1f8c2e-5d4a-4f6b-9e7c-8a0b1c2d3e4f"
LOCAL = "7c2e9d1f-4a3b-4c5d-8e6f-9a0b1c2d3e4f"
CERT_A_IDENTITY = "identity--5f0e7a3c-2a71-4bb2-9e9b-0c2f1d8a6b11"
CERT_B_IDENTITY = "identity--a8d3c6f2-7d1e-4c55-8a0b-3e6f9b2c4d22"
# What a careless operator might paste into token_env: tokens as `kakehashi token new`
# (URL-safe base64) and `secrets.token_hex` make them.
URLSAFE_TOKEN = "q3J-vX8_Zm9vYmFy-c2VjcmV0LXRva2Vu"
HEX_TOKEN = "f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
UNKNOWN_LOCAL = "00000000-4a3b-4c5d-8e6f-9a0b1c2d3e4f"
URL_LINE = 'url = "http://127.0.0.1:8470/taxii2/"'

# The issue's [[peers]] text, verbatim (indentation included).
ISSUE_PEER = f"""\
[[peers]]
name = "hub-a"
url = "http://127.0.0.1:8470/taxii2/"
username = "b-sync"
token_env = "{TOKEN_ENV}"
organization = "cert-a"
interval = "5s"

  [[peers.collections]]
  remote = "{REMOTE}"
  local = "{LOCAL}"
  direction = "pull"
"""

# What the peer needs besides: the hub, the organisation standing for the peer (cert-a),
# the hub's own organisation, and the local collection the mapping names.
NEEDED = f"""\
[hub]
title = "Hub B"
database = "sqlite:///hub.db"

[[organizations]]
key = "cert-a"
name = "CERT A"
identity = "{CERT_A_IDENTITY}"

[[organizations]]
key = "cert-b"
name = "CERT B"
identity = "{CERT_B_IDENTITY}"

[[api_roots]]
name = "exchange"
title = "Exchange"

[[collections]]
id = "{LOCAL}"
api_root = "exchange"
title = "Indicators from hub A"
can_read = ["cert-a", "cert-b"]
can_write = ["cert-a"]

"""

ISSUE_FILE = NEEDED + ISSUE_PEER
# Hub B run by CERT B: what hub A sends is received by CERT B.
BASE = ISSUE_FILE.replace('title = "Hub B"\n', 'title = "Hub B"\norganization = "cert-b"\n', 1)


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


def test_issue_peer_text_is_accepted_as_written(tmp_path: Path) -> None:
    assert ISSUE_FILE.endswith(ISSUE_PEER)

    settings = parse_settings(ISSUE_FILE, base_dir=tmp_path, environ={})

    mapping = PeerCollection(remote=REMOTE, local=LOCAL, direction="pull", interval_s=5.0)
    assert settings.peers == (
        Peer(
            name="hub-a",
            url="http://127.0.0.1:8470/taxii2/",
            token_env=TOKEN_ENV,
            organization="cert-a",
            # No receiver and no [hub] organization: AMBER and above are kept, shown to nobody.
            receiver="",
            collections=(mapping,),
            username="b-sync",
            interval_s=5.0,
        ),
    )
    assert mapping.pulls
    assert not mapping.pushes


def test_receiver_defaults_to_the_hub_organization() -> None:
    (peer,) = parse_settings(BASE, environ={}).peers
    assert peer.receiver == "cert-b"


def test_a_peer_names_its_own_receiver() -> None:
    text = edited(
        ('interval = "5s"\n', 'interval = "5s"\nreceiver = "cert-a"\n'),
    )
    (peer,) = parse_settings(text, environ={}).peers
    assert peer.receiver == "cert-a"


def test_mapping_defaults_and_overrides() -> None:
    text = edited(
        (
            '  direction = "pull"\n',
            f'\n  [[peers.collections]]\n  remote = "shared"\n  local = "{LOCAL}"\n'
            '  direction = "both"\n  interval = "500ms"\n'
            f'\n  [[peers.collections]]\n  remote = "other"\n  local = "{LOCAL}"\n',
        ),
    )
    (peer,) = parse_settings(text, environ={}).peers
    first, second, third = peer.collections
    assert (first.direction, first.interval_s) == ("pull", 5.0)
    assert (second.remote, second.direction, second.interval_s) == ("shared", "both", 0.5)
    assert second.pulls
    assert second.pushes
    # Without direction and interval: pull, at the peer's interval.
    assert (third.direction, third.interval_s) == ("pull", 5.0)


def test_peer_defaults_without_username_and_interval() -> None:
    text = edited(
        ('username = "b-sync"\n', ""),
        ('interval = "5s"\n', ""),
        ('  direction = "pull"\n', ""),
        ('url = "http://127.0.0.1:8470/taxii2/"', 'url = "https://hub-a.example/taxii2"'),
    )
    (peer,) = parse_settings(text, environ={}).peers
    assert peer.username == ""  # a Bearer token
    assert peer.interval_s == 60.0
    assert peer.url == "https://hub-a.example/taxii2/"
    assert peer.collections[0].direction == "pull"
    assert peer.collections[0].interval_s == 60.0


# -- bad peers: key, line and reason ---------------------------------------------------------

SECOND_PEER = f"""
[[peers]]
name = "hub-a"  {MARK}
url = "http://127.0.0.1:8471/taxii2/"
token_env = "OTHER_TOKEN"
organization = "cert-a"

  [[peers.collections]]
  remote = "{REMOTE}"
  local = "{LOCAL}"
"""
MAPPING_TABLES = f'  [[peers.collections]]\n  remote = "{REMOTE}"\n  local = "{LOCAL}"\n'

# fmt: off
BAD = [
    pytest.param(
        edited(('organization = "cert-a"\ninterval', f'organization = "cert-z"  {MARK}\ninterval')),
        "peers[0].organization", "names unknown organisation 'cert-z'",
        id="unknown-organization",
    ),
    pytest.param(
        edited(('interval = "5s"\n', f'interval = "5s"\nreceiver = "cert-x"  {MARK}\n')),
        "peers[0].receiver", "names unknown organisation 'cert-x'",
        id="unknown-receiver",
    ),
    pytest.param(
        edited((f'  local = "{LOCAL}"', f'  local = "{UNKNOWN_LOCAL}"  {MARK}')),
        "peers[0].collections[0].local", f"names unknown local collection '{UNKNOWN_LOCAL}'",
        id="unknown-local-collection",
    ),
    pytest.param(
        # An alias is not enough for the local side: it must be the collection's id.
        edited(
            ('can_write = ["cert-a"]\n', 'can_write = ["cert-a"]\nalias = "from-a"\n'),
            (f'  local = "{LOCAL}"', f'  local = "from-a"  {MARK}'),
        ),
        "peers[0].collections[0].local", "names unknown local collection 'from-a'",
        id="local-collection-by-alias",
    ),
    pytest.param(
        edited(('  direction = "pull"', f'  direction = "both-ways"  {MARK}')),
        "peers[0].collections[0].direction", "must be one of pull, push, both",
        id="bad-direction",
    ),
    pytest.param(
        edited(('  direction = "pull"', f'  direction = "Pull"  {MARK}')),
        "peers[0].collections[0].direction", "must be one of pull, push, both",
        id="direction-is-case-sensitive",
    ),
    pytest.param(
        edited(('interval = "5s"', f'interval = "5 seconds"  {MARK}')),
        "peers[0].interval", "'5 seconds' is not a duration like 30s, 10m, 24h or 7d",
        id="interval-in-words",
    ),
    pytest.param(
        edited(('interval = "5s"', f'interval = "0s"  {MARK}')),
        "peers[0].interval", "must be longer than zero",
        id="interval-zero",
    ),
    pytest.param(
        edited(('interval = "5s"', f'interval = 5  {MARK}')),
        "peers[0].interval", "must be a string, not int",
        id="interval-number",
    ),
    pytest.param(
        edited(('  direction = "pull"', f'  direction = "pull"\n  interval = "0ms"  {MARK}')),
        "peers[0].collections[0].interval", "must be longer than zero",
        id="mapping-interval-zero",
    ),
    pytest.param(
        edited((f'token_env = "{TOKEN_ENV}"', f'token_env = "{URLSAFE_TOKEN}"  {MARK}')),
        "peers[0].token_env",
        "must be the NAME of an environment variable in capitals, e.g. KAKEHASHI_PEER_TOKEN"
        " (the token itself never goes in the file)",
        id="token-pasted-into-token-env",
    ),
    pytest.param(
        edited((f'token_env = "{TOKEN_ENV}"', f'token_env = "{HEX_TOKEN}"  {MARK}')),
        "peers[0].token_env", "must be the NAME of an environment variable in capitals",
        id="hex-token-pasted-into-token-env",
    ),
    pytest.param(
        edited((f'token_env = "{TOKEN_ENV}"', f'token_env = "kakehashi_peer_token"  {MARK}')),
        "peers[0].token_env", "must be the NAME of an environment variable in capitals",
        id="token-env-lower-case",
    ),
    pytest.param(
        edited((f'token_env = "{TOKEN_ENV}"', f'token_env = "$KAKEHASHI_PEER_TOKEN"  {MARK}')),
        "peers[0].token_env", "must be the NAME of an environment variable",
        id="token-env-with-dollar",
    ),
    pytest.param(
        edited((f'token_env = "{TOKEN_ENV}"\n', "")).replace("[[peers]]", f"[[peers]]  {MARK}"),
        "peers[0].token_env", "is required",
        id="token-env-missing",
    ),
    pytest.param(
        # The token itself under a key of its own: refused as an unknown key.
        edited(('interval = "5s"\n', f'interval = "5s"\ntoken = "{URLSAFE_TOKEN}"  {MARK}\n')),
        "peers[0].token", "unknown key (allowed here: collections, interval, name,",
        id="token-key",
    ),
    pytest.param(
        edited(('url = "http://127.0.0.1:8470/taxii2/"\n', "")).replace(
            "[[peers]]", f"[[peers]]  {MARK}"
        ),
        "peers[0].url", "is required",
        id="url-missing",
    ),
    pytest.param(
        edited(('url = "http://127.0.0.1:8470/taxii2/"', f'url = ""  {MARK}')),
        "peers[0].url", "must not be empty",
        id="url-empty",
    ),
    pytest.param(
        edited((URL_LINE, f'url = "ftp://hub-a.example/taxii2/"  {MARK}')),
        "peers[0].url", "must be an http:// or https:// URL",
        id="url-ftp",
    ),
    pytest.param(
        edited((URL_LINE, f'url = "127.0.0.1:8470/taxii2/"  {MARK}')),
        "peers[0].url", "must be an http:// or https:// URL",
        id="url-without-scheme",
    ),
    pytest.param(
        edited(('name = "hub-a"', f'name = "Hub A"  {MARK}')),
        "peers[0].name", "must be lower-case letters, digits, '-' or '_'",
        id="name-upper-case",
    ),
    pytest.param(
        BASE + SECOND_PEER,
        "peers[1].name", "duplicate name 'hub-a' (first used by peers[0])",
        id="duplicate-peer-name",
    ),
    pytest.param(
        edited(("\n" + MAPPING_TABLES + '  direction = "pull"\n', "")).replace(
            "[[peers]]", f"[[peers]]  {MARK}"
        ),
        "peers[0].collections", "is required",
        id="no-collections",
    ),
    pytest.param(
        edited(
            ("\n" + MAPPING_TABLES + '  direction = "pull"\n', ""),
            ('interval = "5s"\n', f'interval = "5s"\ncollections = []  {MARK}\n'),
        ),
        "peers[0].collections", "a peer needs at least one collection mapping",
        id="empty-collections",
    ),
    pytest.param(
        edited((f'  remote = "{REMOTE}"\n', "")).replace(
            "  [[peers.collections]]", f"  [[peers.collections]]  {MARK}"
        ),
        "peers[0].collections[0].remote", "is required",
        id="mapping-without-remote",
    ),
    pytest.param(
        edited(('  direction = "pull"', f'  direction = "pull"\n  remote_url = "x"  {MARK}')),
        "peers[0].collections[0].remote_url",
        "unknown key (allowed here: direction, interval, local, remote)",
        id="mapping-unknown-key",
    ),
    pytest.param(
        edited(('organization = "cert-b"', f'organization = "cert-q"  {MARK}')),
        "hub.organization", "names unknown organisation 'cert-q'",
        id="hub-organization-unknown",
    ),
]
# fmt: on


@pytest.mark.parametrize(("text", "key", "fragment"), BAD)
def test_bad_peer_names_key_line_and_reason(text: str, key: str, fragment: str) -> None:
    error = parse_error(text)

    assert error.key == key
    assert error.line == marked_line(text)
    assert fragment in error.reason
    assert str(error) == f"hub.toml:{error.line}: {key}: {error.reason}"


@pytest.mark.parametrize(
    ("line", "token"),
    [
        (f'token_env = "{URLSAFE_TOKEN}"', URLSAFE_TOKEN),
        # A hex token that starts with a letter is a valid variable name in lower case; it
        # was once accepted, and the start-up error then printed it ("variable <token> is
        # not set"). Names must now be in capitals.
        (f'token_env = "{HEX_TOKEN}"', HEX_TOKEN),
        (f'token = "{URLSAFE_TOKEN}"', URLSAFE_TOKEN),
    ],
    ids=["urlsafe-in-token-env", "hex-in-token-env", "under-a-token-key"],
)
def test_a_pasted_token_is_not_echoed_in_the_error(line: str, token: str) -> None:
    error = parse_error(edited((f'token_env = "{TOKEN_ENV}"', line)))
    assert token not in str(error)


# -- the token comes from the environment, and its absence stops start-up --------------------


def test_peer_token_reads_the_named_variable() -> None:
    (peer,) = parse_settings(BASE, environ={}).peers
    assert peer_token(peer, {TOKEN_ENV: "s3cret"}) == "s3cret"


@pytest.mark.parametrize("environ", [{}, {TOKEN_ENV: ""}], ids=["unset", "empty"])
def test_missing_peer_token_is_a_config_error_naming_the_variable(
    environ: Mapping[str, str],
) -> None:
    (peer,) = parse_settings(BASE, environ={}).peers
    with pytest.raises(ConfigError) as excinfo:
        peer_token(peer, environ)
    assert excinfo.value.key == "peers.hub-a.token_env"
    assert TOKEN_ENV in excinfo.value.reason
    assert "'hub-a'" in excinfo.value.reason


def test_sync_runner_refuses_to_start_without_the_token(tmp_path: Path) -> None:
    settings = parse_settings(BASE, base_dir=tmp_path, environ={})
    store = SqliteStore(tmp_path / "hub.db")  # never opened: the runner fails first
    with pytest.raises(ConfigError) as excinfo:
        SyncRunner(settings, store, environ={"SOME_OTHER_TOKEN": "x"})
    assert TOKEN_ENV in str(excinfo.value)
    assert not (tmp_path / "hub.db").exists()


def test_sync_runner_refuses_an_unknown_peer_name(tmp_path: Path) -> None:
    settings = parse_settings(BASE, base_dir=tmp_path, environ={})
    with pytest.raises(ConfigError) as excinfo:
        SyncRunner(
            settings, SqliteStore(tmp_path / "hub.db"), environ={TOKEN_ENV: "t"}, peers=("hub-z",)
        )
    assert "no peer named 'hub-z'" in str(excinfo.value)


# -- the command line: exit 3 before anything starts -----------------------------------------

CLEAN_ENV: dict[str, str | None] = {
    "KAKEHASHI_CONFIG": None,
    "KAKEHASHI_DATABASE": None,
    "KAKEHASHI_LISTEN": None,
    TOKEN_ENV: None,
}


def run(config: Path, *args: str) -> Result:
    runner = CliRunner(env=CLEAN_ENV)
    return runner.invoke(
        cli, ["--config", str(config), *args], prog_name="kakehashi", catch_exceptions=False
    )


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "conf" / "hub.toml"
    path.parent.mkdir()
    path.write_text(BASE, encoding="utf-8")
    return path


def test_serve_without_the_peer_token_exits_3_before_binding(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    def bound(*args: object, **kwargs: object) -> None:
        raise AssertionError("serve started the server although a peer token is missing")

    monkeypatch.setattr(uvicorn, "run", bound)  # a tripwire: never reached when it works

    result = run(config, "serve", "--listen", "127.0.0.1:18470")

    assert result.exit_code == EXIT_CONFIG == 3
    assert f"environment variable {TOKEN_ENV} is not set" in result.stderr
    assert "'hub-a'" in result.stderr
    assert not (config.parent / "hub.db").exists()


def test_sync_once_without_the_peer_token_exits_3(config: Path) -> None:
    result = run(config, "sync", "--once")

    assert result.exit_code == 3
    assert f"environment variable {TOKEN_ENV} is not set" in result.stderr


def test_sync_of_an_unknown_peer_exits_3(config: Path) -> None:
    runner = CliRunner(env={**CLEAN_ENV, TOKEN_ENV: "t"})
    result = runner.invoke(
        cli,
        ["--config", str(config), "sync", "--once", "--peer", "hub-z"],
        prog_name="kakehashi",
        catch_exceptions=False,
    )

    assert result.exit_code == 3
    assert "no peer named 'hub-z'" in result.stderr


def test_sync_without_peers_exits_3(tmp_path: Path) -> None:
    path = tmp_path / "hub.toml"
    path.write_text(NEEDED, encoding="utf-8")

    result = run(path, "sync", "--once")

    assert result.exit_code == 3
    assert "no [[peers]] are configured" in result.stderr


def test_check_config_accepts_the_issue_peer(tmp_path: Path) -> None:
    path = tmp_path / "hub.toml"
    path.write_text(ISSUE_FILE, encoding="utf-8")

    result = run(path, "check-config")

    assert result.exit_code == 0
    assert f"{path}: OK" in result.stdout
