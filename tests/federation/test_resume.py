"""A pull killed with SIGKILL half-way resumes and ends with exactly the right objects.

Hub A holds a backlog (imported with ``kakehashi import`` before it starts); hub B's
``kakehashi serve`` pulls it in the background, is SIGKILLed once its durable cursor has
advanced, is started again, and must end with every object version once.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from serial.hubproc import parse_stamp_us
from stixgen import indicator

from .conftest import Federation
from .fedhub import run_cli, token, wait_until
from .topology import A_SHARED, B_LOCAL, HUB_A_TOKEN_ENV, hub_a, hub_b

pytestmark = pytest.mark.serial

B_ENV = {HUB_A_TOKEN_ENV: token("b-sync")}
BACKLOG = 50_000
CATCH_UP_S = 40.0  # the target is 20,000 objects/s: 2.5 s for 50,000


def write_backlog(path: Path, count: int) -> set[tuple[str, str]]:
    """A bundle of ``count`` indicator versions (every tenth object has two versions)."""
    second = count // 10
    objects = [indicator(n) for n in range(count - second)]
    objects += [indicator(n, version=1) for n in range(second)]
    bundle = {"type": "bundle", "id": "bundle--5eed0000-0000-4000-8000-000000000000"}
    path.write_text(json.dumps({**bundle, "objects": objects}), encoding="utf-8")
    return {(o["id"], o["modified"]) for o in objects}


@pytest.mark.slow
def test_a_pull_killed_half_way_resumes_without_loss_or_duplicates(
    federation: Federation,
) -> None:
    count = BACKLOG
    a_config = federation.config("a", hub_a(federation.database("a")))
    expected = write_backlog(federation.tmp_path / "backlog.json", count)
    assert len(expected) == count
    imported = run_cli(
        a_config, "import", str(federation.tmp_path / "backlog.json"), "--collection", A_SHARED,
        "--as", "cert-a", timeout=300,
    )  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.strip() == f"{count} stored, 0 already present, 0 failed"
    a = federation.start(a_config, sync=False)

    b_config = federation.config(
        "b", hub_b(federation.database("b"), a_url=f"{a.base_url}/taxii2/")
    )
    b = federation.start(b_config, env=B_ENV)

    def stored_on_b() -> int:
        return int(federation.query("b", "SELECT COUNT(*) FROM objects")[0][0])

    def cursor_advanced() -> bool:
        """B's durable cursor has moved, and a fifth of the backlog is in."""
        rows = federation.query("b", "SELECT cursor_us FROM sync_state WHERE direction = 'pull'")
        return bool(rows and rows[0][0] > 0) and stored_on_b() >= count // 5

    wait_until(cursor_advanced, interval=0.005, what="B's pull cursor to advance")
    b.kill()
    at_kill = stored_on_b()
    print(f"B killed with {at_kill} of {count} object versions stored")
    assert 0 < at_kill < count, "the pull was not interrupted half-way"

    began = time.perf_counter()
    b = federation.start(b_config, env=B_ENV)
    wait_until(
        lambda: stored_on_b() >= count,
        timeout=CATCH_UP_S,
        interval=0.1,
        what=f"B to hold all {count} object versions",
    )
    print(f"B caught up {count - at_kill} object versions in {time.perf_counter() - began:.1f}s")

    served = federation.taxii(b, "bob", B_LOCAL).manifest()
    assert sum(served.values()) == count  # nothing twice...
    assert set(served) == expected  # ...and exactly the right versions
    assert federation.query(
        "b", "SELECT COUNT(*), COUNT(DISTINCT id || '|' || version) FROM objects"
    ) == [(count, count)]
    status = json.loads(run_cli(b_config, "peers", "status", "--json").stdout)
    assert status["last_error"] == ""
    # The durable cursor ends at the last object of hub A's collection.
    ((last_on_a,),) = federation.query("a", "SELECT MAX(date_added_us) FROM objects")
    assert parse_stamp_us(status["cursor"]) == last_on_a
