"""A small TAXII 2.1 client over httpx: what federation and the CLI need of a remote server.

Any TAXII 2.1 server is a valid peer (Kakehashi, medallion, OpenCTI, ...). Pages are
followed with ``next`` when the server gives one and with ``added_after`` =
``X-TAXII-Date-Added-Last`` otherwise (TAXII 2.1 section 3.4). The transport is injectable
(``httpx.MockTransport`` or ``httpx.ASGITransport`` in tests, a real connection in use).
Tokens are sent, never logged.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

import httpx

from kakehashi.errors import HubError

if TYPE_CHECKING:
    from kakehashi.stix.envelope import RawObject

__all__ = [
    "TAXII_ACCEPT",
    "PeerError",
    "RemotePage",
    "Splitter",
    "TaxiiClient",
    "split_page",
]

log = logging.getLogger(__name__)

TAXII_ACCEPT = "application/taxii+json;version=2.1"

# Splits a page body elsewhere (a worker process): the number of objects, their characters
# and the envelope's other members, or ``None`` to have it split here.
Splitter = Callable[[bytes], tuple[int, int, dict[str, Any]] | None]


class PeerError(HubError):
    """A remote TAXII server failed or answered something unusable.

    Attributes:
        url: the URL asked (never with credentials).
        status: the HTTP status, or ``None`` when there was no answer.
        retryable: whether trying again later may help (network, 5xx, 429).
    """

    def __init__(self, reason: str, *, url: str, status: int | None = None) -> None:
        self.url = url
        self.status = status
        self.retryable = status is None or status >= 500 or status == 429
        shown = f" (HTTP {status})" if status is not None else ""
        super().__init__(f"{url}{shown}: {reason}")


@dataclass(frozen=True, slots=True)
class RemotePage:
    """One page of a remote collection.

    Attributes:
        objects: the objects as parsed JSON, in the server's order.
        raws: each object's exact JSON text (the same order), when the body could be
            split; lets a Kakehashi peer store exactly what the remote served.
        more: whether the server says more remains.
        next: the server's ``next`` token, if any.
        date_added_last: the ``X-TAXII-Date-Added-Last`` header, if any.
        body: the body the objects were split from (``b""`` when it could not be split
            as is).
        split_elsewhere: ``(objects, characters)`` when the body was split by a
            :data:`Splitter` rather than here: ``objects`` and ``raws`` are then empty, and
            :func:`split_page` gives them from ``body``.
    """

    objects: list[dict[str, Any]]
    raws: list[str]
    more: bool
    next: str | None
    date_added_last: str | None
    date_added_first: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    body: bytes = field(default=b"", repr=False)
    split_elsewhere: tuple[int, int] | None = None

    @property
    def size(self) -> int:
        """How many objects the page holds."""
        return len(self.objects) if self.split_elsewhere is None else self.split_elsewhere[0]

    @property
    def chars(self) -> int:
        """How many characters of JSON its objects are."""
        if self.split_elsewhere is None:
            return sum(map(len, self.raws))
        return self.split_elsewhere[1]


class TaxiiClient:
    """A TAXII 2.1 client for one server.

    Args:
        username: HTTP Basic user (with ``token`` as password), or ``None`` for Bearer.
        token: the secret; sent as the Basic password or a Bearer token.
        transport: an httpx transport (tests inject one); ``None`` for the network.
        timeout: seconds per request.
    """

    def __init__(
        self,
        *,
        username: str | None,
        token: str,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
    ) -> None:
        auth: httpx.Auth | None = None
        headers = {"Accept": TAXII_ACCEPT, "User-Agent": "kakehashi"}
        if username is not None:
            auth = httpx.BasicAuth(username, token)
        else:
            headers["Authorization"] = f"Bearer {token}"
        self._client = httpx.Client(
            auth=auth, headers=headers, transport=transport, timeout=timeout
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> TaxiiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing -------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        body: bytes | None = None,
    ) -> httpx.Response:
        headers = {"Content-Type": TAXII_ACCEPT} if body is not None else None
        started = time.perf_counter()
        try:
            response = self._client.request(
                method, url, params=params, content=body, headers=headers
            )
        except httpx.HTTPError as exc:
            raise PeerError(f"{type(exc).__name__}: {exc}", url=url) from exc
        log.debug(
            "%s %s -> %d in %.1f ms",
            method,
            url,
            response.status_code,
            (time.perf_counter() - started) * 1000,
        )
        if response.status_code >= 400:
            raise PeerError(_error_text(response), url=url, status=response.status_code)
        return response

    def _json(self, response: httpx.Response) -> dict[str, Any]:
        try:
            body = response.json() if response.content else {}
        except ValueError as exc:
            raise PeerError("the answer is not JSON", url=str(response.url)) from exc
        if not isinstance(body, dict):
            raise PeerError("the answer is not a JSON object", url=str(response.url))
        return body

    # -- TAXII resources -------------------------------------------------------------------

    def discovery(self, url: str) -> dict[str, Any]:
        return self._json(self._request("GET", url))

    def api_root_urls(self, discovery_url: str) -> list[str]:
        """Absolute URLs of the API roots that discovery lists."""
        body = self.discovery(discovery_url)
        return [_slash(urljoin(discovery_url, root)) for root in body.get("api_roots", [])]

    def collections(self, api_root_url: str) -> list[dict[str, Any]]:
        body = self._json(self._request("GET", urljoin(api_root_url, "collections/")))
        collections = body.get("collections", [])
        return [c for c in collections if isinstance(c, dict)]

    def find_collection(self, discovery_url: str, collection_id: str) -> str:
        """The URL of a collection (``…/collections/ID/``) found through discovery."""
        for root in self.api_root_urls(discovery_url):
            for collection in self.collections(root):
                if collection_id in (collection.get("id"), collection.get("alias")):
                    return urljoin(root, f"collections/{collection['id']}/")
        raise PeerError(f"no collection {collection_id} in any API root", url=discovery_url)

    def get_page(
        self,
        collection_url: str,
        *,
        added_after: str | None = None,
        next_token: str | None = None,
        limit: int | None = None,
        params: Mapping[str, str] | None = None,
        splitter: Splitter | None = None,
    ) -> RemotePage:
        """One page of objects (all versions) of a remote collection; a ``splitter`` may
        split its body elsewhere (see :attr:`RemotePage.split_elsewhere`)."""
        query: dict[str, str] = {"match[version]": "all", **(params or {})}
        if added_after:
            query["added_after"] = added_after
        if next_token:
            query["next"] = next_token
        if limit:
            query["limit"] = str(limit)
        url = urljoin(_slash(collection_url), "objects/")
        response = self._request("GET", url, params=query)
        return _page(response, self._json, splitter)

    def iter_objects(
        self,
        collection_url: str,
        *,
        added_after: str | None = None,
        limit: int | None = None,
        params: Mapping[str, str] | None = None,
        splitter: Splitter | None = None,
    ) -> Iterator[RemotePage]:
        """Every page from ``added_after`` (exclusive) to the end; ``params`` are extra
        filters sent with every page (e.g. ``match[type]``), ``splitter`` as for
        :meth:`get_page`."""
        next_token: str | None = None
        while True:
            page = self.get_page(
                collection_url,
                added_after=added_after,
                next_token=next_token,
                limit=limit,
                params=params,
                splitter=splitter,
            )
            yield page
            if not page.more or not page.size:
                return
            if page.next:
                next_token = page.next
            elif page.date_added_last:
                next_token, added_after = None, page.date_added_last
            else:
                raise PeerError(
                    "the server says more objects remain but gives neither next nor"
                    " X-TAXII-Date-Added-Last",
                    url=collection_url,
                )

    def add_objects(self, collection_url: str, objects_json: list[str]) -> dict[str, Any]:
        """POST an envelope built from the objects' JSON texts; return the status."""
        body = b'{"objects":[' + b",".join(o.encode("utf-8") for o in objects_json) + b"]}"
        url = urljoin(_slash(collection_url), "objects/")
        return self._json(self._request("POST", url, body=body))

    def wait_changes(self, collection_url: str, *, after: str | None, wait: float) -> bool:
        """Long-poll a Kakehashi peer's ``changes`` endpoint (a Kakehashi extension): returns
        when an object newer than ``after`` is visible to us, or after ``wait`` seconds.
        Raises :class:`PeerError` with status 404 on servers that do not have it."""
        params = {"wait": str(max(1, int(wait)))}
        if after:
            params["after"] = after
        url = urljoin(_slash(collection_url), "changes/")
        return bool(self._json(self._request("GET", url, params=params)).get("changed"))

    def status(self, api_root_url: str, status_id: str) -> dict[str, Any]:
        return self._json(self._request("GET", urljoin(api_root_url, f"status/{status_id}/")))


def _slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def _error_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase or "error"
    if isinstance(body, dict):
        title = str(body.get("title", ""))
        description = str(body.get("description", ""))
        return f"{title}: {description}" if description else title or "error"
    return response.reason_phrase or "error"


def split_page(page: RemotePage) -> list[RawObject]:
    """The page's objects with their exact text (split from its body if it was split
    elsewhere)."""
    from kakehashi.stix.envelope import RawObject, split_envelope

    if page.split_elsewhere is not None:
        raw_objects, _ = split_envelope(page.body)
        if len(raw_objects) != page.size:
            raise ValueError("the page body no longer splits as it did")
        return raw_objects
    return [RawObject(value, raw) for value, raw in zip(page.objects, page.raws, strict=True)]


def _page(response: httpx.Response, parse: Any, splitter: Splitter | None = None) -> RemotePage:
    from kakehashi.errors import InvalidEnvelope
    from kakehashi.stix.envelope import split_envelope

    body = response.content
    elsewhere = splitter(body) if splitter is not None else None
    if elsewhere is not None:
        count, chars, others = elsewhere
        return _remote_page(response, [], [], others, body, (count, chars))
    try:
        raw_objects, others = split_envelope(body)
        objects = [item.value for item in raw_objects]
        raws = [item.raw for item in raw_objects]
    except InvalidEnvelope:
        body = b""
        # An empty envelope may omit "objects"; anything else that does not split is
        # parsed whole so the error says what is wrong.
        others = parse(response)
        objects = others.pop("objects", []) if "objects" in others else []
        raws = [json.dumps(o, separators=(",", ":")) for o in objects]
    if not all(isinstance(o, dict) for o in objects):
        raise PeerError("the envelope holds a non-object", url=str(response.url))
    return _remote_page(response, objects, raws, others, body, None)


def _remote_page(
    response: httpx.Response,
    objects: list[dict[str, Any]],
    raws: list[str],
    others: dict[str, Any],
    body: bytes,
    split_elsewhere: tuple[int, int] | None,
) -> RemotePage:
    next_token = others.get("next")
    return RemotePage(
        objects=objects,
        raws=raws,
        more=bool(others.get("more", False)),
        next=str(next_token) if next_token else None,
        date_added_last=response.headers.get("X-TAXII-Date-Added-Last"),
        date_added_first=response.headers.get("X-TAXII-Date-Added-First"),
        body=body,
        split_elsewhere=split_elsewhere,
    )
