"""Pulling from and pushing to one peer: the work of one pass, with durable cursors.

A pull pages through the remote collection from its cursor (``added_after``, then ``next``)
and commits each page together with the advanced cursor, so a crash never moves the
cursor past objects that were not stored, and a re-pull stores nothing twice (identical
versions are recognised). A push sends, from its cursor, what the organisation standing
for the peer may receive (:meth:`Policy.onward_visibility`), checks the remote status
resource, retries failures, and reports what still fails.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from kakehashi.audit import AuditAction, AuditEntry
from kakehashi.config import Collection, Peer, PeerCollection, Settings
from kakehashi.ingest import Ingest, expand, refusal, tlp_impostors
from kakehashi.policy import Policy
from kakehashi.stix.model import ObjectVersion
from kakehashi.stix.timestamps import now_us, parse_timestamp_us
from kakehashi.store import (
    ObjectQuery,
    StatusDetail,
    Store,
    StoredVersion,
    SyncKey,
    SyncState,
    VersionSelector,
)
from kakehashi.sync.client import PeerError, RemotePage, TaxiiClient, split_page
from kakehashi.sync.worker import PageWorker

__all__ = ["PeerLink", "PushReport"]

log = logging.getLogger(__name__)

PULL_PAGE = 1000
# The pages fetched in advance, and how many objects (and characters of JSON) at most are
# committed together when several fetched pages are waiting.
PREFETCH_PAGES = 8
PULL_BATCH = 10_000
PULL_BATCH_CHARS = 32 * 1024 * 1024
PUSH_BATCH = 500
PUSH_RETRIES = 2


class PushReport:
    """What one push pass did."""

    def __init__(self) -> None:
        self.sent = 0
        self.failed: list[str] = []


class PeerLink:
    """Sync with one peer.

    Args:
        settings: the hub's configuration.
        peer: the peer's configuration.
        store: the local store (open).
        client: a TAXII client authenticated at the peer.
        sleep: how to wait between status polls and retries (tests pass a fake).
        parallel: whether a large pull may split and validate its pages in a worker
            process (:mod:`kakehashi.sync.worker`); small pulls never do.
    """

    def __init__(
        self,
        settings: Settings,
        peer: Peer,
        store: Store,
        client: TaxiiClient,
        *,
        sleep: Callable[[float], None] = time.sleep,
        parallel: bool = False,
    ) -> None:
        self.peer = peer
        self._parallel = parallel
        self._settings = settings
        self._store = store
        self._client = client
        self._policy = Policy(settings)
        self._ingest = Ingest(settings, self._policy)
        self._collections = {c.id: c for c in settings.collections}
        self._remote_urls: dict[str, str] = {}
        self._sleep = sleep
        self.moved = 0

    def close(self) -> None:
        self._client.close()

    def wait_changes(self, mapping: PeerCollection, cursor: str, wait: float) -> bool:
        """Block until the peer has something newer than ``cursor`` (or ``wait`` passes)."""
        return self._client.wait_changes(self.remote_url(mapping), after=cursor or None, wait=wait)

    # -- helpers --------------------------------------------------------------------------

    def remote_url(self, mapping: PeerCollection) -> str:
        url = self._remote_urls.get(mapping.remote)
        if url is None:
            url = self._client.find_collection(self.peer.url, mapping.remote)
            self._remote_urls[mapping.remote] = url
        return url

    def state(self, mapping: PeerCollection, direction: str) -> SyncState:
        key = SyncKey(self.peer.name, mapping.remote, mapping.local, direction)
        for state in self._store.sync_states(self.peer.name):
            if state.key == key:
                return state
        return SyncState(key=key)

    def record_error(self, mapping: PeerCollection, direction: str, error: str) -> None:
        state = self.state(mapping, direction)
        now = now_us()
        self._store.save_sync_state(
            replace(state, last_run_us=now, last_error=error[:500], last_error_us=now)
        )

    # -- pull -------------------------------------------------------------------------------

    def pull_once(self, mapping: PeerCollection, *, max_pages: int | None = None) -> int:
        """Pull every new page; return how many object versions were newly stored.

        A helper thread fetches the next pages while this one validates and stores, so the
        peer's latency and this hub's work overlap. The pages already fetched are stored
        together, in one transaction with the cursor of the last of them (at most
        :data:`PULL_BATCH` objects): during a catch-up that is one commit for several
        pages, while a lone new page is stored as soon as it arrives. ``self.moved`` counts
        what was stored so far, also when the pass ends in an error.
        """
        collection = self._collections[mapping.local]
        state = self.state(mapping, "pull")
        url = self.remote_url(mapping)
        self.moved = 0
        # Started only once the peer says more remains after PULL_PAGE objects.
        worker = PageWorker() if self._parallel else None
        pages = _Prefetcher(
            self._client.iter_objects(
                url,
                added_after=state.cursor or None,
                limit=PULL_PAGE,
                splitter=None if worker is None else worker.split,
            ),
            ahead=PREFETCH_PAGES,
            worker=worker,
        )
        taken = 0
        try:
            while max_pages is None or taken < max_pages:
                batch = pages.take(
                    max_objects=PULL_BATCH,
                    max_chars=PULL_BATCH_CHARS,
                    max_pages=None if max_pages is None else max_pages - taken,
                )
                if not batch:
                    break
                taken += len(batch)
                state = self._store_pages(collection, mapping, state, batch, worker)
        finally:
            pages.close()
            if worker is not None:
                worker.close()
        now = now_us()
        self._store.save_sync_state(replace(state, last_run_us=now, last_success_us=now))
        if self.moved:
            log.info(
                "pulled %d new object versions from %s (%s -> %s)",
                self.moved,
                self.peer.name,
                mapping.remote,
                mapping.local,
            )
        return self.moved

    def _store_pages(
        self,
        collection: Collection,
        mapping: PeerCollection,
        state: SyncState,
        fetched: list[_Fetched],
        worker: PageWorker | None,
    ) -> SyncState:
        """Validate the pages and commit them with the cursor after the last one."""
        pages = [item.page for item in fetched]
        accepted, rejected = self._check_pages(collection, fetched, worker)
        now = now_us()
        request = self._ingest.received_checked(
            collection, self.peer, mapping.remote, accepted, rejected, request_us=now
        )
        cursor = state.cursor
        for page in pages:
            cursor = page.date_added_last or cursor
        state = replace(
            state,
            cursor=cursor,
            cursor_us=_micros(cursor),
            last_run_us=now,
            last_success_us=now,
            last_error="",
            last_error_us=0,
        )
        # The pages, their audit record and the advanced cursor commit together; the
        # store adds what it stored to the cursor's running count.
        result = self._store.add_objects(replace(request, cursor=state))
        self.moved += result.stored
        failures = result.status.failures
        if failures:
            log.warning(
                "pull %s %s: %d of %d objects refused, first: %s",
                self.peer.name,
                mapping.remote,
                len(failures),
                sum(page.size for page in pages),
                failures[0].message,
            )
        return replace(state, objects=state.objects + result.stored)

    def _check_pages(
        self, collection: Collection, fetched: list[_Fetched], worker: PageWorker | None
    ) -> tuple[list[ObjectVersion], list[StatusDetail]]:
        """The pages' objects, checked as one envelope by :meth:`Ingest.received`: by the
        worker for the pages it took, here for the others (or for all of them, when that
        is the only way to get the same answer)."""
        # Every page the worker took has a result, in order: read them all, always.
        results = [
            worker.result() if item.in_worker and worker is not None else None for item in fetched
        ]
        if any(result is not None for result in results):
            combined = self._combine(collection, fetched, results)
            if combined is not None:
                return combined
        raw_objects = [raw for item in fetched for raw in split_page(item.page)]
        return self._ingest.check_received(collection, self.peer, raw_objects)

    def _combine(
        self,
        collection: Collection,
        fetched: list[_Fetched],
        results: list[tuple[object, ...] | None],
    ) -> tuple[list[ObjectVersion], list[StatusDetail]] | None:
        """The worker's results, with the pages it did not check checked here; ``None``
        when the batch must be checked here as a whole (a page holds marking definitions
        that claim to be TLP, whose effect reaches the other pages of the batch)."""
        for item, result in zip(fetched, results, strict=True):
            if result is None:
                if tlp_impostors(split_page(item.page)):
                    return None
            elif result[0] != "ok" or result[1] != item.page.size:
                return None
        accepted: list[ObjectVersion] = []
        rejected: list[StatusDetail] = []
        offset = 0
        for item, result in zip(fetched, results, strict=True):
            if result is None:
                ok, refused = self._ingest.check_received(
                    collection, self.peer, split_page(item.page), first_index=offset
                )
                accepted.extend(ok)
                rejected.extend(refused)
            else:
                _, _, compacts, refusals = result
                accepted.extend(expand(compacts))  # type: ignore[arg-type]
                rejected.extend(
                    refusal(offset + index, object_id, version, reason)
                    for index, object_id, version, reason in refusals  # type: ignore[attr-defined]
                )
            offset += item.page.size
        return accepted, rejected

    # -- push -------------------------------------------------------------------------------

    def push_once(self, mapping: PeerCollection) -> PushReport:
        """Send what is new since the push cursor and may go to the peer."""
        collection = self._collections[mapping.local]
        visibility = self._policy.onward_visibility(self.peer, collection)
        report = PushReport()
        if visibility is None:
            raise PeerError(
                f"{self.peer.organization} may not read collection {collection.id}, so"
                " nothing of it may be pushed to this peer",
                url=self.peer.url,
            )
        state = self.state(mapping, "push")
        url = self.remote_url(mapping)
        while True:
            page = self._store.get_objects(
                collection.id,
                ObjectQuery(
                    limit=PUSH_BATCH,
                    versions=VersionSelector.every(),
                    after_us=state.cursor_us or None,
                ),
                visibility,
            )
            if not page.items:
                break
            failed = self._send(url, [item.raw for item in page.items])
            report.sent += len(page.items) - len(failed)
            report.failed.extend(failed)
            self._audit_push(collection, page.items)
            now = now_us()
            last = page.last_added_us or state.cursor_us
            state = replace(
                state,
                cursor=str(last),
                cursor_us=last,
                objects=state.objects + len(page.items) - len(failed),
                last_run_us=now,
                last_success_us=now if not failed else state.last_success_us,
                last_error=(
                    f"{len(failed)} objects refused by the peer, e.g. {failed[0]}" if failed else ""
                ),
                last_error_us=now if failed else 0,
            )
            self._store.save_sync_state(state)
            if not page.more:
                break
        if report.sent:
            log.info(
                "pushed %d object versions to %s (%s -> %s)",
                report.sent,
                self.peer.name,
                mapping.local,
                mapping.remote,
            )
        return report

    def _send(self, url: str, raws: list[str]) -> list[str]:
        """POST ``raws``; retry the ones the peer refuses; return what still fails."""
        pending = raws
        failures: list[str] = []
        for attempt in range(PUSH_RETRIES + 1):
            status = self._client.add_objects(url, pending)
            status = self._wait_final(url, status)
            reported = status.get("failures", [])
            failed_ids = {
                str(f.get("id", "")): str(f.get("message", ""))
                for f in (reported if isinstance(reported, list) else [])
                if isinstance(f, dict)
            }
            if not failed_ids:
                return []
            failures = [f"{oid}: {msg}" for oid, msg in failed_ids.items()]
            by_id = {_object_id(raw): raw for raw in pending}
            pending = [by_id[oid] for oid in failed_ids if oid in by_id]
            if not pending or attempt == PUSH_RETRIES:
                break
            self._sleep(0.5 * (attempt + 1))
        return failures

    def _wait_final(self, url: str, status: dict[str, object]) -> dict[str, object]:
        deadline = time.monotonic() + 60
        while status.get("status") == "pending" and time.monotonic() < deadline:
            self._sleep(0.5)
            api_root = url.split("/collections/")[0] + "/"
            status = self._client.status(api_root, str(status.get("id")))
        return status

    def _audit_push(self, collection: Collection, versions: list[StoredVersion]) -> None:
        self._store.append_audit(
            AuditEntry(
                at_us=now_us(),
                organization=self.peer.organization,
                account=f"sync:{self.peer.name}",
                action=AuditAction.RELEASE,
                collection_id=collection.id,
                agreement=collection.agreement,
                objects=tuple((v.id, v.version) for v in versions),
                detail=f"push to {self.peer.name}",
            )
        )


_DONE = object()


@dataclass(frozen=True, slots=True)
class _Fetched:
    """A fetched page, and whether the worker process took it (its results come back in
    the order the pages were fetched)."""

    page: RemotePage

    @property
    def in_worker(self) -> bool:
        return self.page.split_elsewhere is not None


class _Prefetcher:
    """Iterates ``pages`` in a helper thread, up to ``ahead`` pages in advance, and hands
    them over in batches of the pages already fetched (errors are re-raised here, after
    the pages fetched before them).

    With a ``worker`` (the splitter of ``pages``), it starts the worker once the peer says
    more remains after :data:`PULL_PAGE` objects; the worker then takes the pages that
    follow as soon as it is ready."""

    def __init__(
        self, pages: Iterator[RemotePage], *, ahead: int, worker: PageWorker | None = None
    ) -> None:
        self._worker = worker
        self._fetched = 0
        self._slot: queue.Queue[object] = queue.Queue(maxsize=ahead)
        self._stop = threading.Event()
        self._pages = pages
        self._ended = False
        self._held: _Fetched | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._produce, name="sync-prefetch", daemon=True)
        self._thread.start()

    def _produce(self) -> None:
        try:
            for page in self._pages:
                self._note(page)
                if not self._put(_Fetched(page)) or not page.size:
                    return
            self._put(_DONE)
        except BaseException as exc:  # handed to the consumer, which raises it
            self._put(exc)

    def _note(self, page: RemotePage) -> None:
        """Start the worker once the backlog is large."""
        self._fetched += page.size
        worker = self._worker
        large = page.more and self._fetched >= PULL_PAGE
        if worker is not None and large and not worker.started and not self._stop.is_set():
            worker.start()

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._slot.put(item, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False

    def take(self, *, max_objects: int, max_chars: int, max_pages: int | None) -> list[_Fetched]:
        """The next page (waiting for it), with the pages fetched after it that are
        already here, as long as they stay within the limits; ``[]`` at the end."""
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        batch: list[_Fetched] = []
        objects = chars = 0
        while max_pages is None or len(batch) < max_pages:
            item = self._held or self._next(block=not batch)
            self._held = None
            if item is None:
                break
            size = item.page.chars
            count = item.page.size
            if batch and (objects + count > max_objects or chars + size > max_chars):
                self._held = item  # the first page of the next batch
                break
            batch.append(item)
            objects += count
            chars += size
        return batch

    def _next(self, *, block: bool) -> _Fetched | None:
        """The next fetched page; ``None`` at the end, or if none is here and not
        ``block``. An error after some pages of this batch is kept for the next take."""
        if self._ended:
            return None
        try:
            item = self._slot.get(block=block)
        except queue.Empty:
            return None
        if isinstance(item, _Fetched) and item.page.size:
            return item
        self._ended = True
        if isinstance(item, BaseException):
            if block:
                raise item
            self._error = item  # the pages before it are stored first
        return None

    def close(self) -> None:
        self._stop.set()


def _micros(cursor: str) -> int:
    try:
        return parse_timestamp_us(cursor) if cursor else 0
    except ValueError:
        return 0


def _object_id(raw: str) -> str:
    import json

    try:
        value = json.loads(raw)
    except ValueError:
        return ""
    return str(value.get("id", "")) if isinstance(value, dict) else ""
