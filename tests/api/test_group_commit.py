"""SQLite group commit: envelopes queued together share one transaction and one fsync.

Each test holds the store's write lock while several threads queue their envelopes, so
that the next holder of the lock commits them all as one batch, deterministically (no
timing). What must hold for every envelope of a batch is what held for one alone: its own
status resource and audit record, strictly increasing ``date_added``, per-object outcomes,
and no acknowledgement unless the commit that contains it succeeded.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from kakehashi.audit import AuditAction, AuditEntry, verify_chain
from kakehashi.errors import StoreError
from kakehashi.stix.timestamps import now_us
from kakehashi.stix.validate import validate_object
from kakehashi.stix.visibility import Visibility
from kakehashi.store import AddResult, ObjectQuery, VersionSelector, WriteRequest
from kakehashi.store.sqlite import SqliteStore
from stixgen import indicator

COLLECTION = "9e5c7a1b-3f2d-4e8a-b6c4-1d0f2a3b4c5d"
OTHER_COLLECTION = "4d1c2b3a-9e8f-4a7b-8c6d-5e4f3a2b1c0d"
EVERYTHING = Visibility.all_objects()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    opened = SqliteStore(tmp_path / "hub.db")
    opened.open()
    yield opened
    opened.close()


def envelope(
    numbers: range | list[int],
    *,
    collection: str = COLLECTION,
    status_id: str | None = None,
    version: int = 0,
) -> WriteRequest:
    objects = []
    for n in numbers:
        value = indicator(n, version=version)
        objects.append(validate_object(value, _dumps(value)))
    return WriteRequest(
        collection_id=collection,
        author="cert-a",
        objects=objects,
        rejected=[],
        status_id=status_id or str(uuid.uuid4()),
        request_us=now_us(),
        account="alice",
        detail="POST objects",
    )


def _dumps(value: dict[str, Any]) -> str:
    return json.dumps(value, separators=(",", ":"))


def batch_sizes(store: SqliteStore, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record the size of every group commit the store makes from now on."""
    sizes: list[int] = []
    commit_batch = store._commit_batch

    def recording(batch: list[Any]) -> None:
        sizes.append(len(batch))
        commit_batch(batch)

    monkeypatch.setattr(store, "_commit_batch", recording)
    return sizes


def queued_together(
    store: SqliteStore, requests: list[WriteRequest]
) -> list[AddResult | BaseException]:
    """Post ``requests`` from one thread each while the write lock is held, so they are all
    queued before any is written; then let them go. Results in request order."""
    outcomes: list[AddResult | BaseException | None] = [None] * len(requests)

    def post(index: int) -> None:
        try:
            outcomes[index] = store.add_objects(requests[index])
        except BaseException as exc:
            outcomes[index] = exc

    threads = [threading.Thread(target=post, args=(i,)) for i in range(len(requests))]
    with store._write_lock:
        for index, thread in enumerate(threads):
            thread.start()
            # Queue them in request order (the order their date_added must follow).
            _wait_for(lambda queued=index + 1: len(store._queue) == queued)
    for thread in threads:
        thread.join(timeout=60)
        assert not thread.is_alive()
    assert all(outcome is not None for outcome in outcomes)
    return [outcome for outcome in outcomes if outcome is not None]


def _wait_for(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, "the writer threads did not queue"
        time.sleep(0.001)


def stored(store: SqliteStore, collection: str = COLLECTION) -> list[tuple[str, str, int]]:
    """(id, version, date_added_us) of every stored version, in date_added order."""
    page = store.get_objects(
        collection, ObjectQuery(limit=100_000, versions=VersionSelector.every()), EVERYTHING
    )
    return [(item.id, item.version, item.date_added_us) for item in page.items]


def test_queued_envelopes_are_written_in_one_commit_each_with_its_own_status_and_audit(
    store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes = batch_sizes(store, monkeypatch)
    requests = [envelope(range(i * 10, i * 10 + 10)) for i in range(6)]
    requests.append(envelope(range(500, 503), collection=OTHER_COLLECTION))

    results = queued_together(store, requests)

    assert sizes == [len(requests)]
    for request, result in zip(requests, results, strict=True):
        assert isinstance(result, AddResult)
        assert result.stored == len(request.objects)
        assert result.status.id == request.status_id
        assert [s.id for s in result.status.successes] == [o.id for o in request.objects]
        assert store.get_status(request.status_id) == result.status
    rows = stored(store)
    # Queue order is date_added order, strictly increasing across the batch's envelopes.
    assert [r[0] for r in rows] == [o.id for r in requests[:6] for o in r.objects]
    dates = [r[2] for r in rows]
    assert all(a < b for a, b in itertools.pairwise(dates))
    assert [r[0] for r in stored(store, OTHER_COLLECTION)] == [o.id for o in requests[6].objects]
    # One write record per envelope, and the chain holds.
    records = list(store.audit_records())
    assert [len(r.entry.objects) for r in records] == [len(r.objects) for r in requests]
    count, _, broken = verify_chain(records)
    assert (count, broken) == (len(requests), None)


def test_one_bad_envelope_fails_alone(store: SqliteStore) -> None:
    taken = envelope(range(0, 5))
    store.add_objects(taken)
    # Reusing a status id breaks the statuses primary key: that envelope cannot be written.
    requests = [
        envelope(range(10, 15)),
        envelope(range(20, 25), status_id=taken.status_id),
        envelope(range(30, 35)),
    ]

    results = queued_together(store, requests)

    assert isinstance(results[0], AddResult)
    assert isinstance(results[2], AddResult)
    assert isinstance(results[1], StoreError)
    ids = {r[0] for r in stored(store)}
    assert {o.id for o in requests[0].objects + requests[2].objects} <= ids
    assert not {o.id for o in requests[1].objects} & ids  # rolled back to its savepoint
    assert store.get_status(taken.status_id) is not None
    count, _, broken = verify_chain(store.audit_records())
    assert (count, broken) == (3, None)  # the first write and the two good envelopes
    dates = [r[2] for r in stored(store)]
    assert all(a < b for a, b in itertools.pairwise(dates))


def test_a_failed_commit_acknowledges_nobody(
    store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_space(*args: Any) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(store, "_prune_statuses", no_space)
    requests = [envelope(range(i * 10, i * 10 + 3)) for i in range(4)]

    results = queued_together(store, requests)

    assert all(isinstance(r, StoreError) for r in results), results
    assert stored(store) == []
    assert list(store.audit_records()) == []
    assert all(store.get_status(r.status_id) is None for r in requests)
    monkeypatch.undo()
    # The store is usable again afterwards.
    assert store.add_objects(envelope(range(100, 102))).stored == 2


def test_duplicates_across_and_within_a_batch_are_reported_per_object(
    store: SqliteStore,
) -> None:
    store.add_objects(envelope(range(0, 4)))
    changed = indicator(2, version=0, name="another text, same version")
    conflicting = replace(envelope([]), objects=[validate_object(changed, _dumps(changed))])
    requests = [
        envelope(range(2, 8)),  # 2, 3 already stored; 4..7 new
        envelope(range(6, 10)),  # 6, 7 new in the same batch, just before
        conflicting,
    ]

    results = queued_together(store, requests)

    first, second, third = results
    assert isinstance(first, AddResult)
    assert isinstance(second, AddResult)
    assert isinstance(third, AddResult)
    assert first.stored == 4
    assert [s.message for s in first.status.successes] == [
        "identical version already stored",
        "identical version already stored",
        "",
        "",
        "",
        "",
    ]
    assert second.stored == 2
    assert [s.message for s in second.status.successes][:2] == [
        "identical version already stored",
        "identical version already stored",
    ]
    assert third.stored == 0
    assert [f.id for f in third.status.failures] == [changed["id"]]
    assert "already stored" in third.status.failures[0].message
    assert sorted(r[0] for r in stored(store)) == sorted(indicator(n)["id"] for n in range(10))


def test_a_new_version_in_a_batch_is_stored_after_the_old_one(store: SqliteStore) -> None:
    requests = [envelope(range(0, 3)), envelope(range(0, 3), version=1)]
    results = queued_together(store, requests)
    assert [r.stored for r in results if isinstance(r, AddResult)] == [3, 3]
    rows = stored(store)
    assert len(rows) == 6
    assert [r[0] for r in rows[:3]] == [r[0] for r in rows[3:]]


def test_synchronous_is_full_by_default_and_normal_only_when_asked(tmp_path: Path) -> None:
    default = SqliteStore(tmp_path / "a.db")
    default.open()
    try:
        assert default.synchronous == "FULL"
        assert default._writer is not None
        assert default._writer.execute("PRAGMA synchronous").fetchone()[0] == 2
        with pytest.raises(StoreError):
            default.synchronous = "NORMAL"
    finally:
        default.close()
    relaxed = SqliteStore(tmp_path / "b.db")
    relaxed.synchronous = "normal"
    relaxed.open()
    try:
        assert relaxed._writer is not None
        assert relaxed._writer.execute("PRAGMA synchronous").fetchone()[0] == 1
        relaxed.add_objects(envelope(range(0, 2)))
        relaxed.append_audit(
            AuditEntry(now_us(), "cert-a", "alice", AuditAction.RELEASE, COLLECTION, "", ())
        )
        # A release record's transaction puts the writer back to the chosen mode.
        assert relaxed._writer.execute("PRAGMA synchronous").fetchone()[0] == 1
    finally:
        relaxed.close()
    with pytest.raises(ValueError, match="synchronous"):
        SqliteStore(tmp_path / "c.db").synchronous = "OFF"
