"""Re-share rules across three hubs: A ──pull──▶ B ──push──▶ C, all syncing in the background.

What B received from A is shown on B only as its TLP allows from the receiving
organisation's (cert-b's) point of view, and only GREEN or below goes on to hub C.
"""

from __future__ import annotations

import pytest

from .conftest import Federation
from .fedhub import (
    AMBER,
    GREEN,
    RECIPIENTS,
    RED,
    STRICT,
    Taxii,
    discovery_url,
    marked,
    token,
    wait_until,
)
from .topology import (
    A_RED,
    A_SHARED,
    B_LOCAL,
    C_SHARED,
    HUB_A_TOKEN_ENV,
    HUB_C_TOKEN_ENV,
    hub_a,
    hub_b,
    hub_c,
)

pytestmark = pytest.mark.serial

B_ENV = {HUB_A_TOKEN_ENV: token("b-sync"), HUB_C_TOKEN_ENV: token("b-push")}
RECIPIENTS_REFUSED = rf"WARNING .*{RECIPIENTS}"


def _stored_ids(federation: Federation, hub: str) -> set[str]:
    """Every object id in a hub's database, whoever may see it."""
    return {row[0] for row in federation.query(hub, "SELECT id FROM objects")}


def test_what_b_receives_is_reshared_only_as_its_marking_allows(federation: Federation) -> None:
    a = federation.start(federation.config("a", hub_a(federation.database("a"))))
    c = federation.start(federation.config("c", hub_c(federation.database("c"))))
    b_config = federation.config(
        "b",
        hub_b(
            federation.database("b"),
            a_url=discovery_url(a),
            c_url=discovery_url(c),
            pull=(A_SHARED, A_RED),
        ),
    )
    # Hub C refuses the recipients extension-definition that the TLP:RED object brings into
    # B_LOCAL (test_push.py, test_a_push_of_a_collection_with_a_red_object_succeeds).
    b = federation.start(b_config, env=B_ENV, tolerate=[RECIPIENTS_REFUSED])
    on_a = federation.taxii(a, "alice", A_SHARED)
    on_a_red = federation.taxii(a, "alice", A_RED)
    readers: dict[str, Taxii] = {
        user: federation.taxii(b, user, B_LOCAL) for user in ("bob", "telco", "dave", "carl")
    }
    on_c = federation.taxii(c, "carol", C_SHARED)

    def seen_on_b() -> dict[str, set[str]]:
        return {user: reader.ids() for user, reader in readers.items()}

    # -- AMBER, AMBER+STRICT and GREEN under ab-2020 (cert-b's ceiling there: AMBER) ------
    strict, amber, green = marked(11, STRICT), marked(10, AMBER), marked(12, GREEN)
    on_a.post([strict, amber, green])  # GREEN last: once it is on C, B has pushed the others
    wait_until(lambda: green["id"] in on_c.ids(), what="the GREEN indicator on hub C")
    wait_until(
        lambda: {strict["id"], amber["id"]} <= readers["bob"].ids(), what="everything on hub B"
    )
    seen = seen_on_b()
    wanted = {strict["id"], amber["id"], green["id"]}
    assert seen["bob"] & wanted == wanted  # cert-b, the receiver
    assert seen["telco"] & wanted == {amber["id"], green["id"]}  # its constituent
    assert seen["dave"] & wanted == {green["id"]}  # another local party
    assert seen["carl"] & wanted == {green["id"]}  # the organisation standing for hub C
    # Only GREEN went on to hub C: nothing else is stored there at all.
    assert on_c.ids() & wanted == {green["id"]}
    assert _stored_ids(federation, "c") & wanted == {green["id"]}

    # -- TLP:RED ------------------------------------------------------------------------
    # Under ab-2020-red cert-b may receive RED: one names it, two do not.
    red_for_b = marked(20, RED, recipients=["cert-b"])
    red_for_a = marked(21, RED, recipients=["cert-a"])
    red_unnamed = marked(22, RED)
    after_red = marked(23, GREEN)
    on_a_red.post([red_for_b, red_for_a, red_unnamed, after_red])
    # Under ab-2020 cert-b's ceiling is AMBER: a RED object naming it still stays on A.
    red_capped = marked(24, RED, recipients=["cert-b"])
    after_capped = marked(25, GREEN)
    on_a.post([red_capped, after_capped])
    wait_until(
        lambda: {after_red["id"], after_capped["id"]} <= readers["bob"].ids(),
        what="the GREEN indicators posted after the RED ones, on hub B",
    )
    seen = seen_on_b()
    reds = {red_for_b["id"], red_for_a["id"], red_unnamed["id"], red_capped["id"]}
    assert seen["bob"] & reds == {red_for_b["id"]}
    for user in ("telco", "dave", "carl"):
        assert seen[user] & reds == set(), user
    # The RED objects that do not name cert-b, or exceed its ceiling, never left hub A.
    assert _stored_ids(federation, "b") & reds == {red_for_b["id"]}
    # And the one B received goes no further.
    wait_until(lambda: after_red["id"] in on_c.ids(), what="the GREEN indicator on hub C")
    assert _stored_ids(federation, "c") & (reds | wanted) == {green["id"]}
