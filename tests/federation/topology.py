"""The hubs the federation tests build, as configuration text.

    hub A (cert-a)  ──pull──▶  hub B (cert-b)  ──push──▶  hub C (cert-c)

Hub A shares under agreement ``ab-2020`` (cert-a ceiling RED, cert-b ceiling AMBER) in
collection ``A_SHARED``; cert-b's sync account on A is ``b-sync``. Hub B keeps what it
pulls in ``B_LOCAL``, a collection of its national agreement ``b-national`` read by cert-b
(and its constituent telco-b1), by cert-d (another local party) and by cert-c, the
organisation that stands for hub C. Hub B pushes ``B_LOCAL`` to hub C's ``C_SHARED`` as
account ``b-push``.
"""

from __future__ import annotations

from collections.abc import Sequence

from .fedhub import Agreement, Collection, Party, Peer, PeerMapping, hub_toml

# The ids of the federation issue's example.
A_SHARED = "3b1f8c2e-5d4a-4f6b-9e7c-8a0b1c2d3e4f"
B_LOCAL = "7c2e9d1f-4a3b-4c5d-8e6f-9a0b1c2d3e4f"
# A collection of a second agreement in which cert-b may receive TLP:RED.
A_RED = "3b1f8c2e-5d4a-4f6b-9e7c-8a0b1c2d3e50"
C_SHARED = "c3c3c3c3-5d4a-4f6b-9e7c-8a0b1c2d3e4f"

HUB_A_TOKEN_ENV = "KAKEHASHI_PEER_HUB_A_TOKEN"
HUB_C_TOKEN_ENV = "KAKEHASHI_PEER_HUB_C_TOKEN"

AB_2020 = Agreement(
    "ab-2020",
    (
        Party("cert-a", ("producer", "consumer"), "red"),
        Party("cert-b", ("producer", "consumer"), "amber"),
    ),
)
AB_2020_RED = Agreement(
    "ab-2020-red",
    (
        Party("cert-a", ("producer", "consumer"), "red"),
        Party("cert-b", ("consumer",), "red"),
    ),
)
B_NATIONAL = Agreement(
    "b-national",
    (
        Party("cert-b", ("producer", "consumer"), "red"),
        Party("cert-d", ("producer", "consumer"), "amber"),
        Party("cert-c", ("consumer",), "amber"),
        Party("ncsc-b", ("coordinator",), "amber"),
    ),
)


def hub_a(database: str, *, max_page_size: int = 1000) -> str:
    return hub_toml(
        title="Hub A",
        organization="cert-a",
        database=database,
        orgs=("cert-a", "cert-b"),
        accounts={"alice": "cert-a", "b-sync": "cert-b"},
        agreements=(AB_2020, AB_2020_RED),
        collections=(
            Collection(A_SHARED, "A and B, 2020", agreement="ab-2020"),
            Collection(A_RED, "A and B, restricted", agreement="ab-2020-red"),
        ),
        max_page_size=max_page_size,
    )


def hub_b(
    database: str,
    *,
    a_url: str = "",
    c_url: str = "",
    pull: Sequence[str] = (A_SHARED,),
    interval: str = "5s",
    a_name: str = "hub-a",
) -> str:
    """Hub B, pulling ``pull`` (collections of hub A) into ``B_LOCAL`` when ``a_url`` is
    given; pushing ``B_LOCAL`` to hub C when ``c_url`` is given."""
    peers: list[Peer] = []
    if a_url:
        peers.append(
            Peer(
                name=a_name,
                url=a_url,
                username="b-sync",
                token_env=HUB_A_TOKEN_ENV,
                organization="cert-a",
                interval=interval,
                mappings=tuple(PeerMapping(remote, B_LOCAL, "pull") for remote in pull),
            )
        )
    if c_url:
        peers.append(
            Peer(
                name="hub-c",
                url=c_url,
                username="b-push",
                token_env=HUB_C_TOKEN_ENV,
                organization="cert-c",
                interval=interval,
                mappings=(PeerMapping(C_SHARED, B_LOCAL, "push"),),
            )
        )
    return hub_toml(
        title="Hub B",
        organization="cert-b",
        database=database,
        orgs=("cert-a", "cert-b", "telco-b1", "cert-c", "cert-d", "ncsc-b"),
        accounts={
            "bob": "cert-b",
            "telco": "telco-b1",
            "dave": "cert-d",
            "carl": "cert-c",
            "nora": "ncsc-b",
        },
        agreements=(B_NATIONAL,),
        collections=(Collection(B_LOCAL, "National feed", agreement="b-national"),),
        peers=peers,
    )


def hub_c(database: str) -> str:
    return hub_toml(
        title="Hub C",
        organization="cert-c",
        database=database,
        orgs=("cert-b", "cert-c", "telco-b1"),
        accounts={"b-push": "cert-b", "carol": "cert-c"},
        collections=(
            Collection(C_SHARED, "From B", can_read=("cert-b", "cert-c"), can_write=("cert-b",)),
        ),
    )
