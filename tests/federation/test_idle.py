"""Once caught up, a syncing hub is quiet: it holds one long-poll open and asks nothing else."""

from __future__ import annotations

import time

import pytest

from .conftest import Federation
from .fedhub import GREEN, PeerHub, discovery_url, marked, token, wait_until
from .topology import A_SHARED, B_LOCAL, HUB_A_TOKEN_ENV, hub_a, hub_b

pytestmark = pytest.mark.serial

B_ENV = {HUB_A_TOKEN_ENV: token("b-sync")}
WINDOW_S = 2.0


def requests_by_b(a: PeerHub) -> int:
    return sum(" b-sync " in line for line in a.log_text().splitlines())


def requests_in_window(a: PeerHub) -> int:
    """How many requests hub B made to hub A during WINDOW_S seconds."""
    before = requests_by_b(a)
    time.sleep(WINDOW_S)
    return requests_by_b(a) - before


def test_a_caught_up_hub_is_quiet_when_the_peer_holds_identical_copies(
    federation: Federation,
) -> None:
    a = federation.start(federation.config("a", hub_a(federation.database("a"))))
    b_config = federation.config("b", hub_b(federation.database("b"), a_url=discovery_url(a)))
    b = federation.start(b_config, env=B_ENV)
    shared = marked(1, GREEN)
    federation.taxii(a, "alice", A_SHARED).post([shared])
    wait_until(lambda: federation.taxii(b, "bob", B_LOCAL).has(shared["id"]))
    idle = requests_in_window(a)
    print(f"requests from B to A in {WINDOW_S}s, caught up: {idle}")
    assert idle <= 2  # the changes long-poll is held open

    # cert-b posts the very same text on hub A (a second copy, by another author).
    federation.taxii(a, "b-sync", A_SHARED).post([shared])
    time.sleep(0.5)
    busy = requests_in_window(a)
    print(f"requests from B to A in {WINDOW_S}s, after the identical copy: {busy}")
    assert busy <= 2
