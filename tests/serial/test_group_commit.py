"""SIGKILL a hub while many writers post at once (on SQLite, their envelopes share group
commits): every acknowledged object survives, once; every unacknowledged envelope is all
there or not at all; ``date_added`` is strictly increasing; the audit chain verifies.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from .conftest import StartHub
from .hubproc import CrashLedger, read_all, write_until_refused

pytestmark = pytest.mark.serial

ENVELOPE = 10
WRITERS = 12
ACKS_BEFORE_KILL = 30


def _audit_verify(config: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAKEHASHI_")}
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "from kakehashi.cli import main; main()",
            "--config",
            str(config),
            "audit",
            "verify",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def _audit_count(config: Path) -> int:
    """How many records ``kakehashi audit verify`` found; fails unless the chain is OK."""
    verified = _audit_verify(config)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    found = re.search(r"OK: (\d+) records", verified.stdout)
    return int(found.group(1)) if found else 0


def test_sigkill_under_many_concurrent_writers_keeps_every_acknowledged_object(
    backend: str, hub_config: Path, start_hub: StartHub
) -> None:
    hub = start_hub(hub_config)
    # PostgreSQL test databases keep the audit records of earlier tests.
    records_before = _audit_count(hub_config)
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
            if len(ledger.acked) >= ACKS_BEFORE_KILL and len(ledger.in_flight) > 1:
                hub.kill()  # with the ledger locked: no answer is recorded meanwhile
                break
            assert not ledger.unexpected, ledger.unexpected
        assert time.monotonic() < deadline, "the writers made no progress"
        time.sleep(0.001)
    stop.set()
    for thread in writers:
        thread.join(timeout=30)
        assert not thread.is_alive()
    assert not ledger.unexpected, ledger.unexpected

    restarted = start_hub(hub_config)
    with httpx.Client(timeout=30.0) as client:
        # The manifest read checks that date_added is strictly increasing throughout.
        full = read_all(client, [restarted.base_url])
    assert {key: n for key, n in full.seen.items() if n != 1} == {}
    present = Counter(object_id for object_id, _ in full.seen)
    for number, status in ledger.acked.items():
        assert (status["status"], status["success_count"]) == ("complete", ENVELOPE)
        for success in status["successes"]:
            assert (success["id"], success["version"]) in full.seen, number
    for number, ids in ledger.sent.items():
        stored = sum(present[i] for i in ids)
        assert stored in (0, ENVELOPE), (number, stored)
    restarted.stop()

    stored_envelopes = {n for n, ids in ledger.sent.items() if present[ids[0]]}
    # The chain verifies, with one write record per stored envelope (none for the others)
    # and one release record per page the read above received.
    assert _audit_count(hub_config) == records_before + len(stored_envelopes) + full.pages
