"""Federation: talking to other TAXII 2.1 servers (peers) — pull, push, cursors."""

from kakehashi.sync.client import PeerError, RemotePage, TaxiiClient
from kakehashi.sync.notify import ChangeNotifier
from kakehashi.sync.runner import MappingOutcome, SyncRunner, peer_token

__all__ = [
    "ChangeNotifier",
    "MappingOutcome",
    "PeerError",
    "RemotePage",
    "SyncRunner",
    "TaxiiClient",
    "peer_token",
]
