"""Running federation: one loop per peer mapping and direction, with back-off.

A peer that is down is retried with exponential back-off (capped) and never stops the hub
or the other mappings. Pulls from a Kakehashi peer wait on its ``changes`` long-poll
endpoint, so a new object arrives in well under a second; a plain TAXII peer is polled at
its interval. Pushes wake on local writes to the collection (:class:`ChangeNotifier`).
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from kakehashi.config import Peer, PeerCollection, Settings
from kakehashi.errors import ConfigError
from kakehashi.store import Store
from kakehashi.sync.client import PeerError, TaxiiClient
from kakehashi.sync.engine import PeerLink
from kakehashi.sync.notify import ChangeNotifier

__all__ = ["MappingOutcome", "SyncRunner", "peer_token"]

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 300.0
LONG_POLL_S = 25.0


def peer_token(peer: Peer, environ: Mapping[str, str]) -> str:
    """The peer's token from its environment variable; a missing secret stops start-up."""
    token = environ.get(peer.token_env, "")
    if not token:
        raise ConfigError(
            f"environment variable {peer.token_env} is not set; it must hold the token"
            f" for peer {peer.name!r}",
            key=f"peers.{peer.name}.token_env",
        )
    return token


@dataclass(frozen=True, slots=True)
class MappingOutcome:
    """The result of one pass over one mapping and direction."""

    peer: str
    mapping: PeerCollection
    direction: str
    moved: int
    error: str = ""


class SyncRunner:
    """Federation for a hub: one-off passes (``kakehashi sync --once``) or background loops.

    Args:
        settings: the configuration, with its peers.
        store: the open local store.
        notifier: local change notifications (shared with the API), if any.
        environ: where tokens are read from.
        transport: an httpx transport for every peer (tests inject one).
    """

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        notifier: ChangeNotifier | None = None,
        environ: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
        peers: tuple[str, ...] | None = None,
    ) -> None:
        self._settings = settings
        self._store = store
        self._notifier = notifier or ChangeNotifier()
        env = os.environ if environ is None else environ
        chosen = [p for p in settings.peers if peers is None or p.name in peers]
        if peers is not None:
            unknown = set(peers) - {p.name for p in settings.peers}
            if unknown:
                raise ConfigError(f"no peer named {sorted(unknown)[0]!r} in the configuration")
        self._links: list[PeerLink] = []
        for peer in chosen:
            client = TaxiiClient(
                username=peer.username or None,
                token=peer_token(peer, env),
                transport=transport,
                timeout=LONG_POLL_S + 15,
            )
            # Large pulls validate in a worker process, except when a test injects a
            # transport (its peer lives in this process).
            link = PeerLink(settings, peer, store, client, parallel=transport is None)
            self._links.append(link)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def notifier(self) -> ChangeNotifier:
        return self._notifier

    # -- one pass -------------------------------------------------------------------------

    def run_once(self) -> list[MappingOutcome]:
        """One pull and/or push pass over every mapping; errors are recorded, not raised."""
        outcomes: list[MappingOutcome] = []
        for link in self._links:
            for mapping in link.peer.collections:
                for direction in _directions(mapping):
                    outcomes.append(self._pass(link, mapping, direction))
        return outcomes

    def _pass(self, link: PeerLink, mapping: PeerCollection, direction: str) -> MappingOutcome:
        try:
            if direction == "pull":
                moved = link.pull_once(mapping)
                if moved:
                    self._notifier.notify(mapping.local)
            else:
                report = link.push_once(mapping)
                moved = report.sent
                if report.failed:
                    log.warning(
                        "push %s (%s -> %s): %d object versions refused by the peer"
                        " after retries, first: %s",
                        link.peer.name,
                        mapping.local,
                        mapping.remote,
                        len(report.failed),
                        report.failed[0],
                    )
                    return MappingOutcome(
                        link.peer.name, mapping, direction, moved, "; ".join(report.failed[:3])
                    )
            return MappingOutcome(link.peer.name, mapping, direction, moved)
        except Exception as exc:  # a peer's fault must never stop the others
            message = _describe(exc)
            log.warning("%s %s (%s): %s", direction, link.peer.name, mapping.remote, message)
            try:
                link.record_error(mapping, direction, message)
            except Exception:
                log.exception("could not record the sync error")
            moved = link.moved if direction == "pull" else 0  # committed before the error
            return MappingOutcome(link.peer.name, mapping, direction, moved, message)

    # -- background ---------------------------------------------------------------------

    def start(self) -> None:
        """Start one daemon thread per mapping and direction."""
        for link in self._links:
            for mapping in link.peer.collections:
                for direction in _directions(mapping):
                    thread = threading.Thread(
                        target=self._loop,
                        args=(link, mapping, direction),
                        name=f"sync-{link.peer.name}-{direction}-{mapping.local[:8]}",
                        daemon=True,
                    )
                    thread.start()
                    self._threads.append(thread)

    def stop(self, timeout: float = 2.0) -> None:
        """Stop the loops within ``timeout`` seconds in all; a thread still inside a
        long-poll is a daemon and ends with the process."""
        self._stop.set()
        self._notifier.wake_all()  # push loops waiting on local changes
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        if not any(t.is_alive() for t in self._threads):
            for link in self._links:
                link.close()

    def _loop(self, link: PeerLink, mapping: PeerCollection, direction: str) -> None:
        failures = 0
        long_poll = True
        woken = False
        while not self._stop.is_set():
            seen = self._notifier.version(mapping.local)
            outcome = self._pass(link, mapping, direction)
            if outcome.error:
                failures += 1
                delay = min(mapping.interval_s * 2 ** min(failures, 10), MAX_BACKOFF_S)
                self._stop.wait(delay * random.uniform(0.8, 1.2))  # noqa: S311 - jitter
                continue
            failures = 0
            if direction == "push":
                self._wait_local(mapping.local, seen, mapping.interval_s)
            elif long_poll:
                if outcome.moved == 0 and woken:
                    # Woken but nothing came: never turn a disagreement between the peer's
                    # changes answer and its pages into a busy loop.
                    self._stop.wait(min(mapping.interval_s, 1.0))
                answer = self._wait_remote(link, mapping)
                woken = bool(answer)
                long_poll = answer is not None
            else:
                self._stop.wait(mapping.interval_s)

    def _wait_local(self, collection_id: str, seen: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not self._stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            if self._notifier.wait(collection_id, seen, min(remaining, 1.0)) > seen:
                return

    def _wait_remote(self, link: PeerLink, mapping: PeerCollection) -> bool | None:
        """Long-poll the peer's changes endpoint: whether it said something changed, or
        ``None`` if the peer has no such endpoint (then it is polled at its interval)."""
        try:
            state = link.state(mapping, "pull")
            return link.wait_changes(mapping, state.cursor, LONG_POLL_S)
        except PeerError as exc:
            if exc.status in (404, 405, 400):
                log.info(
                    "peer %s has no changes endpoint; polling every %ss",
                    link.peer.name,
                    mapping.interval_s,
                )
                self._stop.wait(mapping.interval_s)
                return None
            if not self._stop.is_set():
                self._stop.wait(min(mapping.interval_s, 5.0))
            return False


def _directions(mapping: PeerCollection) -> list[str]:
    return [d for d, on in (("pull", mapping.pulls), ("push", mapping.pushes)) if on]


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if isinstance(exc, PeerError) else f"{type(exc).__name__}: {text}"
