"""What every pooled PostgreSQL connection of the store is set up with."""

from __future__ import annotations

from pathlib import Path

from conftest import make_store
from kakehashi.store.postgres import PostgresStore


def test_pooled_connections_run_without_jit(tmp_path: Path, postgres_dsn: str | None) -> None:
    # With JIT on, the first page of 100,000 objects took 360 ms of LLVM compilation
    # for 1 ms of execution (BENCHMARKS.md, "TAXII on PostgreSQL").
    store = make_store("postgres", tmp_path, postgres_dsn)
    assert isinstance(store, PostgresStore)
    try:
        for _ in range(3):  # several checkouts: each connection is configured
            with store._read() as cur:
                cur.execute("SHOW jit")
                assert cur.fetchone()[0] == "off"
    finally:
        store.close()
