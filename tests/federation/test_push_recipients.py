"""Named recipients narrow a push too: an object that names recipients goes to a peer only
when the organisation standing for that peer is one of them (docs/agreements.md)."""

from __future__ import annotations

import pytest

from .conftest import Federation
from .fedhub import GREEN, marked, run_sync_once, token
from .topology import B_LOCAL, C_SHARED, HUB_C_TOKEN_ENV, hub_b, hub_c

pytestmark = pytest.mark.serial

B_ENV = {HUB_C_TOKEN_ENV: token("b-push")}


def test_an_object_naming_others_is_not_pushed_one_naming_the_peer_is(
    federation: Federation,
) -> None:
    c = federation.start(federation.config("c", hub_c(federation.database("c"))))
    b_config = federation.config(
        "b", hub_b(federation.database("b"), c_url=f"{c.base_url}/taxii2/")
    )
    b = federation.start(b_config, env=B_ENV, sync=False)
    others = marked(1, GREEN, by="cert-b", recipients=["cert-d"])
    peer = marked(2, GREEN, by="cert-b", recipients=["cert-c"])
    everyone = marked(3, GREEN, by="cert-b")
    federation.taxii(b, "bob", B_LOCAL).post([others, peer, everyone])
    run = run_sync_once(b_config, B_ENV)
    assert (run.exit_code, [x.error for x in run.lines]) == (0, [""])
    received = federation.taxii(c, "carol", C_SHARED).ids()
    assert others["id"] not in received  # GREEN, but it names cert-d alone
    assert peer["id"] in received
    assert everyone["id"] in received
