"""Hubs started together on a new SQLite file all open it.

SQLite answers "database is locked" at once, without waiting on the busy timeout, to a
``PRAGMA journal_mode = WAL`` racing another process's. Before the store retried it, a
third of the processes opening a new file two at a time failed to start (reproduced with
the same loop as below); two ``kakehashi serve`` launched at once failed that way now
and then (tests/serial/test_multi_process.py).
"""

from __future__ import annotations

import multiprocessing
from multiprocessing.synchronize import Barrier
from pathlib import Path

from kakehashi.store.sqlite import SqliteStore

PROCESSES = 3
ROUNDS = 15


def _open(path: str, barrier: Barrier, results: multiprocessing.Queue[str]) -> None:
    barrier.wait()
    try:
        store = SqliteStore(Path(path))
        store.open()
        store.close()
        results.put("opened")
    except Exception as error:  # reported to the test, which names it
        results.put(repr(error))


def test_processes_opening_a_new_database_at_once_all_succeed(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")  # cheap: the store is already imported
    outcomes: list[str] = []
    for round_number in range(ROUNDS):
        path = tmp_path / f"hub-{round_number}.db"
        barrier = context.Barrier(PROCESSES)
        results: multiprocessing.Queue[str] = context.Queue()
        workers = [
            context.Process(target=_open, args=(str(path), barrier, results))
            for _ in range(PROCESSES)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=60)
        outcomes += [results.get(timeout=10) for _ in workers]
        reopened = SqliteStore(path)
        reopened.open()  # one schema, migrated once: a later open finds it whole
        reopened.close()
    failures = [outcome for outcome in outcomes if outcome != "opened"]
    assert not failures, failures
    assert len(outcomes) == PROCESSES * ROUNDS
