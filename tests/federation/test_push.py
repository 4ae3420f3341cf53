"""Pushing to a remote Kakehashi hub that refuses some objects: the rest are delivered, the
refused ones are retried, then reported."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from .conftest import Federation
from .fedhub import AMBER, GREEN, RED, PeerHub, SyncRun, marked, peers_status, run_sync_once, token
from .topology import B_LOCAL, C_SHARED, HUB_C_TOKEN_ENV, hub_b, hub_c

pytestmark = pytest.mark.serial

B_ENV = {HUB_C_TOKEN_ENV: token("b-push")}
CLAIM_REFUSED = "'created_by_ref' is"


@dataclass
class Pushed:
    b: PeerHub
    c: PeerHub
    run: SyncRun
    delivered: set[str]
    refused: set[str]


def push_with_refusals(federation: Federation) -> Pushed:
    """Hub B holds objects written by cert-b (which hub C accepts from B's account, an
    account of cert-b there) and objects that B's coordinator wrote on behalf of telco-b1
    and cert-d (which cert-b may not claim on C); one ``sync --once`` pushes them all."""
    c = federation.start(federation.config("c", hub_c(federation.database("c"))))
    b_config = federation.config(
        "b", hub_b(federation.database("b"), c_url=f"{c.base_url}/taxii2/")
    )
    b = federation.start(b_config, env=B_ENV, sync=False)
    own = [marked(1, GREEN, by="cert-b"), marked(2, GREEN), marked(3, AMBER, by="cert-b")]
    federation.taxii(b, "bob", B_LOCAL).post(own)
    on_behalf = [marked(4, GREEN, by="telco-b1"), marked(5, GREEN, by="cert-d")]
    federation.taxii(b, "nora", B_LOCAL).post(on_behalf)
    run = run_sync_once(b_config, B_ENV)
    return Pushed(b, c, run, {o["id"] for o in own}, {o["id"] for o in on_behalf})


def test_a_push_delivers_what_the_remote_accepts_and_reports_the_rest(
    federation: Federation,
) -> None:
    pushed = push_with_refusals(federation)
    assert pushed.run.exit_code == 7
    (line,) = pushed.run.lines
    assert (line.peer, line.direction, line.local, line.remote) == (
        "hub-c",
        "push",
        B_LOCAL,
        C_SHARED,
    )
    assert CLAIM_REFUSED in line.error, line.error

    # Everything else was delivered.
    on_c = federation.taxii(pushed.c, "carol", C_SHARED).ids()
    assert on_c & (pushed.delivered | pushed.refused) == pushed.delivered

    # The refused objects were sent again twice, alone, before giving up.
    posts = re.findall(
        r"stored (\d+) new of (\d+) objects .* for b-push \((\d+) failed\)", pushed.c.log_text()
    )
    assert [(int(s), int(n), int(f)) for s, n, f in posts][1:] == [(0, 2, 2), (0, 2, 2)], posts
    assert len(posts) == 3

    # The operator sees which objects failed and why.
    (status,) = peers_status(pushed.b.config)
    assert status["direction"] == "push"
    assert status["last_error"].startswith("2 objects refused by the peer, e.g. "), status
    assert any(object_id in status["last_error"] for object_id in pushed.refused), status
    assert CLAIM_REFUSED in status["last_error"]
    assert status["last_error_at"]

    # Later passes do not send them again (documented), and succeed.
    again = run_sync_once(pushed.b.config, B_ENV)
    assert again.exit_code == 0
    assert [(x.moved, x.error) for x in again.lines] == [(0, "")]
    assert len(re.findall(r"for b-push", pushed.c.log_text())) == 3


def test_refused_pushes_are_logged(federation: Federation) -> None:
    pushed = push_with_refusals(federation)
    assert pushed.run.exit_code == 7
    warnings = [line for line in pushed.run.log.splitlines() if "WARNING" in line]
    assert any(CLAIM_REFUSED in line for line in warnings), pushed.run.log


def test_a_push_of_a_collection_with_a_red_object_succeeds(federation: Federation) -> None:
    c = federation.start(federation.config("c", hub_c(federation.database("c"))))
    b_config = federation.config(
        "b", hub_b(federation.database("b"), c_url=f"{c.base_url}/taxii2/")
    )
    b = federation.start(b_config, env=B_ENV, sync=False)
    green, red = marked(1, GREEN, by="cert-b"), marked(2, RED, recipients=["cert-d"])
    federation.taxii(b, "bob", B_LOCAL).post([green, red])
    run = run_sync_once(b_config, B_ENV)
    # cert-c may not receive the RED object (not a recipient, ceiling AMBER): only the
    # GREEN one and the public definitions go.
    assert green["id"] in federation.taxii(c, "carol", C_SHARED).ids()
    assert red["id"] not in federation.taxii(c, "carol", C_SHARED).ids()
    assert (run.exit_code, [x.error for x in run.lines]) == (0, [""])
