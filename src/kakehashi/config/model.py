"""The configuration's shape: every key declared once, and the frozen records it becomes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kakehashi.stix.markings import Tlp

DEFAULT_LISTEN = "127.0.0.1:8470"
#: Documented sector vocabulary; agreements may name others (the vocabulary is free).
DEFAULT_SECTORS = ("cii", "5g", "iot", "ai", "government", "telecom", "energy", "finance")
ROLES = ("producer", "consumer", "coordinator")


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
        "organization",
        str,
        "",
        "Key of the organisation that runs this hub: the receiver of what peers send"
        " (unless a peer names its own receiver).",
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


PEER_FIELDS: tuple[Field, ...] = (
    Field("name", str, ..., "Short name of the peer, used by `kakehashi sync --peer`."),
    Field("url", str, ..., "The peer's TAXII 2.1 discovery URL (…/taxii2/)."),
    Field("username", str, "", "Account on the peer (HTTP Basic); empty for a Bearer token."),
    Field(
        "token_env",
        str,
        ...,
        "Environment variable holding the token for the peer (never the token itself).",
    ),
    Field(
        "organization",
        str,
        ...,
        "Key of the local organisation that stands for the peer's party: the author of"
        " what it sends, unless created_by_ref names another known organisation.",
    ),
    Field(
        "receiver",
        str,
        "",
        "Key of the local organisation that receives from this peer (default:"
        " [hub] organization); re-sharing rules are applied from its point of view.",
    ),
    Field("interval", str, "60s", "How often to poll a peer that cannot notify (30s, 5m)."),
    Field("collections", list, ..., "The mappings: [[peers.collections]] tables."),
)
PEER_COLLECTION_FIELDS: tuple[Field, ...] = (
    Field("remote", str, ..., "Id (or alias) of the collection on the peer."),
    Field("local", str, ..., "Id of the collection on this hub."),
    Field("direction", str, "pull", "pull, push or both."),
    Field("interval", str, "", "Overrides the peer's interval for this mapping."),
)
DIRECTIONS = ("pull", "push", "both")


@dataclass(frozen=True, slots=True)
class PeerCollection:
    remote: str
    local: str
    direction: str = "pull"
    interval_s: float = 60.0

    @property
    def pulls(self) -> bool:
        return self.direction in ("pull", "both")

    @property
    def pushes(self) -> bool:
        return self.direction in ("push", "both")


@dataclass(frozen=True, slots=True)
class Peer:
    name: str
    url: str
    token_env: str
    organization: str
    receiver: str
    collections: tuple[PeerCollection, ...]
    username: str = ""
    interval_s: float = 60.0


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
    organization: str = ""


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
    peers: tuple[Peer, ...] = ()
    base_dir: Path = Path()
    source: str = ""

    def organization(self, key: str) -> Organization:
        return next(o for o in self.organizations if o.key == key)

    def agreement(self, key: str) -> Agreement:
        return next(a for a in self.agreements if a.key == key)

    def collections_of(self, api_root: str) -> tuple[Collection, ...]:
        return tuple(c for c in self.collections if c.api_root == api_root)
