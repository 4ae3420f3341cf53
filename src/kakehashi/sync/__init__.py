"""Federation: talking to other TAXII 2.1 servers (peers) — pull, push, cursors."""

from kakehashi.sync.client import PeerError, RemotePage, TaxiiClient

__all__ = ["PeerError", "RemotePage", "TaxiiClient"]
