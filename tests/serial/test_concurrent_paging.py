"""Paging while others write: nothing skipped, nothing repeated, ``date_added`` order.

TAXII consumers poll with ``added_after`` (or ``next``); that is only safe if an object
never becomes visible with a ``date_added`` earlier than one a reader has already passed.
"""

from __future__ import annotations

import signal
from collections import Counter
from pathlib import Path

import httpx
import pytest

from conftest import basic
from stixgen import indicator

from .conftest import StartHub
from .hubproc import HubProcess, exchange, objects_url, post_objects, read_all

pytestmark = pytest.mark.serial

WRITERS = 4
ENVELOPES = 10
SIZE = 20


def test_readers_see_every_acknowledged_object_once_in_order(hub: HubProcess) -> None:
    acked, followers = exchange(
        [hub.base_url], [hub.base_url], writers=WRITERS, envelopes=ENVELOPES, size=SIZE
    )
    assert len(acked) == WRITERS * ENVELOPES * SIZE
    expected = Counter(acked)
    assert set(expected.values()) == {1}
    for follower in followers:
        # Order was checked page by page as the follower read (see Follower.catch_up).
        assert follower.seen == expected, follower.endpoint
        # The reads overlapped the writes.
        assert follower.read_while_writing > 0, follower.endpoint

    with httpx.Client(timeout=30.0) as client:
        assert read_all(client, [hub.base_url]).seen == expected


def test_next_token_outlives_the_process_that_issued_it(
    backend: str, hub_config: Path, start_hub: StartHub
) -> None:
    hub = start_hub(hub_config)
    url = objects_url(hub.base_url)
    with httpx.Client(timeout=30.0) as client:
        for start in (0, 40, 80):
            post_objects(client, hub.base_url, [indicator(n) for n in range(start, start + 40)])
        first = client.get(url, params={"limit": "50"}, headers=basic("alice"))
        token = first.json()["next"]
        before = client.get(url, params={"limit": "50", "next": token}, headers=basic("alice"))
        assert before.status_code == 200
        # SIGTERM: uvicorn shuts down (closing the store) and re-raises the signal.
        assert hub.stop() in (0, -signal.SIGTERM)
        if backend == "sqlite":  # the last connection closed checkpoints the WAL away
            assert not (hub_config.parent / "hub.db-wal").exists()

        restarted = start_hub(hub_config)
        url = objects_url(restarted.base_url)
        after = client.get(url, params={"limit": "50", "next": token}, headers=basic("alice"))
        assert after.status_code == 200, after.text
        assert after.content == before.content
        for header in ("X-TAXII-Date-Added-First", "X-TAXII-Date-Added-Last"):
            assert after.headers[header] == before.headers[header]
        last = client.get(
            url, params={"limit": "50", "next": after.json()["next"]}, headers=basic("alice")
        )
        assert last.json()["more"] is False

    pages = [r.json()["objects"] for r in (first, after, last)]
    assert [len(page) for page in pages] == [50, 50, 20]
    served = [obj["id"] for page in pages for obj in page]
    assert sorted(served) == sorted(indicator(n)["id"] for n in range(120))
