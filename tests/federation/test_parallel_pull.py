"""Large pulls split and validate pages in a worker process (kakehashi.sync.worker).

The worker must change nothing but where the work happens: the same rows, bytes, refusals
and cursor as the in-process path, on a mixed backlog; a worker that dies mid-pull loses
and doubles nothing (the pulling process takes its pages back); and no process is left
behind after ``sync --once``, after ``serve`` is stopped, or after it is killed.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import uuid
from contextlib import closing
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from kakehashi.config.load import load_settings
from kakehashi.stix.markings import TLP_2_MARKING_IDS, Tlp, definition_objects
from kakehashi.stix.timestamps import format_us
from kakehashi.store import Store, open_store
from kakehashi.sync import engine
from kakehashi.sync.client import TaxiiClient, split_page
from kakehashi.sync.engine import PeerLink
from kakehashi.sync.worker import PageWorker
from stixgen import indicator, ipv4, malware

from .conftest import Federation
from .fedhub import IDENTITY, discovery_url, run_cli, token, wait_until
from .topology import A_SHARED, B_LOCAL, HUB_A_TOKEN_ENV, hub_a, hub_b

PEER = "http://peer.test/taxii2/"
ROOT = "http://peer.test/exchange/"
TAXII = "application/taxii+json;version=2.1"
FIRST_ADDED_US = 1_704_067_200_000_000
AMBER = TLP_2_MARKING_IDS[Tlp.AMBER]
IMPOSTOR = "marking-definition--0000beef-0000-4000-8000-000000000001"


def backlog() -> list[Any]:
    """6,000 elements of every kind a pull meets: new versions, second versions, SCOs,
    TLP-marked and attributed objects, invalid objects, an identical copy, a conflicting
    text, the official TLP definition and a tampered copy of it, and (in the fourth page)
    a marking definition that pretends to be TLP with an object that leans on it."""
    official = definition_objects({AMBER}, recipients=False)[0]
    items: list[Any] = []
    for n in range(6000):
        if n % 97 == 5:
            broken = indicator(n)
            del broken["pattern"]
            items.append(broken)
        elif n % 101 == 7:
            items.append(ipv4(n))
        elif n % 89 == 3 and n > 100:
            items.append(items[n - 50])  # identical to one already pulled
        elif n % 53 == 1:
            items.append(indicator(n, object_marking_refs=[AMBER]))
        elif n % 61 == 2:
            items.append(indicator(n, created_by_ref=IDENTITY["cert-a"]))
        elif n % 41 == 4:
            items.append(malware(n))
        elif n % 10 == 9:
            items.append(indicator(n - 9, version=1))
        else:
            items.append(indicator(n))
    items[1500] = indicator(1200, name="another text under the same version")
    items[2100] = official
    items[2200] = {**official, "name": "TLP:AMBER (edited)"}
    items[3300] = {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": IMPOSTOR,
        "created": "2024-01-01T00:00:00.000Z",
        "name": "TLP:CLEAR",
        "definition_type": "statement",
        "definition": {"statement": "not TLP"},
    }
    items[3301] = indicator(3301, object_marking_refs=[IMPOSTOR])
    return items


class Peer:
    """A TAXII peer served by an httpx MockTransport, in pages of ``limit`` with ``next``."""

    def __init__(self, items: list[Any]) -> None:
        # Bodies with spaces, so that "exact bytes" means something.
        self.texts = [json.dumps(item, separators=(", ", ": ")) for item in items]

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/taxii2/":
            return self._json({"title": "peer", "api_roots": [ROOT]})
        if path == "/exchange/collections/":
            return self._json({"collections": [{"id": A_SHARED, "title": "shared"}]})
        assert path == f"/exchange/collections/{A_SHARED}/objects/", path
        start = int(request.url.params.get("next") or 0)
        if "added_after" in request.url.params and not start:
            after = request.url.params["added_after"]
            start = next(
                (i for i in range(len(self.texts)) if format_us(FIRST_ADDED_US + i) > after),
                len(self.texts),
            )
        end = min(start + int(request.url.params.get("limit", "1000")), len(self.texts))
        more = end < len(self.texts)
        members = ['"more": ' + json.dumps(more)]
        if more:
            members.append(f'"next": "{end}"')
        members.append('"objects": [' + ", ".join(self.texts[start:end]) + "]")
        headers = {"Content-Type": TAXII}
        if end > start:
            headers["X-TAXII-Date-Added-First"] = format_us(FIRST_ADDED_US + start)
            headers["X-TAXII-Date-Added-Last"] = format_us(FIRST_ADDED_US + end - 1)
        body = "{" + ", ".join(members) + "}"
        return httpx.Response(200, content=body.encode("utf-8"), headers=headers)

    @staticmethod
    def _json(body: dict[str, Any]) -> httpx.Response:
        return httpx.Response(200, json=body, headers={"Content-Type": TAXII})


class EagerWorker(PageWorker):
    """Waits for the worker to be ready when it starts, so that it takes every page after
    the first; counts the pages it took, and kills its process after ``kill_after``."""

    kill_after: ClassVar[int | None] = None
    instances: ClassVar[list[EagerWorker]] = []

    def __init__(self) -> None:
        super().__init__()
        self.taken = 0
        EagerWorker.instances.append(self)

    def start(self) -> None:
        super().start()
        assert self.wait_ready(60), "the worker process did not start"

    def split(self, body: bytes) -> tuple[int, int, dict[str, Any]] | None:
        header = super().split(body)
        if header is not None:
            self.taken += 1
            process = self._process
            if self.taken == self.kill_after and process is not None:
                os.kill(process.pid, signal.SIGKILL)  # its answer for this page never comes
        return header


class Hub:
    """Hub B in this process: settings, an open SQLite store, a link to the mock peer."""

    def __init__(self, tmp_path: Path, name: str, peer: Peer, *, parallel: bool) -> None:
        folder = tmp_path / name
        folder.mkdir()
        config = folder / "hub.toml"
        config.write_text(hub_b(f"sqlite:///{folder / 'hub.db'}", a_url=PEER), encoding="utf-8")
        self.settings = load_settings(config)
        self.store: Store = open_store(self.settings.hub.database, base_dir=folder)
        self.store.open()
        client = TaxiiClient(
            username="b-sync", token="secret", transport=httpx.MockTransport(peer.handle)
        )
        self.peer = self.settings.peers[0]
        self.link = PeerLink(self.settings, self.peer, self.store, client, parallel=parallel)
        self.path = folder / "hub.db"

    def pull(self) -> int:
        return self.link.pull_once(self.peer.collections[0])

    def rows(self) -> list[tuple[Any, ...]]:
        import sqlite3

        with closing(sqlite3.connect(self.path)) as db:
            rows = db.execute(
                "SELECT collection_id, id, type, spec_version, version, version_us,"
                " created_by_ref, author, tlp, raw, origin, origin_collection, received_by"
                " FROM objects ORDER BY date_added_us"
            ).fetchall()
        # An object without a version (an SCO) is versioned by when it was added here.
        return [(*r[:4], "", 0, *r[6:]) if r[2] == "ipv4-addr" else r for r in rows]

    def cursor(self) -> tuple[str, int, int]:
        state = self.link.state(self.peer.collections[0], "pull")
        return state.cursor, state.cursor_us, state.objects

    def close(self) -> None:
        self.link.close()
        self.store.close()


@pytest.fixture
def eager(monkeypatch: pytest.MonkeyPatch) -> type[EagerWorker]:
    EagerWorker.instances = []
    EagerWorker.kill_after = None
    monkeypatch.setattr(engine, "PageWorker", EagerWorker)
    return EagerWorker


@pytest.fixture
def checked_twice(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every batch the worker helped with is also checked in this process, as one
    envelope, and must give exactly the same accepted objects and refusals."""
    original = PeerLink._check_pages
    compared: list[int] = []

    def check_pages(self: PeerLink, collection: Any, fetched: Any, worker: Any) -> Any:
        result = original(self, collection, fetched, worker)
        raw_objects = [raw for item in fetched for raw in split_page(item.page)]
        assert result == self._ingest.check_received(collection, self.peer, raw_objects)
        compared.append(sum(item.in_worker for item in fetched))
        return result

    monkeypatch.setattr(PeerLink, "_check_pages", check_pages)
    return compared


Pulled = tuple[int, list[tuple[Any, ...]], tuple[str, int, int]]


def reference(tmp_path: Path, peer: Peer) -> Pulled:
    hub = Hub(tmp_path, "reference", peer, parallel=False)
    try:
        return hub.pull(), hub.rows(), hub.cursor()
    finally:
        hub.close()


def test_the_worker_stores_what_the_in_process_path_stores(
    tmp_path: Path, eager: type[EagerWorker], checked_twice: list[int]
) -> None:
    peer = Peer(backlog())
    moved, rows, cursor = reference(tmp_path, peer)
    assert not checked_twice or sum(checked_twice) == 0  # the reference used no worker
    checked_twice.clear()
    hub = Hub(tmp_path, "parallel", peer, parallel=True)
    try:
        assert hub.pull() == moved
        assert hub.rows() == rows
        assert hub.cursor() == cursor
        # Pulling the same pages again stores nothing (the cursor is after them).
        assert hub.pull() == 0
        assert hub.rows() == rows
    finally:
        hub.close()
    (worker, *_) = eager.instances
    assert worker.taken == 5  # every page after the first
    assert sum(checked_twice) == 5
    # Every object received is stored as served, byte for byte (the others are the TLP
    # definitions the hub adds itself).
    served = set(peer.texts)
    assert all(row[9] in served for row in rows if row[10] == "hub-a")
    assert len(rows) < len(peer.texts)  # refusals and duplicates were not stored


def test_a_worker_killed_mid_pull_loses_and_doubles_nothing(
    tmp_path: Path,
    eager: type[EagerWorker],
    checked_twice: list[int],
    caplog: pytest.LogCaptureFixture,
) -> None:
    peer = Peer(backlog())
    moved, rows, cursor = reference(tmp_path, peer)
    eager.kill_after = 2
    hub = Hub(tmp_path, "killed", peer, parallel=True)
    try:
        with caplog.at_level(logging.WARNING, logger="kakehashi.sync.engine"):
            assert hub.pull() == moved
        assert hub.rows() == rows
        assert hub.cursor() == cursor
    finally:
        hub.close()
    assert "the pull worker process failed" in caplog.text
    (worker,) = eager.instances
    assert worker.taken == 2  # then the pulling process split and validated the rest


def test_no_worker_for_a_small_pull(tmp_path: Path, eager: type[EagerWorker]) -> None:
    peer = Peer(backlog()[:900])
    moved, rows, _ = reference(tmp_path, peer)
    hub = Hub(tmp_path, "small", peer, parallel=True)
    try:
        assert hub.pull() == moved
        assert hub.rows() == rows
    finally:
        hub.close()
    assert eager.instances[0].started is False


# -- processes ------------------------------------------------------------------------------

B_ENV = {HUB_A_TOKEN_ENV: token("b-sync")}
MARK = "KK_PULL_WORKER_TEST_MARK"
BACKLOG = 20_000
WORKER_STARTED = "pages are split and validated in process"


def marked_processes(mark: str) -> list[int]:
    """The processes whose environment carries ``MARK=mark`` (a hub and its children)."""
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if f"{MARK}={mark}".encode() in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def hub_a_with_backlog(federation: Federation) -> Any:
    a_config = federation.config("a", hub_a(federation.database("a")))
    bundle = federation.tmp_path / "backlog.json"
    objects = [indicator(n) for n in range(BACKLOG)]
    bundle.write_text(json.dumps({"type": "bundle", "id": f"bundle--{uuid.uuid4()}",
                                  "objects": objects}), encoding="utf-8")  # fmt: skip
    imported = run_cli(
        a_config, "import", str(bundle), "--collection", A_SHARED, "--as", "cert-a", timeout=300
    )
    assert imported.returncode == 0, imported.stderr
    return federation.start(a_config, sync=False)


def stored(federation: Federation) -> int:
    return int(federation.query("b", "SELECT COUNT(*) FROM objects")[0][0])


needs_proc = pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc")


@needs_proc
@pytest.mark.serial
def test_sync_once_leaves_no_process_behind(federation: Federation) -> None:
    a = hub_a_with_backlog(federation)
    b_config = federation.config("b", hub_b(federation.database("b"), a_url=discovery_url(a)))
    mark = uuid.uuid4().hex
    done = run_cli(b_config, "sync", "--once", env={**B_ENV, MARK: mark})
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert WORKER_STARTED in done.stderr  # the worker ran
    assert f"pull {BACKLOG} object versions" in done.stdout
    assert stored(federation) == BACKLOG
    wait_until(lambda: not marked_processes(mark), timeout=10, what="no process left")


@needs_proc
@pytest.mark.serial
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL])
def test_serve_stopped_mid_pull_leaves_no_process_behind(
    federation: Federation, stop: signal.Signals
) -> None:
    a = hub_a_with_backlog(federation)
    b_config = federation.config("b", hub_b(federation.database("b"), a_url=discovery_url(a)))
    mark = uuid.uuid4().hex
    b = federation.start(b_config, env={**B_ENV, MARK: mark})
    # The worker has started (a kill while multiprocessing is still handing the new
    # process its start-up data makes that process print a traceback as it exits).
    wait_until(lambda: WORKER_STARTED in b.log_text(), timeout=30, what="the worker")
    assert b.process is not None
    b.process.send_signal(stop)
    b.process.wait(timeout=30)
    wait_until(lambda: not marked_processes(mark), timeout=10, what="no process left")
    assert stored(federation) <= BACKLOG
    # Whatever was committed is whole: a restart completes the pull, nothing twice.
    b = federation.start(b_config, env=B_ENV)
    wait_until(lambda: stored(federation) >= BACKLOG, timeout=60, what="the rest")
    rows = federation.query("b", "SELECT COUNT(DISTINCT id || version), COUNT(*) FROM objects")
    assert rows[0] == (BACKLOG, BACKLOG)
    assert federation.query("b", "SELECT collection_id FROM objects LIMIT 1")[0][0] == B_LOCAL
