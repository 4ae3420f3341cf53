"""SIGKILL a hub in the middle of ingest; what it acknowledged must survive, once.

Writers post envelopes of 100 objects in a loop and record each acknowledged (202)
status. The hub is killed while requests are in flight, restarted on the same database,
and read back in full.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from conftest import API_ROOT, basic
from stixgen import indicator

from .conftest import StartHub
from .hubproc import CrashLedger, Follower, post_objects, read_all, write_until_refused

pytestmark = pytest.mark.serial

ENVELOPE = 100
WRITERS = 3
ACKS_BEFORE_KILL = 6


def test_sigkill_mid_ingest_keeps_every_acknowledged_object(
    backend: str, hub_config: Path, start_hub: StartHub
) -> None:
    hub = start_hub(hub_config)
    ledger = CrashLedger()
    stop = threading.Event()
    writers = [
        threading.Thread(target=write_until_refused, args=(hub.base_url, w, ledger, stop, ENVELOPE))
        for w in range(WRITERS)
    ]
    for thread in writers:
        thread.start()
    deadline = time.monotonic() + 60
    while True:
        with ledger.lock:
            if len(ledger.acked) >= ACKS_BEFORE_KILL and ledger.in_flight:
                # Killed with the ledger locked, so no writer records an answer meanwhile.
                hub.kill()
                in_flight_at_kill = set(ledger.in_flight)
                break
            assert not ledger.unexpected, ledger.unexpected
        assert time.monotonic() < deadline, "the writers made no progress"
        time.sleep(0.001)
    stop.set()
    for thread in writers:
        thread.join(timeout=30)
        assert not thread.is_alive()
    assert not ledger.unexpected, ledger.unexpected
    # The kill interrupted requests: some in flight then never got an answer.
    assert in_flight_at_kill - set(ledger.acked), (in_flight_at_kill, ledger.lost)

    restarted = start_hub(hub_config)
    with httpx.Client(timeout=30.0) as client:
        full = read_all(client, [restarted.base_url])
        # Nothing twice: each (id, version) exactly once.
        assert {key: n for key, n in full.seen.items() if n != 1} == {}
        present = Counter(object_id for object_id, _ in full.seen)

        # Every acknowledged success is there, with the version the status named.
        for number, status in ledger.acked.items():
            assert (status["status"], status["success_count"]) == ("complete", ENVELOPE)
            for success in status["successes"]:
                assert (success["id"], success["version"]) in full.seen, number
        # An envelope is one transaction: unacknowledged ones are all there or not at all.
        for number, ids in ledger.sent.items():
            stored = sum(present[i] for i in ids)
            assert stored in (0, ENVELOPE), (number, stored, ledger.lost.get(number))
        stored_envelopes = {n for n, ids in ledger.sent.items() if present[ids[0]]}
        assert set(ledger.acked) <= stored_envelopes
        assert sum(present.values()) == ENVELOPE * len(stored_envelopes)

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
