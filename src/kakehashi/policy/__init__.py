"""Who may see and write what. Pure functions over the settings; no I/O."""

from kakehashi.policy.access import Access, collection_access

__all__ = ["Access", "collection_access"]
