"""SIGKILL a hub in the middle of ingest; what it acknowledged must survive, once.

Writers post envelopes of 100 objects in a loop and record each acknowledged (202)
status. The hub is killed while requests are in flight, restarted on the same database,
and read back in full.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from conftest import API_ROOT, basic
from stixgen import indicator

from .conftest import StartHub
from .hubproc import (
    CrashLedger,
    Follower,
    check_survivors,
    kill_while_writing,
    post_objects,
    read_all,
)

pytestmark = pytest.mark.serial

ENVELOPE = 100
WRITERS = 3
ACKS_BEFORE_KILL = 6


def test_sigkill_mid_ingest_keeps_every_acknowledged_object(
    backend: str, hub_config: Path, start_hub: StartHub
) -> None:
    hub = start_hub(hub_config)
    ledger = CrashLedger()
    # Killed with requests in flight.
    in_flight_at_kill = kill_while_writing(
        hub, ledger, writers=WRITERS, size=ENVELOPE, acks=ACKS_BEFORE_KILL, in_flight=1
    )
    # The kill interrupted requests: some in flight then never got an answer.
    assert in_flight_at_kill - set(ledger.acked), (in_flight_at_kill, ledger.lost)

    restarted = start_hub(hub_config)
    with httpx.Client(timeout=30.0) as client:
        full = read_all(client, [restarted.base_url])
        # Nothing twice; every acknowledged success there, with the version its status
        # named; an envelope is one transaction: unacknowledged ones whole or not at all.
        check_survivors(full.seen, ledger, ENVELOPE)

        # Acknowledged status resources survive the crash too.
        some = next(iter(ledger.acked.values()))
        again = client.get(
            f"{restarted.base_url}/{API_ROOT}/status/{some['id']}/", headers=basic("alice")
        )
        assert again.status_code == 200
        assert again.json() == some

        # The collection clock survived: new objects are dated after everything before,
        # and a reader resuming from where it stopped sees exactly them.
        resume = Follower(client, [restarted.base_url], "manifest", 50)
        resume.last_added, resume.last_added_us = full.last_added, full.last_added_us
        post_objects(client, restarted.base_url, [indicator(9_999_999)])
        assert resume.catch_up() == 1
        assert list(resume.seen) == [(indicator(9_999_999)["id"], indicator(0)["modified"])]
