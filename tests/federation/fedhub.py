"""Helpers for federation tests: hub configurations, hub processes with peer tokens, TAXII reads.

Every hub is a ``kakehashi serve`` subprocess (:class:`PeerHub`, a
:class:`~serial.hubproc.HubProcess` that also gets the environment variables holding its
peer tokens, and may run with ``--no-sync`` or on a port chosen in advance). Hubs are
driven only as operators and TAXII clients drive them: configuration files, the command
line and HTTP.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

from serial.hubproc import _HUB_ENV_PREFIX, HubProcess, _command, _free_port
from stixgen import indicator

TAXII = "application/taxii+json;version=2.1"
API_ROOT = "exchange"

CLEAR = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"
GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
AMBER = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
STRICT = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"
RED = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"
RECIPIENTS = "extension-definition--9067863b-bbbc-4e1b-bbe4-76f6ecec33c2"

# Every hub knows an organisation by the same key and STIX identity (TLP:RED recipients and
# created_by_ref name identities, so they must agree across hubs). key -> parent.
PARENTS: dict[str, str] = {
    "cert-a": "",
    "cert-b": "",
    "telco-b1": "cert-b",
    "cert-c": "",
    "cert-d": "",
    "ncsc-b": "",
}
IDENTITY: dict[str, str] = {
    key: f"identity--fed0{index:04d}-7d1e-4c55-8a0b-3e6f9b2c4d22"
    for index, key in enumerate(PARENTS)
}


def token(user: str) -> str:
    """The secret of an account (the same on every hub that has the account)."""
    return f"{user}-token-0123456789abcdef"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# -- configuration ------------------------------------------------------------------------


@dataclass(frozen=True)
class Party:
    organization: str
    roles: tuple[str, ...]
    ceiling: str = "amber"


@dataclass(frozen=True)
class Agreement:
    key: str
    parties: tuple[Party, ...]


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    agreement: str = ""
    can_read: tuple[str, ...] = ()
    can_write: tuple[str, ...] = ()


@dataclass(frozen=True)
class PeerMapping:
    """One ``[[peers.collections]]`` table."""

    remote: str
    local: str
    direction: str = "pull"


@dataclass(frozen=True)
class Peer:
    """One ``[[peers]]`` table; the token itself is only in the hub's environment."""

    name: str
    url: str
    username: str
    token_env: str
    organization: str
    mappings: tuple[PeerMapping, ...]
    interval: str = "5s"
    receiver: str = ""


def _toml_list(items: Iterable[str]) -> str:
    return json.dumps(list(items))


def hub_toml(
    *,
    title: str,
    organization: str,
    database: str,
    orgs: Sequence[str],
    accounts: Mapping[str, str],
    collections: Sequence[Collection],
    agreements: Sequence[Agreement] = (),
    peers: Sequence[Peer] = (),
    max_page_size: int = 1000,
) -> str:
    """The text of a ``hub.toml``; ``accounts`` maps user name to organisation key."""
    parts = [
        f'[hub]\ntitle = "{title}"\ndatabase = {json.dumps(database)}\n'
        f'organization = "{organization}"\nmax_page_size = {max_page_size}'
    ]
    for key in orgs:
        parent = PARENTS[key]
        parts.append(
            f'[[organizations]]\nkey = "{key}"\nname = "{key.upper()}"\n'
            f'identity = "{IDENTITY[key]}"' + (f'\nparent = "{parent}"' if parent in orgs else "")
        )
    for user, org in accounts.items():
        parts.append(
            f'[[accounts]]\nusername = "{user}"\norganization = "{org}"\n'
            f'token_sha256 = "{digest(token(user))}"'
        )
    for agreement in agreements:
        parts.append(f'[[agreements]]\nkey = "{agreement.key}"\ntitle = "{agreement.key}"')
        for party in agreement.parties:
            parts.append(
                f'  [[agreements.parties]]\n  organization = "{party.organization}"\n'
                f"  roles = {_toml_list(party.roles)}\n  ceiling = {json.dumps(party.ceiling)}"
            )
    parts.append(f'[[api_roots]]\nname = "{API_ROOT}"\ntitle = "Exchange"')
    for coll in collections:
        text = f'[[collections]]\nid = "{coll.id}"\napi_root = "{API_ROOT}"\ntitle = "{coll.title}"'
        if coll.agreement:
            text += f'\nagreement = "{coll.agreement}"'
        else:
            text += (
                f"\ncan_read = {_toml_list(coll.can_read)}"
                f"\ncan_write = {_toml_list(coll.can_write)}"
            )
        parts.append(text)
    for peer in peers:
        # The shape of the federation issue, indentation included.
        text = (
            f'[[peers]]\nname = "{peer.name}"\nurl = "{peer.url}"\n'
            f'username = "{peer.username}"\ntoken_env = "{peer.token_env}"\n'
            f'organization = "{peer.organization}"\ninterval = "{peer.interval}"'
        )
        if peer.receiver:
            text += f'\nreceiver = "{peer.receiver}"'
        parts.append(text)
        for mapping in peer.mappings:
            parts.append(
                f'  [[peers.collections]]\n  remote = "{mapping.remote}"\n'
                f'  local = "{mapping.local}"\n  direction = "{mapping.direction}"'
            )
    return "\n\n".join(parts) + "\n"


def discovery_url(hub: HubProcess) -> str:
    return f"{hub.base_url}/taxii2/"


# -- STIX ---------------------------------------------------------------------------------


def marked(
    n: int,
    tlp: str | None,
    *,
    recipients: Sequence[str] = (),
    by: str = "",
    version: int = 0,
) -> dict[str, Any]:
    """Indicator ``n`` marked ``tlp`` (a marking-definition id, or unmarked), created by
    organisation ``by`` and, for TLP:RED, naming ``recipients`` (organisation keys)."""
    extra: dict[str, Any] = {}
    if tlp is not None:
        extra["object_marking_refs"] = [tlp]
    if recipients:
        extra["extensions"] = {
            RECIPIENTS: {
                "extension_type": "property-extension",
                "recipients": [IDENTITY[key] for key in recipients],
            }
        }
    if by:
        extra["created_by_ref"] = IDENTITY[by]
    return indicator(n, version=version, **extra)


# -- processes ----------------------------------------------------------------------------


class PeerHub(HubProcess):
    """``kakehashi serve`` with extra environment variables (the peer tokens), ``--sync``
    or ``--no-sync``, and optionally a port chosen in advance (a peer's configuration may
    name it before the hub runs)."""

    def __init__(
        self,
        config: Path,
        log_path: Path,
        *,
        env: Mapping[str, str] | None = None,
        sync: bool = True,
        port: int = 0,
        tolerate: Sequence[str] = (),
    ) -> None:
        super().__init__(config, log_path)
        self.extra_env = dict(env or {})
        self.sync = sync
        self.fixed_port = port
        self.tolerate = tuple(tolerate)

    def launch(self) -> None:
        self.port = self.fixed_port or _free_port()
        argv = [
            *_command(),
            "--config",
            str(self.config),
            "serve",
            "--listen",
            f"127.0.0.1:{self.port}",
            "--sync" if self.sync else "--no-sync",
        ]
        with self.log_path.open("ab") as log:
            self._log_offset = log.tell()
            log.write(f"$ {' '.join(argv)}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=hub_environment(self.extra_env),
                start_new_session=True,
            )

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def hub_environment(extra: Mapping[str, str]) -> dict[str, str]:
    """The test's environment without the hub's own ``KAKEHASHI_*`` variables (they would
    override the configuration file), plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_HUB_ENV_PREFIX)}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def run_cli(
    config: Path,
    *args: str,
    env: Mapping[str, str] | None = None,
    timeout: float = 120.0,
) -> subprocess.CompletedProcess[str]:
    """``kakehashi --config CONFIG ARGS...`` as a subprocess; output captured as text."""
    return subprocess.run(
        [*_command(), "--config", str(config), *args],
        env=hub_environment(env or {}),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


_MOVED = re.compile(r"^(\S+) (\S+) (<-|->) (\S+): (pull|push) (\d+) object versions(, ERROR: .*)?$")


@dataclass(frozen=True)
class SyncLine:
    """One line of ``kakehashi sync --once``."""

    peer: str
    local: str
    remote: str
    direction: str
    moved: int
    error: str


@dataclass(frozen=True)
class SyncRun:
    """What one ``kakehashi sync --once`` did: its exit code, lines and log (stderr)."""

    exit_code: int
    lines: list[SyncLine]
    log: str


def run_sync_once(config: Path, env: Mapping[str, str], *peers: str) -> SyncRun:
    """Run ``kakehashi sync --once`` and parse what it reports per mapping."""
    argv = ["sync", "--once", *(f"--peer={p}" for p in peers)]
    done = run_cli(config, *argv, env=env)
    print(f"$ kakehashi sync --once ({config.parent.name})\n{done.stdout}{done.stderr[-3000:]}")
    assert "Traceback" not in done.stderr, done.stderr
    lines: list[SyncLine] = []
    for text in done.stdout.splitlines():
        match = _MOVED.match(text)
        assert match is not None, f"unexpected sync output line: {text!r}"
        peer, local, _, remote, direction, moved, error = match.groups()
        lines.append(
            SyncLine(peer, local, remote, direction, int(moved), (error or "")[len(", ERROR: ") :])
        )
    return SyncRun(done.returncode, lines, done.stderr)


def sync_once(config: Path, env: Mapping[str, str], *peers: str) -> list[SyncLine]:
    """``kakehashi sync --once`` that must succeed (exit 0): its lines."""
    run = run_sync_once(config, env, *peers)
    assert run.exit_code == 0, (run.exit_code, run.lines, run.log)
    return run.lines


def peers_status(config: Path) -> list[dict[str, Any]]:
    """``kakehashi peers status --json``: one dict per mapping and direction."""
    done = run_cli(config, "peers", "status", "--json")
    assert done.returncode == 0, (done.stdout, done.stderr)
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


# -- TAXII --------------------------------------------------------------------------------


def basic(user: str) -> dict[str, str]:
    raw = f"{user}:{token(user)}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode(), "Accept": TAXII}


@dataclass
class Taxii:
    """One account reading and writing one collection of one hub over HTTP."""

    base: str
    user: str
    collection: str
    client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=60.0))

    @property
    def collection_url(self) -> str:
        return f"{self.base}/{API_ROOT}/collections/{self.collection}/"

    def post(self, objects: Sequence[dict[str, Any]], *, failures: int = 0) -> dict[str, Any]:
        response = self.client.post(
            self.collection_url + "objects/",
            content=json.dumps({"objects": list(objects)}).encode(),
            headers={**basic(self.user), "Content-Type": TAXII},
        )
        assert response.status_code == 202, response.text
        status: dict[str, Any] = response.json()
        assert status["status"] == "complete", status
        assert status["failure_count"] == failures, status
        return status

    def get(self, path: str, params: Mapping[str, str] | None = None) -> httpx.Response:
        return self.client.get(self.collection_url + path, params=params, headers=basic(self.user))

    def manifest(self) -> Counter[tuple[str, str]]:
        """Every (id, version) of the collection this account sees (``match[version]=all``,
        paged with ``next``), counted."""
        seen: Counter[tuple[str, str]] = Counter()
        params: dict[str, str] = {"match[version]": "all"}
        while True:
            response = self.get("manifest/", params)
            assert response.status_code == 200, response.text
            body = response.json()
            seen.update((item["id"], item["version"]) for item in body.get("objects", []))
            if not body.get("more"):
                return seen
            params = {"match[version]": "all", "next": body["next"]}

    def ids(self) -> set[str]:
        return {object_id for object_id, _ in self.manifest()}

    def has(self, object_id: str) -> bool:
        response = self.get(f"objects/{object_id}/")
        assert response.status_code in (200, 404), response.text
        return response.status_code == 200

    def close(self) -> None:
        self.client.close()


T = TypeVar("T")


def wait_until(
    probe: Callable[[], T], *, timeout: float = 15.0, interval: float = 0.02, what: str = ""
) -> T:
    """Call ``probe`` until it returns something true; return it (fail after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or probe}")
        time.sleep(interval)
