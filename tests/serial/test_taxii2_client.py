"""The OASIS TAXII 2.1 client (``taxii2client.v21``) against a running hub.

The full client flow: discovery, API root, collections, add objects (and the status
resource), paged get objects and manifest, object versions, get object, delete object.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import pytest
import requests
from taxii2client.common import TokenAuth
from taxii2client.exceptions import AccessError
from taxii2client.v21 import ApiRoot, Collection, Server, Status, as_pages

from conftest import (
    API_ROOT,
    COLLECTION,
    PRIVATE_COLLECTION,
    TAXII,
    TOKENS,
    WRITE_ONLY_COLLECTION,
)
from stixgen import indicator, ipv4, malware, ts

from .hubproc import HubProcess, parse_stamp_us

pytestmark = pytest.mark.serial

STIX = "application/stix+json;version=2.1"


class BearerAuth(requests.auth.AuthBase):
    """``Authorization: Bearer <token>`` for every request of a session."""

    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request


def _mixed(count: int, offset: int = 0) -> list[dict[str, Any]]:
    """Indicators, malware and ipv4-addr SCOs: two of every three are indicators."""
    made: list[dict[str, Any]] = []
    for n in range(offset, offset + count):
        kind = n % 6
        made.append(malware(n) if kind == 4 else ipv4(n) if kind == 5 else indicator(n))
    return made


@contextmanager
def _root(auth: requests.auth.AuthBase | None, base: str, user: str = "") -> Iterator[ApiRoot]:
    """Discovery, then the default API root; every connection is closed afterwards."""
    with ExitStack() as stack:
        if auth is not None:
            server = Server(f"{base}/taxii2/", auth=auth)
        else:
            server = Server(f"{base}/taxii2/", user=user, password=TOKENS[user])
        stack.enter_context(server)
        for root in server.api_roots:
            stack.enter_context(root)
        assert server.default is not None
        yield server.default


def _by_id(root: ApiRoot) -> dict[str, Collection]:
    return {c.id: c for c in root.collections}


def _status(error: requests.HTTPError) -> int:
    """The HTTP status of the response a taxii2-client call raised for."""
    assert error.response is not None
    return error.response.status_code


def _paged(pages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [item for page in pages for item in page.get("objects", [])]


def test_basic_auth_walks_every_endpoint(hub: HubProcess) -> None:
    with _root(None, hub.base_url, user="alice") as root:
        # Discovery and API root.
        assert root.url == f"{hub.base_url}/{API_ROOT}/"
        assert root.title == "Exchange"
        assert root.versions == [TAXII]
        assert root.max_content_length > 0
        collections = _by_id(root)
        assert set(collections) == {COLLECTION, PRIVATE_COLLECTION, WRITE_ONLY_COLLECTION}
        shared = collections[COLLECTION]
        assert (shared.can_read, shared.can_write) == (True, True)
        assert shared.media_types == [STIX]
        assert collections[PRIVATE_COLLECTION].alias == "a-only"

        # Add objects: a complete status naming every object.
        posted = _mixed(120)
        status = shared.add_objects({"objects": posted}, poll_interval=0.05, timeout=5)
        assert status.status == "complete"
        assert (status.total_count, status.success_count) == (120, 120)
        assert (status.failure_count, status.pending_count) == (0, 0)
        assert sorted(s["id"] for s in status.successes) == sorted(o["id"] for o in posted)

        # The status resource: fetched by id, refreshed, and polled to its final state.
        fetched = root.get_status(status.id)
        assert (fetched.id, fetched.status, fetched.success_count) == (status.id, "complete", 120)
        assert fetched.request_timestamp == status.request_timestamp
        # Status() without status_info loads itself with refresh().
        with Status(fetched.url, user="alice", password=TOKENS["alice"]) as polled:
            assert (polled.status, polled.total_count) == ("complete", 120)
            polled.status = "pending"  # as a client sees an asynchronous hub
            polled.wait_until_final(poll_interval=0.01, timeout=5)
            assert polled.status == "complete"
            assert polled.successes == status.successes

        # Get objects, 50 a page: three pages, every object exactly once, as posted.
        pages = list(as_pages(shared.get_objects, per_request=50))
        assert [len(p.get("objects", [])) for p in pages] == [50, 50, 20]
        assert [p["more"] for p in pages] == [True, True, False]
        served = _paged(pages)
        assert len({o["id"] for o in served}) == 120
        assert {o["id"]: o for o in served} == {o["id"]: o for o in posted}

        # Asking for more than the hub's max_page_size (50) gets 50 a page; the client copes.
        capped = list(as_pages(shared.get_objects, per_request=100))
        assert [len(p["objects"]) for p in capped] == [50, 50, 20]
        assert _paged(capped) == served

        # Filters travel with every page.
        only_indicators = list(as_pages(shared.get_objects, per_request=50, type="indicator"))
        assert [len(p["objects"]) for p in only_indicators] == [50, 30]
        assert {o["type"] for o in _paged(only_indicators)} == {"indicator"}

        # The manifest: same objects in the same order, date_added strictly increasing.
        manifest_pages = list(as_pages(shared.get_manifest, per_request=50))
        assert [len(p["objects"]) for p in manifest_pages] == [50, 50, 20]
        entries = _paged(manifest_pages)
        assert [e["id"] for e in entries] == [o["id"] for o in served]
        stamps = [parse_stamp_us(e["date_added"]) for e in entries]
        assert stamps == sorted(set(stamps))
        assert {e["media_type"] for e in entries} == {STIX}
        # added_after, as taxii2-client sends it: what came after the 100th object.
        later = shared.get_objects(added_after=entries[99]["date_added"])
        assert [o["id"] for o in later["objects"]] == [e["id"] for e in entries[100:]]
        versions = {e["id"]: e["version"] for e in entries}
        for obj in posted:
            if "modified" in obj:
                assert versions[obj["id"]] == obj["modified"]

        # Versions of one object, selected with match[version].
        target = indicator(0)["id"]
        for version in (1, 2):
            added = shared.add_objects({"objects": [indicator(0, version=version)]})
            assert (added.status, added.success_count) == ("complete", 1)
        listed = shared.object_versions(target)
        assert listed == {"more": False, "versions": [ts(0), ts(1), ts(2)]}
        assert shared.get_object(target)["objects"] == [indicator(0, version=2)]
        every = shared.get_object(target, version="all")["objects"]
        assert every == [indicator(0, version=v) for v in (0, 1, 2)]
        assert shared.get_object(target, version="first")["objects"] == [indicator(0)]
        assert shared.get_object(target, version=ts(1))["objects"] == [indicator(0, version=1)]

        # Delete: every version goes; the object is then unknown.
        assert shared.delete_object(target) is None
        for gone in (shared.get_object, shared.object_versions):
            with pytest.raises(requests.HTTPError) as excinfo:
                gone(target)
            assert _status(excinfo.value) == 404
        remaining = _paged(list(as_pages(shared.get_manifest, per_request=50)))
        assert len(remaining) == 119
        assert target not in {e["id"] for e in remaining}


def test_status_counts_failures_and_repeats(hub: HubProcess) -> None:
    with _root(None, hub.base_url, user="alice") as root:
        shared = _by_id(root)[COLLECTION]
        first = shared.add_objects({"objects": [indicator(1), indicator(2)]})
        assert (first.status, first.success_count) == ("complete", 2)
        broken = indicator(3)
        del broken["pattern"]
        status = shared.add_objects({"objects": [indicator(1), broken, indicator(4)]})
        # Re-posting an identical version succeeds; the broken one fails, by id.
        assert status.status == "complete"
        assert (status.total_count, status.success_count, status.failure_count) == (3, 2, 1)
        assert [f["id"] for f in status.failures] == [broken["id"]]
        assert "pattern" in status.failures[0].get("message", "")
        assert {s["id"] for s in status.successes} == {indicator(1)["id"], indicator(4)["id"]}
        served = _paged(list(as_pages(shared.get_objects, per_request=50)))
        assert sorted(o["id"] for o in served) == sorted(indicator(n)["id"] for n in (1, 2, 4))


def test_bearer_and_token_auth_with_a_read_only_member(hub: HubProcess) -> None:
    with _root(BearerAuth(TOKENS["alice"]), hub.base_url) as alice_root:
        shared = _by_id(alice_root)[COLLECTION]
        status = shared.add_objects({"objects": _mixed(60)}, wait_for_completion=False)
        assert (status.status, status.success_count) == ("complete", 60)

    # cert-b may read the shared collection and write to the drop box, nothing else.
    with _root(BearerAuth(TOKENS["bob"]), hub.base_url) as bob_root:
        bob = _by_id(bob_root)
        assert set(bob) == {COLLECTION, WRITE_ONLY_COLLECTION}
        readable = bob[COLLECTION]
        assert (readable.can_read, readable.can_write) == (True, False)
        pages = list(as_pages(readable.get_objects, per_request=25))
        assert [len(p["objects"]) for p in pages] == [25, 25, 10]
        assert len({o["id"] for o in _paged(pages)}) == 60
        with pytest.raises(AccessError):
            readable.add_objects({"objects": [indicator(999)]})
        # The hub refuses too, when a client skips the can_write check.
        claimed = Collection(
            readable.url,
            auth=BearerAuth(TOKENS["bob"]),
            collection_info={"id": COLLECTION, "title": "x", "can_read": True, "can_write": True},
        )
        with claimed, pytest.raises(requests.HTTPError) as denied:
            claimed.add_objects({"objects": [indicator(999)]})
        assert _status(denied.value) == 403
        # A status resource belongs to the organisation that posted.
        with pytest.raises(requests.HTTPError) as hidden:
            bob_root.get_status(status.id)
        assert _status(hidden.value) == 404

    # taxii2-client's TokenAuth ("Authorization: Token …") works as well.
    with _root(TokenAuth(TOKENS["alice"]), hub.base_url) as token_root:
        assert _by_id(token_root)[COLLECTION].can_write is True

    with Server(f"{hub.base_url}/taxii2/", auth=BearerAuth("not-a-token")) as stranger:
        with pytest.raises(requests.HTTPError) as refused:
            _ = stranger.title
        assert _status(refused.value) == 401
