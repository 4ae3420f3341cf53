"""Collection-level access: the one function every TAXII path asks.

Deny by default: an organisation reads or writes a collection only when the configuration
says so. Object-level rules (agreements, TLP) build on this in later issues.
"""

from __future__ import annotations

from dataclasses import dataclass

from kakehashi.config import Collection

__all__ = ["Access", "collection_access"]


@dataclass(frozen=True, slots=True)
class Access:
    """What one organisation may do with one collection."""

    can_read: bool
    can_write: bool

    @property
    def visible(self) -> bool:
        """Whether the organisation may know the collection exists at all."""
        return self.can_read or self.can_write


def collection_access(organization: str, collection: Collection) -> Access:
    """Decide what ``organization`` (a key) may do with ``collection``.

    >>> from kakehashi.config import Collection
    >>> c = Collection(id="x", api_root="r", title="t", can_read=("a",), can_write=())
    >>> collection_access("a", c)
    Access(can_read=True, can_write=False)
    """
    return Access(
        can_read=organization in collection.can_read,
        can_write=organization in collection.can_write,
    )
