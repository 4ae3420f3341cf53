"""SIGKILL a hub while many writers post at once (on SQLite, their envelopes share group
commits): every acknowledged object survives, once; every unacknowledged envelope is all
there or not at all; ``date_added`` is strictly increasing; the audit chain verifies.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from .conftest import StartHub
from .hubproc import CrashLedger, check_survivors, kill_while_writing, read_all

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
    kill_while_writing(
        hub, ledger, writers=WRITERS, size=ENVELOPE, acks=ACKS_BEFORE_KILL, in_flight=2
    )

    restarted = start_hub(hub_config)
    with httpx.Client(timeout=30.0) as client:
        # The manifest read checks that date_added is strictly increasing throughout.
        full = read_all(client, [restarted.base_url])
    _, stored_envelopes = check_survivors(full.seen, ledger, ENVELOPE)
    restarted.stop()

    # The chain verifies, with one write record per stored envelope (none for the others)
    # and one release record per page the read above received.
    assert _audit_count(hub_config) == records_before + len(stored_envelopes) + full.pages
