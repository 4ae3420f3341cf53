"""What one organisation may do with one collection as a whole (decided by :class:`Policy`)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Access"]


@dataclass(frozen=True, slots=True)
class Access:
    """What one organisation may do with one collection."""

    can_read: bool
    can_write: bool

    @property
    def visible(self) -> bool:
        """Whether the organisation may know the collection exists at all."""
        return self.can_read or self.can_write
