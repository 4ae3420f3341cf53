"""Stopping hubs that sync: SIGTERM (what systemd and a rolling restart send) while hub B
long-polls hub A's ``changes`` endpoint."""

from __future__ import annotations

import signal
import subprocess
import time

import pytest

from .conftest import Federation
from .fedhub import PeerHub, discovery_url, peers_status, token, wait_until
from .topology import HUB_A_TOKEN_ENV, hub_a, hub_b

pytestmark = pytest.mark.serial

B_ENV = {HUB_A_TOKEN_ENV: token("b-sync")}
PROMPTLY_S = 3.0


def long_polling(federation: Federation) -> tuple[PeerHub, PeerHub]:
    """Hub A, and hub B syncing with it: B's pull loop waits on A's changes endpoint."""
    a = federation.start(federation.config("a", hub_a(federation.database("a"))))
    b_config = federation.config("b", hub_b(federation.database("b"), a_url=discovery_url(a)))
    # Hub B may notice that hub A went away before the test ends.
    b = federation.start(b_config, env=B_ENV, tolerate=[r"WARNING kakehashi\.sync\.runner: pull"])
    wait_until(lambda: peers_status(b_config)[0]["last_success"], what="B's first pull")
    time.sleep(0.5)  # the long-poll request is now open
    return a, b


def seconds_to_stop(hub: PeerHub) -> float:
    """SIGTERM, then how long the process took to exit (SIGKILL after twice the bound)."""
    assert hub.process is not None
    began = time.perf_counter()
    hub.process.send_signal(signal.SIGTERM)
    try:
        hub.process.wait(timeout=2 * PROMPTLY_S)
    except subprocess.TimeoutExpired:
        hub.kill()
    took = time.perf_counter() - began
    print(f"{hub.log_path.name} stopped {took:.1f}s after SIGTERM")
    return took


def test_a_syncing_hub_stops_promptly(federation: Federation) -> None:
    _, b = long_polling(federation)
    assert seconds_to_stop(b) < PROMPTLY_S


def test_a_hub_that_peers_long_poll_stops_promptly(federation: Federation) -> None:
    a, _ = long_polling(federation)
    assert seconds_to_stop(a) < PROMPTLY_S
