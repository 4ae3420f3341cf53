"""A peer that is down: the hub keeps serving, reports the error, backs off, then catches up."""

from __future__ import annotations

import re
import socket
from datetime import datetime
from itertools import pairwise

import pytest

from .conftest import Federation
from .fedhub import GREEN, marked, peers_status, token, wait_until
from .topology import A_SHARED, B_LOCAL, HUB_A_TOKEN_ENV, hub_a, hub_b

pytestmark = pytest.mark.serial

B_ENV = {HUB_A_TOKEN_ENV: token("b-sync")}
# How hub B logs a failed pass while hub A is down.
PEER_DOWN = r"WARNING kakehashi\.sync\.runner: pull hub-a .*(ConnectError|Connection refused)"
_STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) ")


def stamp(line: str) -> datetime:
    match = _STAMP.match(line)
    assert match is not None, line
    return datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S,%f")


def failed_attempts(log: str) -> list[datetime]:
    return [stamp(line) for line in log.splitlines() if re.search(PEER_DOWN, line)]


def test_a_hub_whose_peer_is_down_keeps_serving_and_catches_up(federation: Federation) -> None:
    # A port that refuses connections (bound, not listening) until hub A takes it.
    reserved = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    reserved.bind(("127.0.0.1", 0))
    port = int(reserved.getsockname()[1])
    a_config = federation.config("a", hub_a(federation.database("a")))
    b_config = federation.config(
        "b",
        hub_b(federation.database("b"), a_url=f"http://127.0.0.1:{port}/taxii2/", interval="1s"),
    )
    try:
        b = federation.start(b_config, env=B_ENV, tolerate=[PEER_DOWN])

        # The hub serves as usual: reads and local writes.
        bob = federation.taxii(b, "bob", B_LOCAL)
        local = marked(1, GREEN, by="cert-b")
        bob.post([local])
        assert bob.ids() == {local["id"], GREEN}
        # The failure is recorded for the operator, with what went wrong.
        (status,) = wait_until(
            lambda: [s for s in peers_status(b_config) if s["last_error"]],
            what="the pull mapping's last error",
        )
        assert status["direction"] == "pull"
        assert status["remote"] == A_SHARED
        assert re.search(r"ConnectError|Connection refused", status["last_error"]), status
        assert status["last_error_at"]
        assert status["last_success"] is None
        # Two failed attempts, then hub A starts.
        wait_until(lambda: len(failed_attempts(b.log_text())) >= 2, what="a second failed attempt")
    finally:
        reserved.close()
    a = federation.start(a_config, port=port)
    remote = marked(2, GREEN, by="cert-a")
    federation.taxii(a, "alice", A_SHARED).post([remote])

    # Hub B catches up at its next attempt, and its status is clean again.
    wait_until(lambda: bob.has(remote["id"]), timeout=30.0, what="the object from A on B")
    (status,) = wait_until(
        lambda: [s for s in peers_status(b_config) if s["last_error"] == ""],
        what="the last error to clear",
    )
    assert status["last_success"]
    assert status["objects"] == 1

    # Back-off: the attempts were spaced out, more and more.
    attempts = failed_attempts(b.log_text())
    (first_success,) = [
        stamp(line)
        for line in a.log_text().splitlines()
        if re.search(r"GET /taxii2/ 200 b-sync", line)
    ][:1]
    gaps = [
        (later - earlier).total_seconds() for earlier, later in pairwise([*attempts, first_success])
    ]
    print(f"hub B's attempts while hub A was down: {len(attempts)} failed; gaps {gaps} s")
    assert len(attempts) >= 2, attempts
    # interval * 2^failures, +-20 %: about 2 s, then 4 s, 8 s, ... never hammering.
    assert gaps[0] >= 1.0, gaps
    assert all(earlier < later for earlier, later in pairwise(gaps)), gaps
