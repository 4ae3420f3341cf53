"""The TAXII 2.1 endpoints (OASIS TAXII 2.1, sections 4 and 5).

Every handler starts with :meth:`TaxiiApi._begin` (content negotiation, then
authentication) and reaches a collection only through :meth:`TaxiiApi._collection`,
which asks :func:`kakehashi.policy.collection_access`; there is no other path to data.
Store calls block, so they run in Starlette's thread pool.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from kakehashi.api.auth import Authenticator
from kakehashi.api.errors import TAXII_MEDIA_TYPE, PayloadTooLarge, taxii_json
from kakehashi.api.negotiation import check_accept, check_content_type
from kakehashi.api.params import encode_next, parse_query
from kakehashi.audit import AuditAction, AuditEntry
from kakehashi.config import Account, ApiRoot, Collection, Settings
from kakehashi.errors import (
    InvalidRequest,
    NotFound,
    PermissionDenied,
)
from kakehashi.ingest import Ingest
from kakehashi.policy import Access, Policy
from kakehashi.stix.envelope import split_envelope
from kakehashi.stix.model import ObjectVersion
from kakehashi.stix.timestamps import format_us, now_us, parse_timestamp_us
from kakehashi.stix.validate import validate_object
from kakehashi.stix.visibility import Visibility
from kakehashi.store import (
    STIX_MEDIA_TYPE,
    ObjectQuery,
    Page,
    Store,
    VersionSelector,
)
from kakehashi.sync.notify import ChangeNotifier

__all__ = ["TaxiiApi"]

log = logging.getLogger(__name__)

VERSIONS = [TAXII_MEDIA_TYPE]
MAX_CHANGES_WAIT_S = 60
CHANGES_RECHECK_S = 0.5


def _page_headers(page: Page) -> dict[str, str]:
    """X-TAXII-Date-Added-First/Last (section 3.2), present when the page has items."""
    if page.first_added_us is None or page.last_added_us is None:
        return {}
    return {
        "X-TAXII-Date-Added-First": format_us(page.first_added_us),
        "X-TAXII-Date-Added-Last": format_us(page.last_added_us),
    }


def _paging_members(page: Page) -> dict[str, Any]:
    members: dict[str, Any] = {"more": page.more}
    if page.more and page.last_added_us is not None:
        # taxii2-client pages only with `next`: it must be sent whenever more is true.
        members["next"] = encode_next(page.last_added_us)
    return members


def _envelope(page: Page) -> Response:
    """Stream the stored JSON texts back as they were received, without re-serialising."""
    head = json.dumps(_paging_members(page), separators=(",", ":"))[:-1]
    parts = [head.encode("utf-8")]
    if page.items:
        parts.append(b',"objects":[')
        parts.append(b",".join(item.raw.encode("utf-8") for item in page.items))
        parts.append(b"]")
    parts.append(b"}")
    return Response(b"".join(parts), media_type=TAXII_MEDIA_TYPE, headers=_page_headers(page))


class TaxiiApi:
    """The TAXII 2.1 handlers of one hub.

    Args:
        settings: the hub's configuration.
        store: an open store.
        validate: checks one object; injectable so tests can count calls.
    """

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        notifier: ChangeNotifier | None = None,
        validate: Callable[[object, str], ObjectVersion] = validate_object,
    ) -> None:
        self.settings = settings
        self.store = store
        self._auth = Authenticator(settings.accounts)
        self.policy = Policy(settings)
        self.notifier = notifier or ChangeNotifier()
        self._ingest_rules = Ingest(settings, self.policy, validate=validate)
        self._roots = {r.name: r for r in settings.api_roots}
        self._collections: dict[tuple[str, str], Collection] = {}
        for c in settings.collections:
            self._collections[(c.api_root, c.id)] = c
            if c.alias:
                self._collections[(c.api_root, c.alias)] = c
        self._max_page = settings.hub.max_page_size
        self._max_body = settings.hub.max_content_length

    # -- the one way in ---------------------------------------------------------------

    def _begin(self, request: Request) -> Account:
        check_accept(request.headers.get("accept"))
        account = self._auth.authenticate(request.headers.get("authorization"))
        request.scope["kakehashi.account"] = account.username
        return account

    def _root(self, request: Request) -> ApiRoot:
        root = self._roots.get(request.path_params["api_root"])
        if root is None:
            raise NotFound("no such API root")
        return root

    def _collection(
        self, request: Request, account: Account, *, read: bool = False, write: bool = False
    ) -> Collection:
        root = self._root(request)
        collection = self._collections.get((root.name, request.path_params["collection_id"]))
        access = (
            self.policy.access(account.organization, collection)
            if collection is not None
            else Access(can_read=False, can_write=False)
        )
        if collection is None or not access.visible:
            # A collection the organisation may neither read nor write is not revealed.
            raise NotFound("no such collection")
        if read and not access.can_read:
            raise PermissionDenied("your organisation may not read this collection")
        if write and not access.can_write:
            raise PermissionDenied("your organisation may not write to this collection")
        return collection

    def _visibility(self, account: Account, collection: Collection) -> Visibility:
        visibility = self.policy.visibility(account.organization, collection)
        if visibility is None:  # _collection(read=True) has already refused; never reached
            raise PermissionDenied("your organisation may not read this collection")
        return visibility

    def _released(
        self, account: Account, collection: Collection, page: Page, detail: str, *, sent: bool
    ) -> Page:
        """Record what a response is about to release; nothing leaves unrecorded.

        A HEAD response sends no body (``sent`` is false): it releases nothing.
        """
        if page.items and sent:
            self.store.append_audit(
                AuditEntry(
                    at_us=now_us(),
                    organization=account.organization,
                    account=account.username,
                    action=AuditAction.RELEASE,
                    collection_id=collection.id,
                    agreement=collection.agreement,
                    objects=tuple((item.id, item.version) for item in page.items),
                    detail=detail,
                )
            )
        return page

    def _read(
        self,
        account: Account,
        collection: Collection,
        detail: str,
        read: Callable[[Visibility], Page],
        *,
        sent: bool = True,
    ) -> Page:
        """Run one read under the viewer's visibility and audit what it releases."""
        page = read(self._visibility(account, collection))
        return self._released(account, collection, page, detail, sent=sent)

    def _read_one(
        self,
        account: Account,
        collection: Collection,
        object_id: str,
        detail: str,
        read: Callable[[Visibility], Page],
        *,
        sent: bool = True,
    ) -> Page:
        """A read of one object: 404 unless some version of it is visible."""
        visibility = self._visibility(account, collection)
        page = read(visibility)
        if not page.items and not self.store.object_exists(collection.id, object_id, visibility):
            # The same answer whether the object does not exist or may not be seen.
            raise NotFound("no such object in this collection")
        return self._released(account, collection, page, detail, sent=sent)

    def _query(self, request: Request) -> ObjectQuery:
        params: dict[str, list[str]] = {}
        for key, value in request.query_params.multi_items():
            params.setdefault(key, []).append(value)
        return parse_query(params, max_page_size=self._max_page)

    # -- section 4: discovery, API roots, status ----------------------------------------

    async def discovery(self, request: Request) -> Response:
        account = self._begin(request)
        base = str(request.base_url).rstrip("/")
        visible_roots = [
            root.name
            for root in self.settings.api_roots
            if any(
                self.policy.access(account.organization, c).visible
                for c in self.settings.collections_of(root.name)
            )
        ]
        hub = self.settings.hub
        body: dict[str, Any] = {"title": hub.title}
        if hub.description:
            body["description"] = hub.description
        if hub.contact:
            body["contact"] = hub.contact
        if visible_roots:
            urls = [f"{base}/{name}/" for name in visible_roots]
            body["default"] = urls[0]
            body["api_roots"] = urls
        return taxii_json(body)

    async def api_root(self, request: Request) -> Response:
        self._begin(request)
        root = self._root(request)
        body: dict[str, Any] = {
            "title": root.title,
            "versions": VERSIONS,
            "max_content_length": self._max_body,
        }
        if root.description:
            body["description"] = root.description
        return taxii_json(body)

    async def status(self, request: Request) -> Response:
        account = self._begin(request)
        self._root(request)
        status = await run_in_threadpool(self.store.get_status, request.path_params["status_id"])
        if status is None or status.owner != account.organization:
            raise NotFound("no such status resource")
        return taxii_json(status.to_json())

    # -- section 5: collections ---------------------------------------------------------

    def _collection_resource(self, collection: Collection, access: Access) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": collection.id,
            "title": collection.title,
            "can_read": access.can_read,
            "can_write": access.can_write,
            "media_types": [STIX_MEDIA_TYPE],
        }
        if collection.description:
            body["description"] = collection.description
        if collection.alias:
            body["alias"] = collection.alias
        return body

    async def collections(self, request: Request) -> Response:
        account = self._begin(request)
        root = self._root(request)
        listed = []
        for collection in self.settings.collections_of(root.name):
            access = self.policy.access(account.organization, collection)
            if access.visible:
                listed.append(self._collection_resource(collection, access))
        return taxii_json({"collections": listed} if listed else {})

    async def collection(self, request: Request) -> Response:
        account = self._begin(request)
        collection = self._collection(request, account)
        access = self.policy.access(account.organization, collection)
        return taxii_json(self._collection_resource(collection, access))

    async def manifest(self, request: Request) -> Response:
        account = self._begin(request)
        collection = self._collection(request, account, read=True)
        query = self._query(request)
        page = await run_in_threadpool(
            self._read,
            account,
            collection,
            "GET manifest",
            lambda visibility: self.store.manifest(collection.id, query, visibility),
            sent=request.method != "HEAD",
        )
        body = _paging_members(page)
        if page.items:
            body["objects"] = [
                {
                    "id": item.id,
                    "date_added": format_us(item.date_added_us),
                    "version": item.version,
                    "media_type": item.media_type,
                }
                for item in page.items
            ]
        return taxii_json(body, headers=_page_headers(page))

    async def get_objects(self, request: Request) -> Response:
        account = self._begin(request)
        collection = self._collection(request, account, read=True)
        query = self._query(request)
        page = await run_in_threadpool(
            self._read,
            account,
            collection,
            "GET objects",
            lambda visibility: self.store.get_objects(collection.id, query, visibility),
            sent=request.method != "HEAD",
        )
        return _envelope(page)

    async def add_objects(self, request: Request) -> Response:
        request_us = now_us()
        account = self._begin(request)
        check_content_type(request.headers.get("content-type"))
        collection = self._collection(request, account, write=True)
        body = await self._read_body(request)
        result = await run_in_threadpool(self._ingest, collection, account, body, request_us)
        return taxii_json(result, status_code=202)

    def _ingest(
        self, collection: Collection, account: Account, body: bytes, request_us: int
    ) -> dict[str, object]:
        raw_objects, _ = split_envelope(body)
        result = self.store.add_objects(
            self._ingest_rules.request(
                collection,
                account.organization,
                raw_objects,
                account=account.username,
                request_us=request_us,
                detail="POST objects",
            )
        )
        status = result.status
        if result.stored:
            self.notifier.notify(collection.id)
        log.info(
            "stored %d new of %d objects in %s for %s (%d failed)",
            result.stored,
            len(raw_objects),
            collection.id,
            account.username,
            len(status.failures),
        )
        return status.to_json()

    async def _read_body(self, request: Request) -> bytes:
        declared = request.headers.get("content-length")
        if declared is not None:
            if not declared.strip().isdigit():
                raise InvalidRequest("is not a number", parameter="Content-Length")
            if int(declared) > self._max_body:
                raise PayloadTooLarge(
                    f"the body is {declared} bytes; this API root accepts at most"
                    f" {self._max_body} (max_content_length)"
                )
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self._max_body:
                raise PayloadTooLarge(
                    f"the body exceeds {self._max_body} bytes (max_content_length)"
                )
            chunks.append(chunk)
        return b"".join(chunks)

    async def get_object(self, request: Request) -> Response:
        account = self._begin(request)
        collection = self._collection(request, account, read=True)
        object_id = request.path_params["object_id"]
        query = self._query(request)
        page = await run_in_threadpool(
            self._read_one,
            account,
            collection,
            object_id,
            "GET object",
            lambda visibility: self.store.get_object(collection.id, object_id, query, visibility),
            sent=request.method != "HEAD",
        )
        return _envelope(page)

    async def delete_object(self, request: Request) -> Response:
        account = self._begin(request)
        collection = self._collection(request, account, read=True, write=True)
        object_id = request.path_params["object_id"]
        query = self._query(request)
        if "match[version]" not in request.query_params:
            # TAXII 2.1 gives DELETE no default; removing the object means every version.
            query = ObjectQuery(
                limit=query.limit,
                versions=VersionSelector.every(),
                spec_versions=query.spec_versions,
            )
        deleted = await run_in_threadpool(self._delete, account, collection, object_id, query)
        log.info(
            "deleted %d versions of %s from %s for %s",
            deleted,
            object_id,
            collection.id,
            account.username,
        )
        return Response(b"", media_type=TAXII_MEDIA_TYPE)

    def _delete(
        self, account: Account, collection: Collection, object_id: str, query: ObjectQuery
    ) -> int:
        visibility = self._visibility(account, collection)
        if not self.store.object_exists(collection.id, object_id, visibility):
            raise NotFound("no such object in this collection")
        deleted = self.store.delete_object(
            collection.id,
            object_id,
            query,
            visibility,
            author=account.organization,
            account=account.username,
            agreement=collection.agreement,
        )
        if not deleted:
            raise PermissionDenied(
                "your organisation wrote no version of this object that matches; only the"
                " author's organisation may delete"
            )
        return deleted

    async def versions(self, request: Request) -> Response:
        account = self._begin(request)
        collection = self._collection(request, account, read=True)
        object_id = request.path_params["object_id"]
        query = self._query(request)
        page = await run_in_threadpool(
            self._read_one,
            account,
            collection,
            object_id,
            "GET versions",
            lambda visibility: self.store.versions(collection.id, object_id, query, visibility),
            sent=request.method != "HEAD",
        )
        body = _paging_members(page)
        if page.items:
            body["versions"] = [item.version for item in page.items]
        return taxii_json(body, headers=_page_headers(page))

    # -- Kakehashi extension: waiting for changes --------------------------------------

    async def changes(self, request: Request) -> Response:
        """``GET …/collections/{id}/changes/?after=TIMESTAMP&wait=SECONDS`` (an extension).

        Answers as soon as an object added after ``after`` is visible to the caller, or
        after ``wait`` seconds (at most 60): ``{"changed": bool, "date_added_last": …}``.
        Peers long-poll it so a new object reaches them in well under a second; what it
        reveals is only what the caller may read anyway.
        """
        account = self._begin(request)
        collection = self._collection(request, account, read=True)
        visibility = self._visibility(account, collection)
        after_text = request.query_params.get("after")
        after_us = 0
        if after_text:
            try:
                after_us = parse_timestamp_us(after_text)
            except ValueError as exc:
                raise InvalidRequest(str(exc), parameter="after") from exc
        wait_text = request.query_params.get("wait", "0")
        if not wait_text.isdigit():
            raise InvalidRequest("must be a whole number of seconds", parameter="wait")
        deadline = time.monotonic() + min(int(wait_text), MAX_CHANGES_WAIT_S)
        while True:
            # Read the change counter before the database: a write that commits between
            # the query and the wait below is then seen at once, not at the next re-check.
            seen = self.notifier.version(collection.id)
            latest = await run_in_threadpool(self.store.latest_added_us, collection.id, visibility)
            remaining = deadline - time.monotonic()
            if latest > after_us or remaining <= 0 or self.notifier.closing:
                break
            # Woken at once by writes in this process; the short timeout catches writes
            # made by other hub processes on the same database.
            await self.notifier.wait_async(
                collection.id, min(remaining, CHANGES_RECHECK_S), seen=seen
            )
        body: dict[str, Any] = {"changed": latest > after_us}
        if latest:
            body["date_added_last"] = format_us(latest)
        return taxii_json(body)

    # -- routing ------------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        """Every endpoint, answering with and without the trailing slash."""
        coll = "/{api_root}/collections/{collection_id}"
        obj = coll + "/objects/{object_id}"
        table: list[tuple[str, Callable[[Request], Any], list[str]]] = [
            ("/taxii2", self.discovery, ["GET"]),
            ("/{api_root}", self.api_root, ["GET"]),
            ("/{api_root}/status/{status_id}", self.status, ["GET"]),
            ("/{api_root}/collections", self.collections, ["GET"]),
            (coll, self.collection, ["GET"]),
            (coll + "/manifest", self.manifest, ["GET"]),
            (coll + "/objects", self.get_objects, ["GET"]),
            (coll + "/objects", self.add_objects, ["POST"]),
            (obj, self.get_object, ["GET"]),
            (obj, self.delete_object, ["DELETE"]),
            (obj + "/versions", self.versions, ["GET"]),
            (coll + "/changes", self.changes, ["GET"]),
        ]
        merged: dict[str, dict[str, Callable[[Request], Any]]] = {}
        for path, handler, methods in table:
            for method in methods:
                merged.setdefault(path, {})[method] = handler
        routes: list[BaseRoute] = []
        for path, handlers in merged.items():
            endpoint = _dispatch(handlers)
            for variant in (path + "/", path):
                routes.append(Route(variant, endpoint, methods=list(handlers)))
        return routes


def _dispatch(handlers: dict[str, Callable[[Request], Any]]) -> Callable[[Request], Any]:
    if len(handlers) == 1:
        return next(iter(handlers.values()))

    async def endpoint(request: Request) -> Response:
        # Starlette routes HEAD wherever GET is allowed; HEAD is answered by the GET handler.
        method = "GET" if request.method == "HEAD" else request.method
        response: Response = await handlers[method](request)
        return response

    return endpoint
