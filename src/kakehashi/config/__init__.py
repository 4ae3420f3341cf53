"""Loading and validating ``hub.toml`` into frozen :class:`Settings`.

Every key is declared once (name, type, default, help) in the ``*_FIELDS`` tables below;
unknown keys, wrong types, missing references and duplicate ids are reported as
:class:`~kakehashi.errors.ConfigError` naming the key and the line it is on. Precedence:
defaults < file < environment (``KAKEHASHI_*``) < command-line flags (applied by the CLI
with :func:`dataclasses.replace`).
"""

from __future__ import annotations

from kakehashi.config.load import load_settings, parse_duration_s, parse_listen, parse_settings
from kakehashi.config.model import (
    ACCOUNT_FIELDS,
    AGREEMENT_FIELDS,
    API_ROOT_FIELDS,
    COLLECTION_FIELDS,
    DEFAULT_LISTEN,
    DEFAULT_SECTORS,
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
    Field,
    HubSettings,
    Organization,
    Party,
    Peer,
    PeerCollection,
    Settings,
)

__all__ = [
    "ACCOUNT_FIELDS",
    "AGREEMENT_FIELDS",
    "API_ROOT_FIELDS",
    "COLLECTION_FIELDS",
    "DEFAULT_LISTEN",
    "DEFAULT_SECTORS",
    "HUB_FIELDS",
    "ORGANIZATION_FIELDS",
    "PARTY_FIELDS",
    "PEER_COLLECTION_FIELDS",
    "PEER_FIELDS",
    "ROLES",
    "Account",
    "Agreement",
    "ApiRoot",
    "Collection",
    "Field",
    "HubSettings",
    "Organization",
    "Party",
    "Peer",
    "PeerCollection",
    "Settings",
    "load_settings",
    "parse_duration_s",
    "parse_listen",
    "parse_settings",
]
