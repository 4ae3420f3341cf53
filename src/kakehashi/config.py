"""Loading and validating ``hub.toml`` into frozen :class:`Settings`.

Every key is declared once (name, type, default, help) in the ``*_FIELDS`` tables below;
unknown keys, wrong types, missing references and duplicate ids are reported as
:class:`~kakehashi.errors.ConfigError` naming the key and the line it is on. Precedence:
defaults < file < environment (``KAKEHASHI_*``) < command-line flags (applied by the CLI
with :func:`dataclasses.replace`).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kakehashi.errors import ConfigError
from kakehashi.stix.markings import Tlp

__all__ = [
    "DEFAULT_LISTEN",
    "DEFAULT_SECTORS",
    "ROLES",
    "Account",
    "Agreement",
    "ApiRoot",
    "Collection",
    "Field",
    "HubSettings",
    "Organization",
    "Party",
    "Settings",
    "load_settings",
    "parse_listen",
    "parse_settings",
]

DEFAULT_LISTEN = "127.0.0.1:8470"
#: Documented sector vocabulary; agreements may name others (the vocabulary is free).
DEFAULT_SECTORS = ("cii", "5g", "iot", "ai", "government", "telecom", "energy", "finance")
ROLES = ("producer", "consumer", "coordinator")
_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_IDENTITY_ID = re.compile(rf"^identity--{_UUID}$")
_COLLECTION_ID = re.compile(rf"^{_UUID}$")
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_API_ROOT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_ALIAS = re.compile(r"^[a-z0-9][a-z0-9_-]{0,127}$")
_DURATION = re.compile(r"^(\d+)(ms|s|m|h|d)$")
_DURATION_UNITS_S = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True, slots=True)
class Field:
    """One configuration key: its name, Python type, default (``...`` = required), help."""

    name: str
    type: type | tuple[type, ...]
    default: Any
    help: str


HUB_FIELDS: tuple[Field, ...] = (
    Field("title", str, ..., "Shown in TAXII discovery."),
    Field("description", str, "", "Shown in TAXII discovery."),
    Field("contact", str, "", "Who runs this hub; shown in TAXII discovery."),
    Field(
        "database",
        str,
        "sqlite:///hub.db",
        "sqlite:///FILE (relative to the config file) or postgresql://user@host:port/db."
        " Env: KAKEHASHI_DATABASE.",
    ),
    Field("listen", str, DEFAULT_LISTEN, "HOST:PORT to serve on. Env: KAKEHASHI_LISTEN."),
    Field(
        "max_content_length",
        int,
        10 * 1024 * 1024,
        "Largest accepted request body in bytes (TAXII api-root max_content_length).",
    ),
    Field("max_page_size", int, 1000, "Most objects one response may carry."),
    Field(
        "status_retention",
        str,
        "7d",
        "How long status resources are kept (at least 24h): a number and ms, s, m, h or d.",
    ),
    Field(
        "default_tlp",
        str,
        "amber",
        "TLP assumed for objects that carry no TLP marking: clear, green, amber,"
        " amber+strict or red.",
    ),
)
ORGANIZATION_FIELDS: tuple[Field, ...] = (
    Field("key", str, ..., "Short key used elsewhere in the file, e.g. cert-a."),
    Field("name", str, ..., "Human-readable name."),
    Field("identity", str, ..., "The organisation's STIX identity id (identity--UUID)."),
    Field(
        "parent",
        str,
        "",
        "Key of the organisation this one is a constituent of (a CERT's CII operator).",
    ),
    Field(
        "ceiling",
        str,
        "",
        "Highest TLP this organisation may receive; only ever lowers what it would get.",
    ),
)
AGREEMENT_FIELDS: tuple[Field, ...] = (
    Field("key", str, ..., "Short key collections use to name the agreement."),
    Field("title", str, ..., "Human-readable title."),
    Field("description", str, "", "What the agreement covers."),
    Field(
        "sectors",
        list,
        [],
        "Sectors covered (free vocabulary; documented: " + ", ".join(DEFAULT_SECTORS) + ").",
    ),
    Field("parties", list, ..., "The parties: [[agreements.parties]] tables."),
)
PARTY_FIELDS: tuple[Field, ...] = (
    Field("organization", str, ..., "Key of the organisation that is a party."),
    Field("roles", list, ..., "Any of producer, consumer, coordinator."),
    Field("ceiling", str, "amber", "Highest TLP the party (and its constituents) may receive."),
)
ACCOUNT_FIELDS: tuple[Field, ...] = (
    Field("username", str, ..., "Login name (HTTP Basic user)."),
    Field("organization", str, ..., "Key of the organisation the account acts for."),
    Field(
        "token_sha256",
        str,
        ...,
        "Hex SHA-256 of the account's token; `kakehashi token new` makes one.",
    ),
)
API_ROOT_FIELDS: tuple[Field, ...] = (
    Field("name", str, ..., "URL path segment of the API root, e.g. exchange."),
    Field("title", str, ..., "Shown in the API root information."),
    Field("description", str, "", "Shown in the API root information."),
)
COLLECTION_FIELDS: tuple[Field, ...] = (
    Field("id", str, ..., "Collection id: a UUID."),
    Field("api_root", str, ..., "Name of the API root it belongs to."),
    Field("title", str, ..., "Shown in the collection information."),
    Field("description", str, "", "Shown in the collection information."),
    Field("alias", str, "", "Optional short name, unique within the API root."),
    Field("can_read", list, [], "Keys of the organisations that may read."),
    Field("can_write", list, [], "Keys of the organisations that may write."),
    Field(
        "agreement",
        str,
        "",
        "Key of the agreement whose roles decide who reads and writes (instead of"
        " can_read/can_write).",
    ),
)


@dataclass(frozen=True, slots=True)
class HubSettings:
    title: str
    description: str = ""
    contact: str = ""
    database: str = "sqlite:///hub.db"
    listen: str = DEFAULT_LISTEN
    max_content_length: int = 10 * 1024 * 1024
    max_page_size: int = 1000
    status_retention_s: float = 7 * 86400.0
    default_tlp: Tlp = Tlp.AMBER


@dataclass(frozen=True, slots=True)
class Organization:
    key: str
    name: str
    identity: str
    parent: str = ""
    ceiling: Tlp | None = None


@dataclass(frozen=True, slots=True)
class Party:
    organization: str
    roles: frozenset[str]
    ceiling: Tlp = Tlp.AMBER


@dataclass(frozen=True, slots=True)
class Agreement:
    key: str
    title: str
    parties: tuple[Party, ...]
    description: str = ""
    sectors: tuple[str, ...] = ()

    def party(self, organization: str) -> Party | None:
        return next((p for p in self.parties if p.organization == organization), None)


@dataclass(frozen=True, slots=True)
class Account:
    username: str
    organization: str
    token_sha256: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class ApiRoot:
    name: str
    title: str
    description: str = ""


@dataclass(frozen=True, slots=True)
class Collection:
    id: str
    api_root: str
    title: str
    description: str = ""
    alias: str = ""
    can_read: tuple[str, ...] = ()
    can_write: tuple[str, ...] = ()
    agreement: str = ""


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a hub needs to know, resolved once at start-up.

    Attributes:
        base_dir: folder that relative paths (the SQLite file) are resolved against.
    """

    hub: HubSettings
    organizations: tuple[Organization, ...] = ()
    accounts: tuple[Account, ...] = ()
    api_roots: tuple[ApiRoot, ...] = ()
    collections: tuple[Collection, ...] = ()
    agreements: tuple[Agreement, ...] = ()
    base_dir: Path = Path()
    source: str = ""

    def organization(self, key: str) -> Organization:
        return next(o for o in self.organizations if o.key == key)

    def agreement(self, key: str) -> Agreement:
        return next(a for a in self.agreements if a.key == key)

    def collections_of(self, api_root: str) -> tuple[Collection, ...]:
        return tuple(c for c in self.collections if c.api_root == api_root)


# -- locating keys in the source text --------------------------------------------------------

_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-\"' ]+?)\s*\]\]?\s*(?:#.*)?$")


class _Locator:
    """Finds the line of a key path like ``("collections", 1, "can_read")`` in TOML text.

    tomllib gives no positions, so the text is scanned for table headers; this covers the
    shapes hub.toml uses (tables, arrays of tables, nested arrays of tables).
    """

    def __init__(self, text: str) -> None:
        self._lines = text.splitlines()

    def line_of(self, path: Sequence[str | int]) -> int | None:
        # Split the path into the table it names (names followed by an index, or a leading
        # plain table such as "hub") and the key inside it.
        table: list[str] = []
        wanted: list[int] = []
        key: str | None = None
        for i, part in enumerate(path):
            if isinstance(part, int):
                continue
            nxt = path[i + 1] if i + 1 < len(path) else None
            if isinstance(nxt, int):
                table.append(part)
                wanted.append(nxt)
            elif not table and nxt is not None:
                table.append(part)
            else:
                key = part
                break
        return self._find(table, wanted, key)

    def _find(self, table: list[str], wanted: list[int], key: str | None) -> int | None:
        counts: dict[str, int] = {}
        target = ".".join(table)
        inside = not table  # top-level keys come before any header
        header_line: int | None = None
        key_line = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=") if key else None
        for number, line in enumerate(self._lines, start=1):
            header = _HEADER.match(line)
            if header:
                name = re.sub(r"[\"' ]", "", header.group(2))
                if inside and table:
                    return header_line  # the target table ended without the key
                inside = False
                counts[name] = counts.get(name, -1) + 1
                for other in [o for o in counts if o.startswith(name + ".")]:
                    del counts[other]
                if not table and key == name:
                    return number  # an unknown top-level section
                if table and name == target and self._matches(table, wanted, counts):
                    if key_line is None:
                        return number
                    header_line, inside = number, True
                continue
            if inside and key_line is not None and key_line.match(line):
                return number
        return header_line

    @staticmethod
    def _matches(table: list[str], wanted: list[int], counts: dict[str, int]) -> bool:
        for depth, index in enumerate(wanted):
            name = ".".join(table[: depth + 1])
            if counts.get(name, -1) != index:
                return False
        return True


# -- reading tables --------------------------------------------------------------------------


class _Reader:
    """Checks tables against their declared fields and raises located ConfigErrors."""

    def __init__(self, text: str, source: str) -> None:
        self._locator = _Locator(text)
        self.source = source

    def error(self, reason: str, path: Sequence[str | int]) -> ConfigError:
        return ConfigError(
            reason, key=_dotted(path), line=self._locator.line_of(path), path=self.source
        )

    def table(
        self, raw: object, fields: Sequence[Field], path: Sequence[str | int]
    ) -> dict[str, Any]:
        if not isinstance(raw, Mapping):
            raise self.error("must be a table", path)
        known = {f.name for f in fields}
        for name in raw:
            if name not in known:
                allowed = ", ".join(sorted(known))
                raise self.error(f"unknown key (allowed here: {allowed})", [*path, name])
        values: dict[str, Any] = {}
        for spec in fields:
            if spec.name not in raw:
                if spec.default is ...:
                    raise self.error("is required", [*path, spec.name])
                values[spec.name] = spec.default
                continue
            value = raw[spec.name]
            expected = spec.type
            if (isinstance(value, bool) and expected is int) or not isinstance(value, expected):
                type_name = expected.__name__ if isinstance(expected, type) else str(expected)
                raise self.error(
                    f"must be {_article(type_name)}, not {type(value).__name__}",
                    [*path, spec.name],
                )
            if isinstance(value, str) and spec.default is ... and not value.strip():
                raise self.error("must not be empty", [*path, spec.name])
            values[spec.name] = value
        return values

    def array(self, raw: Mapping[str, Any], name: str) -> list[Any]:
        value = raw.get(name, [])
        if not isinstance(value, list):
            raise self.error("must be an array of tables ([[" + name + "]])", [name])
        return value


def _article(type_name: str) -> str:
    words = {"str": "a string", "int": "an integer", "list": "a list", "bool": "a boolean"}
    return words.get(type_name, type_name)


def _dotted(path: Sequence[str | int]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


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


def _check_unique(
    reader: _Reader, items: Sequence[Mapping[str, Any]], key: str, section: str
) -> None:
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        value = item[key]
        if value in seen:
            raise reader.error(
                f"duplicate {key} {value!r} (first used by {section}[{seen[value]}])",
                [section, index, key],
            )
        seen[value] = index


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
        line = getattr(exc, "lineno", None)
        raise ConfigError(f"not valid TOML: {exc}", line=line, path=source) from exc
    reader = _Reader(text, source)
    known_sections = {"hub", "organizations", "accounts", "api_roots", "collections", "agreements"}
    for name in data:
        if name not in known_sections:
            allowed = ", ".join(sorted(known_sections))
            raise reader.error(f"unknown section (allowed: {allowed})", [name])
    if "hub" not in data:
        raise ConfigError("the [hub] table is required", key="hub", path=source)
    hub = reader.table(data["hub"], HUB_FIELDS, ["hub"])
    env = os.environ if environ is None else environ
    for env_name, key in (("KAKEHASHI_DATABASE", "database"), ("KAKEHASHI_LISTEN", "listen")):
        if env.get(env_name):
            hub[key] = env[env_name]
    try:
        parse_listen(hub["listen"])
    except ValueError as exc:
        raise reader.error(str(exc), ["hub", "listen"]) from exc
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
        raise reader.error("must start with sqlite:/// or postgresql://", ["hub", "database"])
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
    _check_unique(reader, orgs, "key", "organizations")
    _check_unique(reader, orgs, "identity", "organizations")
    org_keys = {o["key"] for o in orgs}
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
    _check_unique(reader, accounts, "username", "accounts")
    _check_unique(reader, accounts, "token_sha256", "accounts")

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
    _check_unique(reader, roots, "name", "api_roots")
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
    _check_unique(reader, collections, "id", "collections")
    aliases = [{"alias": f"{c['api_root']}/{c['alias']}"} for c in collections if c["alias"]]
    _check_unique(reader, aliases, "alias", "collections")

    return Settings(
        hub=hub_settings,
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


def _tlp(reader: _Reader, text: str, path: Sequence[str | int]) -> Tlp:
    try:
        return Tlp.parse(text)
    except ValueError as exc:
        raise reader.error(str(exc), path) from exc


def _organizations(
    reader: _Reader, orgs: list[dict[str, Any]], org_keys: set[str]
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
        seen = [org["key"]]
        current = org["key"]
        while current in parents:
            current = parents[current]
            if current in seen:
                chain = " -> ".join([*seen, current])
                raise reader.error(
                    f"parent chain is circular: {chain}", ["organizations", i, "parent"]
                )
            seen.append(current)
    return tuple(result)


def _agreements(
    reader: _Reader, data: Mapping[str, Any], org_keys: set[str]
) -> tuple[Agreement, ...]:
    raws = [
        reader.table(raw, AGREEMENT_FIELDS, ["agreements", i])
        for i, raw in enumerate(reader.array(data, "agreements"))
    ]
    _check_unique(reader, raws, "key", "agreements")
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
        _check_unique(reader, parties_raw, "organization", f"agreements[{i}].parties")
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
