"""Two ``kakehashi serve`` processes on one database (one SQLite file, one PostgreSQL db).

Both accept writes at the same time; a reader that sends each request to either process
(a paging sequence hopping between them, as behind a load balancer) sees every object
exactly once, in ``date_added`` order.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import httpx
import pytest

from .conftest import StartHub
from .hubproc import exchange, read_all

pytestmark = pytest.mark.serial


def test_two_processes_share_one_database(
    backend: str, hub_config: Path, start_hub: StartHub
) -> None:
    # Launched together: both create or migrate the schema of a fresh database at once.
    first = start_hub(hub_config, wait=False)
    second = start_hub(hub_config, wait=False)
    first.ensure_ready()
    second.ensure_ready()
    bases = [first.base_url, second.base_url]

    acked, followers = exchange(bases, bases, writers=4, envelopes=10, size=20)
    expected = Counter(acked)
    assert len(expected) == 800
    assert set(expected.values()) == {1}
    for follower in followers:
        assert follower.seen == expected, follower.endpoint
        assert follower.read_while_writing > 0, follower.endpoint

    with httpx.Client(timeout=30.0) as client:
        for base in bases:
            assert read_all(client, [base]).seen == expected, base
            assert read_all(client, [base], "objects", limit=23).seen == expected, base
