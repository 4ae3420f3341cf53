"""Hub B pulls from hub A under an agreement: with ``kakehashi sync --once`` and in the
background of ``kakehashi serve``, on SQLite and on PostgreSQL (each hub its own database).
"""

from __future__ import annotations

import statistics
import time
from functools import partial

import pytest

from .conftest import Federation
from .fedhub import GREEN, discovery_url, marked, peers_status, sync_once, token, wait_until
from .topology import A_SHARED, B_LOCAL, HUB_A_TOKEN_ENV, hub_a, hub_b

pytestmark = pytest.mark.serial

B_ENV = {HUB_A_TOKEN_ENV: token("b-sync")}
GREEN_CREATED = "2022-10-01T00:00:00.000Z"  # the OASIS TLP:GREEN definition's version


@pytest.mark.parametrize(
    "fed_backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_an_indicator_posted_on_a_reaches_b(federation: Federation) -> None:
    a = federation.start(federation.config("a", hub_a(federation.database("a"))))
    b_config = federation.config(
        "b", hub_b(federation.database("b"), a_url=discovery_url(a), interval="5s")
    )
    alice = federation.taxii(a, "alice", A_SHARED)

    # -- one pass from the command line, next to a hub that does not sync ----------------
    b = federation.start(b_config, env=B_ENV, sync=False)
    bob = federation.taxii(b, "bob", B_LOCAL)
    first = marked(1, GREEN)
    alice.post([first])
    (line,) = sync_once(b_config, B_ENV)
    assert (line.peer, line.direction) == ("hub-a", "pull")
    assert (line.local, line.remote) == (B_LOCAL, A_SHARED)
    # The indicator (the TLP:GREEN definition it references is the hub's, not counted).
    assert line.moved == 1
    assert line.error == ""
    assert bob.manifest() == {(first["id"], first["modified"]): 1, (GREEN, GREEN_CREATED): 1}
    # Stored with its provenance: which peer, which remote collection, who received it.
    rows = federation.query(
        "b",
        "SELECT origin, origin_collection, received_by, author FROM objects WHERE id = ?",
        (first["id"],),
    )
    assert rows == [("hub-a", A_SHARED, "cert-b", "cert-a")]
    # Idempotent: the second pass moves nothing.
    (again,) = sync_once(b_config, B_ENV)
    assert (again.moved, again.error) == (0, "")
    (status,) = peers_status(b_config)
    assert status["cursor"]
    assert status["last_error"] == ""
    assert status["objects"] == 1

    # -- the background sync of `kakehashi serve` ---------------------------------------
    b.stop()
    b = federation.start(b_config, env=B_ENV, sync=True)
    bob = federation.taxii(b, "bob", B_LOCAL)
    wait_until(lambda: peers_status(b_config)[0]["last_success"] != status["last_success"])
    latencies: list[float] = []
    for n in range(2, 7):
        obj = marked(n, GREEN)
        began = time.perf_counter()
        alice.post([obj])
        wait_until(partial(bob.has, obj["id"]), timeout=15.0, interval=0.005)
        latencies.append(time.perf_counter() - began)
    print(
        "A -> B propagation latency (POST on A until readable on B), ms:",
        [round(s * 1000) for s in latencies],
        f"median {statistics.median(latencies) * 1000:.0f} ms",
    )
    assert len(bob.manifest()) == 7
    (status,) = peers_status(b_config)
    assert status["last_error"] == ""
    assert status["objects"] == 6
