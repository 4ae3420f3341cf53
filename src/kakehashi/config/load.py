"""Parsing and validating hub.toml into :class:`~kakehashi.config.model.Settings`."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from kakehashi.config.model import (
    ACCOUNT_FIELDS,
    AGREEMENT_FIELDS,
    API_ROOT_FIELDS,
    COLLECTION_FIELDS,
    DIRECTIONS,
    HUB_FIELDS,
    ORGANIZATION_FIELDS,
    PARTY_FIELDS,
    PEER_COLLECTION_FIELDS,
    PEER_FIELDS,
    ROLES,
    Account,
    Agreement,
    ApiRoot,
    Collection,
    HubSettings,
    Organization,
    Party,
    Peer,
    PeerCollection,
    Settings,
)
from kakehashi.config.toml import Reader
from kakehashi.errors import ConfigError
from kakehashi.stix.markings import Tlp

_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_IDENTITY_ID = re.compile(rf"^identity--{_UUID}$")
_COLLECTION_ID = re.compile(rf"^{_UUID}$")
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_API_ROOT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_ALIAS = re.compile(r"^[a-z0-9][a-z0-9_-]{0,127}$")
_DURATION = re.compile(r"^(\d+)(ms|s|m|h|d)$")
_DURATION_UNITS_S = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration_s(text: str) -> float:
    """``"500ms"``, ``"5s"``, ``"10m"``, ``"24h"``, ``"7d"`` → seconds."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a duration like 30s, 10m, 24h or 7d")
    return int(match.group(1)) * _DURATION_UNITS_S[match.group(2)]


def parse_listen(text: str) -> tuple[str, int]:
    """``"127.0.0.1:8470"`` or ``"[::1]:8470"`` → (host, port)."""
    host, sep, port_text = text.rpartition(":")
    if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"{text!r} is not HOST:PORT")
    return host.strip("[]"), int(port_text)


def check_unique(
    reader: Reader,
    items: Sequence[Mapping[str, Any]],
    key: str,
    section: str | Sequence[str | int],
) -> None:
    """Refuse a repeated value of ``key``; ``section`` is the array's path."""
    path = [section] if isinstance(section, str) else list(section)
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        value = item[key]
        if value in seen:
            first = _dotted_path([*path, seen[value]])
            raise reader.error(
                f"duplicate {key} {value!r} (first used by {first})", [*path, index, key]
            )
        seen[value] = index


def _dotted_path(path: Sequence[str | int]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def parse_settings(
    text: str,
    *,
    source: str = "hub.toml",
    base_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Parse and validate the text of a hub.toml.

    Raises:
        ConfigError: naming the key and line of the first problem found.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib has `lineno` only from Python 3.14; before, the line is in the message.
        line = getattr(exc, "lineno", None)
        if line is None:
            found = re.search(r"\(at line (\d+)", str(exc))
            line = int(found.group(1)) if found else None
        raise ConfigError(f"not valid TOML: {exc}", line=line, path=source) from exc
    reader = Reader(text, source)
    known_sections = {
        "hub",
        "organizations",
        "accounts",
        "api_roots",
        "collections",
        "agreements",
        "peers",
    }
    for name in data:
        if name not in known_sections:
            allowed = ", ".join(sorted(known_sections))
            raise reader.error(f"unknown section (allowed: {allowed})", [name])
    if "hub" not in data:
        raise ConfigError("the [hub] table is required", key="hub", path=source)
    hub = reader.table(data["hub"], HUB_FIELDS, ["hub"])
    env = os.environ if environ is None else environ
    from_env: dict[str, str] = {}
    for env_name, key in (("KAKEHASHI_DATABASE", "database"), ("KAKEHASHI_LISTEN", "listen")):
        if env.get(env_name):
            hub[key] = env[env_name]
            from_env[key] = env_name

    def hub_error(reason: str, key: str) -> ConfigError:
        if key in from_env:  # the value came from the environment, not from the file
            reason = f"{reason} (the value comes from the environment variable {from_env[key]})"
            return ConfigError(reason, key=f"hub.{key}", path=source)
        return reader.error(reason, ["hub", key])

    try:
        parse_listen(hub["listen"])
    except ValueError as exc:
        raise hub_error(str(exc), "listen") from exc
    try:
        retention_s = parse_duration_s(hub["status_retention"])
    except ValueError as exc:
        raise reader.error(str(exc), ["hub", "status_retention"]) from exc
    if retention_s < 86400:
        raise reader.error(
            "must be at least 24h (TAXII clients poll status)", ["hub", "status_retention"]
        )
    for key in ("max_content_length", "max_page_size"):
        if hub[key] <= 0:
            raise reader.error("must be a positive integer", ["hub", key])
    if not hub["database"].startswith(("sqlite:///", "postgresql://", "postgres://")):
        raise hub_error("must start with sqlite:/// or postgresql://", "database")
    if hub["database"] == "sqlite:///":
        raise hub_error("a sqlite URL needs a file name: sqlite:///hub.db", "database")
    default_tlp = _tlp(reader, hub["default_tlp"], ["hub", "default_tlp"])
    hub_settings = HubSettings(
        title=hub["title"],
        description=hub["description"],
        contact=hub["contact"],
        database=hub["database"],
        listen=hub["listen"],
        max_content_length=hub["max_content_length"],
        max_page_size=hub["max_page_size"],
        status_retention_s=retention_s,
        default_tlp=default_tlp,
        organization=hub["organization"],
    )

    orgs = [
        reader.table(raw, ORGANIZATION_FIELDS, ["organizations", i])
        for i, raw in enumerate(reader.array(data, "organizations"))
    ]
    for i, org in enumerate(orgs):
        if not _KEY.match(org["key"]):
            raise reader.error(
                "must be lower-case letters, digits, '-' or '_'", ["organizations", i, "key"]
            )
        if not _IDENTITY_ID.match(org["identity"]):
            raise reader.error(
                "must be a STIX identity id: identity--<lower-case UUID>",
                ["organizations", i, "identity"],
            )
    check_unique(reader, orgs, "key", "organizations")
    check_unique(reader, orgs, "identity", "organizations")
    org_keys = {o["key"] for o in orgs}
    if hub["organization"] and hub["organization"] not in org_keys:
        raise reader.error(
            f"names unknown organisation {hub['organization']!r}", ["hub", "organization"]
        )
    organizations = _organizations(reader, orgs, org_keys)

    accounts = [
        reader.table(raw, ACCOUNT_FIELDS, ["accounts", i])
        for i, raw in enumerate(reader.array(data, "accounts"))
    ]
    for i, account in enumerate(accounts):
        if account["organization"] not in org_keys:
            raise reader.error(
                f"names unknown organisation {account['organization']!r}",
                ["accounts", i, "organization"],
            )
        if not _SHA256_HEX.match(account["token_sha256"]):
            raise reader.error(
                "must be 64 lower-case hex digits (the SHA-256 of the token, never the token)",
                ["accounts", i, "token_sha256"],
            )
        if ":" in account["username"]:
            raise reader.error("must not contain ':' (HTTP Basic)", ["accounts", i, "username"])
    check_unique(reader, accounts, "username", "accounts")
    check_unique(reader, accounts, "token_sha256", "accounts")

    roots = [
        reader.table(raw, API_ROOT_FIELDS, ["api_roots", i])
        for i, raw in enumerate(reader.array(data, "api_roots"))
    ]
    for i, root in enumerate(roots):
        if not _API_ROOT_NAME.match(root["name"]) or root["name"] == "taxii2":
            raise reader.error(
                "must be letters, digits, '-' or '_' (and not 'taxii2')",
                ["api_roots", i, "name"],
            )
    check_unique(reader, roots, "name", "api_roots")
    root_names = {r["name"] for r in roots}

    agreements = _agreements(reader, data, org_keys)
    agreement_keys = {a.key for a in agreements}

    collections = [
        reader.table(raw, COLLECTION_FIELDS, ["collections", i])
        for i, raw in enumerate(reader.array(data, "collections"))
    ]
    for i, coll in enumerate(collections):
        path: list[str | int] = ["collections", i]
        if not _COLLECTION_ID.match(coll["id"]):
            raise reader.error("must be a lower-case UUID", [*path, "id"])
        if coll["api_root"] not in root_names:
            raise reader.error(f"names unknown API root {coll['api_root']!r}", [*path, "api_root"])
        if coll["alias"] and not _ALIAS.match(coll["alias"]):
            raise reader.error("must be lower-case letters, digits, '-' or '_'", [*path, "alias"])
        for key in ("can_read", "can_write"):
            for member in coll[key]:
                if not isinstance(member, str) or member not in org_keys:
                    raise reader.error(f"names unknown organisation {member!r}", [*path, key])
        if coll["agreement"]:
            if coll["can_read"] or coll["can_write"]:
                raise reader.error(
                    "a collection follows either an agreement or can_read/can_write, not both",
                    [*path, "agreement"],
                )
            if coll["agreement"] not in agreement_keys:
                raise reader.error(
                    f"names unknown agreement {coll['agreement']!r}", [*path, "agreement"]
                )
    check_unique(reader, collections, "id", "collections")
    seen_aliases: dict[str, int] = {}
    for i, coll in enumerate(collections):
        if not coll["alias"]:
            continue
        scoped = f"{coll['api_root']}/{coll['alias']}"
        if scoped in seen_aliases:
            raise reader.error(
                f"duplicate alias {coll['alias']!r} in API root {coll['api_root']!r}"
                f" (first used by collections[{seen_aliases[scoped]}])",
                ["collections", i, "alias"],
            )
        seen_aliases[scoped] = i

    peers = _peers(reader, data, org_keys, {c["id"] for c in collections}, hub["organization"])
    return Settings(
        hub=hub_settings,
        peers=peers,
        organizations=organizations,
        agreements=agreements,
        accounts=tuple(Account(**a) for a in accounts),
        api_roots=tuple(ApiRoot(**r) for r in roots),
        collections=tuple(
            Collection(
                **{
                    **c,
                    "can_read": tuple(c["can_read"]),
                    "can_write": tuple(c["can_write"]),
                }
            )
            for c in collections
        ),
        base_dir=base_dir or Path(),
        source=source,
    )


def _tlp(reader: Reader, text: str, path: Sequence[str | int]) -> Tlp:
    try:
        return Tlp.parse(text)
    except ValueError as exc:
        raise reader.error(str(exc), path) from exc


def _organizations(
    reader: Reader, orgs: list[dict[str, Any]], org_keys: set[str]
) -> tuple[Organization, ...]:
    parents: dict[str, str] = {}
    result: list[Organization] = []
    for i, org in enumerate(orgs):
        path: list[str | int] = ["organizations", i]
        if org["parent"]:
            if org["parent"] not in org_keys:
                raise reader.error(
                    f"names unknown organisation {org['parent']!r}", [*path, "parent"]
                )
            parents[org["key"]] = org["parent"]
        ceiling = _tlp(reader, org["ceiling"], [*path, "ceiling"]) if org["ceiling"] else None
        result.append(
            Organization(
                key=org["key"],
                name=org["name"],
                identity=org["identity"],
                parent=org["parent"],
                ceiling=ceiling,
            )
        )
    for i, org in enumerate(orgs):
        # Blame an organisation that is itself in the cycle, not one that merely leads
        # into it: follow the chain until it returns to the start or repeats elsewhere.
        seen = [org["key"]]
        current = org["key"]
        while current in parents:
            current = parents[current]
            if current == org["key"]:
                chain = " -> ".join([*seen, current])
                raise reader.error(
                    f"parent chain is circular: {chain}", ["organizations", i, "parent"]
                )
            if current in seen:
                break  # a cycle further up; reported on one of its own members
            seen.append(current)
    return tuple(result)


def _agreements(
    reader: Reader, data: Mapping[str, Any], org_keys: set[str]
) -> tuple[Agreement, ...]:
    raws = [
        reader.table(raw, AGREEMENT_FIELDS, ["agreements", i])
        for i, raw in enumerate(reader.array(data, "agreements"))
    ]
    check_unique(reader, raws, "key", "agreements")
    result: list[Agreement] = []
    for i, raw in enumerate(raws):
        path: list[str | int] = ["agreements", i]
        if not _KEY.match(raw["key"]):
            raise reader.error("must be lower-case letters, digits, '-' or '_'", [*path, "key"])
        for sector in raw["sectors"]:
            if not isinstance(sector, str) or not sector.strip():
                raise reader.error("must be a list of non-empty strings", [*path, "sectors"])
        if not raw["parties"]:
            raise reader.error("an agreement needs at least one party", [*path, "parties"])
        parties_raw = [
            reader.table(p, PARTY_FIELDS, [*path, "parties", j])
            for j, p in enumerate(raw["parties"])
        ]
        check_unique(reader, parties_raw, "organization", ["agreements", i, "parties"])
        parties: list[Party] = []
        for j, party in enumerate(parties_raw):
            ppath: list[str | int] = [*path, "parties", j]
            if party["organization"] not in org_keys:
                raise reader.error(
                    f"names unknown organisation {party['organization']!r}",
                    [*ppath, "organization"],
                )
            roles = party["roles"]
            if not roles:
                raise reader.error("a party needs at least one role", [*ppath, "roles"])
            for role in roles:
                if role not in ROLES:
                    raise reader.error(
                        f"unknown role {role!r} (roles: {', '.join(ROLES)})", [*ppath, "roles"]
                    )
            parties.append(
                Party(
                    organization=party["organization"],
                    roles=frozenset(roles),
                    ceiling=_tlp(reader, party["ceiling"], [*ppath, "ceiling"]),
                )
            )
        result.append(
            Agreement(
                key=raw["key"],
                title=raw["title"],
                description=raw["description"],
                sectors=tuple(s.strip().lower() for s in raw["sectors"]),
                parties=tuple(parties),
            )
        )
    return tuple(result)


def _peers(
    reader: Reader,
    data: Mapping[str, Any],
    org_keys: set[str],
    collection_ids: set[str],
    hub_organization: str,
) -> tuple[Peer, ...]:
    raws = [
        reader.table(raw, PEER_FIELDS, ["peers", i])
        for i, raw in enumerate(reader.array(data, "peers"))
    ]
    check_unique(reader, raws, "name", "peers")
    peers: list[Peer] = []
    for i, raw in enumerate(raws):
        path: list[str | int] = ["peers", i]
        if not _KEY.match(raw["name"]):
            raise reader.error("must be lower-case letters, digits, '-' or '_'", [*path, "name"])
        if not raw["url"].startswith(("http://", "https://")):
            raise reader.error("must be an http:// or https:// URL", [*path, "url"])
        if not re.fullmatch(r"[A-Z_][A-Z0-9_]*", raw["token_env"]):
            raise reader.error(
                "must be the NAME of an environment variable in capitals, e.g. KAKEHASHI_PEER_TOKEN"
                " (the token itself never goes in the file)",
                [*path, "token_env"],
            )
        for key in ("organization", "receiver"):
            if raw[key] and raw[key] not in org_keys:
                raise reader.error(f"names unknown organisation {raw[key]!r}", [*path, key])
        interval_s = _duration(reader, raw["interval"], [*path, "interval"])
        if not raw["collections"]:
            raise reader.error(
                "a peer needs at least one collection mapping", [*path, "collections"]
            )
        mappings: list[PeerCollection] = []
        for j, item in enumerate(raw["collections"]):
            mpath: list[str | int] = [*path, "collections", j]
            mapping = reader.table(item, PEER_COLLECTION_FIELDS, mpath)
            if mapping["local"] not in collection_ids:
                raise reader.error(
                    f"names unknown local collection {mapping['local']!r}", [*mpath, "local"]
                )
            if mapping["direction"] not in DIRECTIONS:
                raise reader.error(f"must be one of {', '.join(DIRECTIONS)}", [*mpath, "direction"])
            own_interval = (
                _duration(reader, mapping["interval"], [*mpath, "interval"])
                if mapping["interval"]
                else interval_s
            )
            mappings.append(
                PeerCollection(
                    remote=mapping["remote"],
                    local=mapping["local"],
                    direction=mapping["direction"],
                    interval_s=own_interval,
                )
            )
        # Without a receiver, what the peer sends at AMBER and above is kept but shown to
        # nobody (RED still to its named recipients): the safe reading of the re-share rules.
        receiver = raw["receiver"] or hub_organization
        peers.append(
            Peer(
                name=raw["name"],
                url=raw["url"] if raw["url"].endswith("/") else raw["url"] + "/",
                token_env=raw["token_env"],
                organization=raw["organization"],
                receiver=receiver,
                collections=tuple(mappings),
                username=raw["username"],
                interval_s=interval_s,
            )
        )
    return tuple(peers)


def _duration(reader: Reader, text: str, path: Sequence[str | int]) -> float:
    try:
        seconds = parse_duration_s(text)
    except ValueError as exc:
        raise reader.error(str(exc), path) from exc
    if seconds <= 0:
        raise reader.error("must be longer than zero", path)
    return seconds


def load_settings(path: Path, *, environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate a hub.toml file.

    Raises:
        ConfigError: when the file is missing, unreadable or invalid.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", path=str(path)) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError("is not UTF-8 text", path=str(path)) from exc
    return parse_settings(text, source=str(path), base_dir=path.resolve().parent, environ=environ)
