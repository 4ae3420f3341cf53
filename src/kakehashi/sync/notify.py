"""In-process change notification: writers say "collection X changed", waiters wake.

Both kinds of waiter are served: threads (the push loops of the sync runner) and asyncio
tasks (the long-poll ``changes`` endpoint). Other processes' writes are not seen here;
waiters also re-check the database on a short timeout, so several hub processes on one
database still wake within that timeout.
"""

from __future__ import annotations

import asyncio
import threading
from collections import defaultdict

__all__ = ["ChangeNotifier"]


class ChangeNotifier:
    """Per-collection change counters with thread and asyncio waiters."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._condition = threading.Condition(self._lock)
        self._versions: dict[str, int] = defaultdict(int)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._async_events: dict[str, set[asyncio.Event]] = defaultdict(set)
        self.closing = False

    def bind_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Where asyncio waiters live (the server's event loop)."""
        self._loop = loop

    def version(self, collection_id: str) -> int:
        with self._lock:
            return self._versions[collection_id]

    def notify(self, collection_id: str) -> None:
        """Record a change; callable from any thread."""
        with self._condition:
            self._versions[collection_id] += 1
            self._condition.notify_all()
            events = list(self._async_events.get(collection_id, ()))
        loop = self._loop
        if loop is not None and events:
            for event in events:
                loop.call_soon_threadsafe(event.set)

    def wake_all(self) -> None:
        """Wake every thread waiter (for shutdown)."""
        with self._condition:
            self._condition.notify_all()

    def close(self) -> None:
        """The server is stopping: wake every waiter now and let no one wait again, so
        long-polls answer at once instead of holding the shutdown."""
        with self._condition:
            self.closing = True
            self._condition.notify_all()
            events = [e for waiting in self._async_events.values() for e in waiting]
        loop = self._loop
        if loop is not None:
            for event in events:
                loop.call_soon_threadsafe(event.set)

    def wait(self, collection_id: str, seen: int, timeout: float) -> int:
        """Block until the collection's version passes ``seen`` or ``timeout`` elapses."""
        with self._condition:
            self._condition.wait_for(lambda: self._versions[collection_id] > seen, timeout)
            return self._versions[collection_id]

    async def wait_async(
        self, collection_id: str, timeout: float, *, seen: int | None = None
    ) -> bool:
        """Wait (in the event loop) for the next change; ``True`` if one came. With
        ``seen``, a change already counted past it returns at once."""
        event = asyncio.Event()
        with self._lock:
            if self.closing:
                return False
            if seen is not None and self._versions[collection_id] > seen:
                return True
            self._async_events[collection_id].add(event)
        try:
            await asyncio.wait_for(event.wait(), timeout)
            return True
        except TimeoutError:
            return False
        finally:
            with self._lock:
                self._async_events[collection_id].discard(event)
