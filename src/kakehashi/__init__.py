"""Kakehashi: a federated STIX 2.1 / TAXII 2.1 exchange for CERTs and CII operators.

The library API is what this module lists; everything else is internal and may change.
The names are imported on first use (PEP 562): every ``kakehashi`` command and the sync
worker process import this package, and most of them never need the HTTP stack.
"""

import importlib as _importlib
import typing as _typing
from importlib import metadata as _metadata

if _typing.TYPE_CHECKING:
    from kakehashi.api import create_app
    from kakehashi.config import Settings, load_settings, parse_settings
    from kakehashi.errors import HubError
    from kakehashi.policy import Policy
    from kakehashi.store import Store, open_store
    from kakehashi.sync import SyncRunner, TaxiiClient

try:
    __version__ = _metadata.version("kakehashi")
except _metadata.PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

# Public name -> the module that defines it.
_HOMES = {
    "create_app": "kakehashi.api",
    "Settings": "kakehashi.config",
    "load_settings": "kakehashi.config",
    "parse_settings": "kakehashi.config",
    "HubError": "kakehashi.errors",
    "Policy": "kakehashi.policy",
    "Store": "kakehashi.store",
    "open_store": "kakehashi.store",
    "SyncRunner": "kakehashi.sync",
    "TaxiiClient": "kakehashi.sync",
}

__all__ = [
    "HubError",
    "Policy",
    "Settings",
    "Store",
    "SyncRunner",
    "TaxiiClient",
    "__version__",
    "create_app",
    "load_settings",
    "open_store",
    "parse_settings",
]


def __getattr__(name: str) -> _typing.Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'kakehashi' has no attribute {name!r}")
    value = getattr(_importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(__all__) | {name for name in globals() if name.startswith("_")})
