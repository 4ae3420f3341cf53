"""Who may see and write what. Pure functions over the settings; no I/O."""

from kakehashi.policy.access import Access
from kakehashi.policy.sharing import Policy, Reader

__all__ = ["Access", "Policy", "Reader"]
