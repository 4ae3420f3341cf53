"""Kakehashi: a federated STIX 2.1 / TAXII 2.1 exchange for CERTs and CII operators.

The library API is what this module lists; everything else is internal and may change.
"""

from importlib import metadata as _metadata

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
