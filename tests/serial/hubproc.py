"""Helpers for the serial tests: ``kakehashi serve`` subprocesses and TAXII readers over TCP.

The hub under test runs only as a subprocess, driven through its command line, its
configuration file and HTTP, as an operator and a TAXII client would drive it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, urlencode

import httpx
from psycopg.conninfo import conninfo_to_dict

from conftest import API_ROOT, COLLECTION, basic, post_headers
from stixgen import indicator

__all__ = [
    "CrashLedger",
    "Follower",
    "HubProcess",
    "config_with_database",
    "exchange",
    "objects_url",
    "parse_stamp_us",
    "post_objects",
    "postgres_url",
    "read_all",
    "served_texts",
    "write_envelopes",
    "write_until_refused",
]

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_STAMP = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z")
_DATABASE_LINE = re.compile(r"(?m)^database = .*$")
# Variables the hub reads (KAKEHASHI_DATABASE, KAKEHASHI_LISTEN, KAKEHASHI_CONFIG) would
# override the file the test wrote, so the subprocess never inherits them.
_HUB_ENV_PREFIX = "KAKEHASHI_"


# -- configuration ------------------------------------------------------------------------


def postgres_url(conninfo: str) -> str:
    """A libpq connection string as the ``postgresql://`` URL ``hub.toml`` requires.

    The ``postgres_dsn`` fixture yields ``user=… dbname=… host=/socket/dir``; every
    keyword but the database name becomes a URI query parameter, which libpq accepts.
    """
    params = {key: str(value) for key, value in conninfo_to_dict(conninfo).items() if value}
    dbname = params.pop("dbname", "")
    return f"postgresql:///{quote(dbname, safe='')}?{urlencode(params)}"


def config_with_database(config_text: str, database: str) -> str:
    """``config_text`` with its ``[hub] database`` line pointing at ``database``."""
    # A JSON string literal is a valid TOML basic string for these ASCII URLs.
    text, count = _DATABASE_LINE.subn(f"database = {json.dumps(database)}", config_text)
    assert count == 1, "CONFIG_TEXT no longer has exactly one 'database = ' line"
    return text


# -- the subprocess -----------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _command() -> list[str]:
    script = Path(sys.executable).with_name("kakehashi")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from kakehashi.cli import main; main()"]


class HubProcess:
    """One ``kakehashi --config FILE serve --listen 127.0.0.1:PORT`` subprocess.

    Its standard output and error go to ``log_path`` (shown by the fixture on teardown).
    """

    def __init__(self, config: Path, log_path: Path) -> None:
        self.config = config
        self.log_path = log_path
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._log_offset = 0  # where the current launch's output starts in the log

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def launch(self) -> None:
        """Start the process on a free port without waiting for it."""
        self.port = _free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(_HUB_ENV_PREFIX)}
        env["PYTHONUNBUFFERED"] = "1"
        argv = [
            *_command(),
            "--config",
            str(self.config),
            "serve",
            "--listen",
            f"127.0.0.1:{self.port}",
        ]
        with self.log_path.open("ab") as log:
            self._log_offset = log.tell()
            log.write(f"$ {' '.join(argv)}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )

    def wait_ready(self) -> bool:
        """Wait until ``/taxii2/`` answers 401.

        Returns ``False`` when the port turned out to be taken (the caller retries on
        another); any other early exit raises, with the log, so that a start-up failure
        of the hub is never retried away.
        """
        assert self.process is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                code = self.process.poll()
                if code is not None:
                    if "address already in use" in self._launch_log().lower():
                        return False
                    raise RuntimeError(f"the hub exited with {code}:\n{self.log_tail()}")
                try:
                    response = client.get(self.base_url + "/taxii2/")
                except httpx.TransportError:
                    time.sleep(0.05)
                    continue
                assert response.status_code == 401, response.text
                # If our process did not log the probe, someone else answered on the port
                # we picked (our bind failed): the caller retries on another port.
                return self._logged_probe()
        self.kill()
        raise TimeoutError(f"the hub did not answer within {START_TIMEOUT_S}s:\n{self.log_tail()}")

    def _logged_probe(self) -> bool:
        """Whether our own process logged the probe (so the 401 did not come from another)."""
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            if "GET /taxii2/ 401" in self._launch_log():
                return True
            time.sleep(0.02)
        return False

    def _launch_log(self) -> str:
        with self.log_path.open("rb") as log:
            log.seek(self._log_offset)
            return log.read().decode(errors="replace")

    def start(self, attempts: int = 3) -> None:
        """Launch and wait; retry on another port if the one picked was taken meanwhile."""
        for _ in range(attempts):
            self.launch()
            if self.wait_ready():
                return
            self.kill()
        raise RuntimeError(f"the hub did not start:\n{self.log_tail()}")

    def ensure_ready(self) -> None:
        """Finish a :meth:`launch`: wait, or start again on another port if it was taken."""
        if not self.wait_ready():
            self.kill()
            self.start()

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flushing, open transactions simply vanish."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        if self.process is not None:
            self.process.wait(timeout=STOP_TIMEOUT_S)

    def stop(self) -> int | None:
        """SIGTERM (uvicorn's graceful shutdown), then SIGKILL if it lingers.

        Returns the exit status (negative: killed by that signal), ``None`` if never run.
        """
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.process.returncode

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


# -- TAXII over HTTP ----------------------------------------------------------------------


def objects_url(base: str, collection: str = COLLECTION) -> str:
    return f"{base}/{API_ROOT}/collections/{collection}/objects/"


def manifest_url(base: str, collection: str = COLLECTION) -> str:
    return f"{base}/{API_ROOT}/collections/{collection}/manifest/"


def parse_stamp_us(text: str) -> int:
    """A TAXII timestamp (any sub-second precision) in epoch microseconds, exactly."""
    match = _STAMP.fullmatch(text)
    assert match is not None, f"{text!r} is not a TAXII timestamp"
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    moment = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    micros = int((match.group(7) or "").ljust(6, "0")[:6])
    return (moment - _EPOCH) // timedelta(microseconds=1) + micros


def post_objects(
    client: httpx.Client, base: str, objects: Sequence[dict[str, Any]], user: str = "alice"
) -> dict[str, Any]:
    """POST one envelope; assert a complete 202 status without failures and return it."""
    response = client.post(
        objects_url(base),
        content=json.dumps({"objects": list(objects)}).encode(),
        headers=post_headers(user),
    )
    assert response.status_code == 202, response.text
    status: dict[str, Any] = response.json()
    assert status["status"] == "complete"
    assert status["failure_count"] == 0, status
    assert status["success_count"] == len(objects)
    return status


_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


def _skip(text: str, pos: int) -> int:
    match = _WS.match(text, pos)
    assert match is not None
    return match.end()


def served_texts(body: str) -> list[str]:
    """The exact text of each element of a TAXII envelope's ``objects`` array.

    ``json.loads`` would lose the text; the envelope is walked with ``raw_decode`` so a
    test can compare each served object with the bytes that were posted.
    """
    assert isinstance(json.loads(body), dict)
    pos = _skip(body, 0) + 1  # past "{"
    while True:
        pos = _skip(body, pos)
        if body[pos] == "}":
            return []
        key, pos = _DECODER.raw_decode(body, pos)
        pos = _skip(body, pos) + 1  # past ":"
        pos = _skip(body, pos)
        if key == "objects":
            texts: list[str] = []
            pos = _skip(body, pos + 1)  # past "["
            while body[pos] != "]":
                start = pos
                _, pos = _DECODER.raw_decode(body, pos)
                texts.append(body[start:pos])
                pos = _skip(body, pos)
                if body[pos] == ",":
                    pos = _skip(body, pos + 1)
            return texts
        _, pos = _DECODER.raw_decode(body, pos)
        pos = _skip(body, pos)
        if body[pos] == ",":
            pos += 1


def _key(item: dict[str, Any], endpoint: str) -> tuple[str, str]:
    if endpoint == "manifest":
        return str(item["id"]), str(item["version"])
    return str(item["id"]), str(item.get("modified") or item.get("created") or "")


class Follower:
    """A TAXII consumer that follows a collection from the start.

    Each :meth:`catch_up` pages with ``added_after`` (the last ``X-TAXII-Date-Added-Last``
    seen) and then ``next`` until ``more`` is false. Requests rotate over ``bases``, so a
    paging sequence may hop between hub processes. Every page is checked as it arrives:
    its ``date_added`` range starts strictly after everything seen before, and for the
    manifest each entry's ``date_added`` is strictly greater than the previous one and the
    headers equal the first and last entries.

    Args:
        client: the HTTP client (one per thread).
        bases: hub base URLs, used in turn.
        endpoint: ``"objects"`` or ``"manifest"``.
        limit: the page size asked for.
        params: extra query parameters sent on every request.
    """

    def __init__(
        self,
        client: httpx.Client,
        bases: Sequence[str],
        endpoint: Literal["objects", "manifest"],
        limit: int,
        params: dict[str, str] | None = None,
    ) -> None:
        self.client = client
        self.bases = list(bases)
        self.endpoint = endpoint
        self.limit = limit
        self.params = dict(params or {})
        self.seen: Counter[tuple[str, str]] = Counter()
        self.pages = 0
        self.requests = 0
        self.read_while_writing = 0
        self.last_added: str | None = None
        self.last_added_us = -1

    def _get(self, params: dict[str, str]) -> httpx.Response:
        base = self.bases[self.requests % len(self.bases)]
        self.requests += 1
        url = objects_url(base) if self.endpoint == "objects" else manifest_url(base)
        response = self.client.get(url, params={**self.params, **params}, headers=basic("alice"))
        assert response.status_code == 200, response.text
        return response

    def catch_up(self) -> int:
        """Read until ``more`` is false; return how many items were new."""
        params = {"limit": str(self.limit)}
        if self.last_added is not None:
            params["added_after"] = self.last_added
        read = 0
        while True:
            response = self._get(params)
            body = response.json()
            items: list[dict[str, Any]] = body.get("objects", [])
            first = response.headers.get("X-TAXII-Date-Added-First")
            last = response.headers.get("X-TAXII-Date-Added-Last")
            if not items:
                assert first is None, first
                assert last is None, last
                assert body["more"] is False, body
                return read
            assert first is not None
            assert last is not None
            assert len(items) <= self.limit
            first_us, last_us = parse_stamp_us(first), parse_stamp_us(last)
            assert first_us > self.last_added_us, (first, self.last_added)
            # date_added is unique per object in a collection: a page spans a real range.
            assert first_us < last_us if len(items) > 1 else first_us == last_us
            if self.endpoint == "manifest":
                stamps = [parse_stamp_us(item["date_added"]) for item in items]
                assert stamps[0] == first_us
                assert stamps[-1] == last_us
                previous = self.last_added_us
                for stamp in stamps:
                    assert stamp > previous, "manifest date_added not strictly increasing"
                    previous = stamp
            self.seen.update(_key(item, self.endpoint) for item in items)
            self.pages += 1
            read += len(items)
            self.last_added, self.last_added_us = last, last_us
            if not body["more"]:
                return read
            assert body.get("next"), "more is true but no next token"
            params = {"limit": str(self.limit), "next": body["next"]}


def read_all(
    client: httpx.Client,
    bases: Sequence[str],
    endpoint: Literal["objects", "manifest"] = "manifest",
    limit: int = 50,
) -> Follower:
    """A full paged read from the start of the collection (every version)."""
    follower = Follower(client, bases, endpoint, limit, params={"match[version]": "all"})
    follower.catch_up()
    return follower


def write_envelopes(base: str, writer: int, envelopes: int, size: int) -> list[tuple[str, str]]:
    """Post ``envelopes`` envelopes of ``size`` new indicators; return the acknowledged
    ``(id, version)`` pairs. Object numbers are unique per ``writer``."""
    acked: list[tuple[str, str]] = []
    with httpx.Client(timeout=60.0) as client:
        for envelope in range(envelopes):
            first = (writer * 1_000 + envelope) * size
            status = post_objects(client, base, [indicator(n) for n in range(first, first + size)])
            acked.extend((s["id"], s["version"]) for s in status["successes"])
    return acked


@dataclass
class CrashLedger:
    """What crash-test writers sent and what the hub acknowledged, by envelope number."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    sent: dict[int, list[str]] = field(default_factory=dict)
    acked: dict[int, dict[str, Any]] = field(default_factory=dict)
    in_flight: set[int] = field(default_factory=set)
    unexpected: list[str] = field(default_factory=list)
    lost: dict[int, str] = field(default_factory=dict)


def write_until_refused(
    base: str, writer: int, ledger: CrashLedger, stop: threading.Event, size: int
) -> None:
    """Post envelopes of ``size`` new indicators until ``stop``, a refusal or the hub dies,
    recording each envelope's ids before it is sent and its status once acknowledged."""
    with httpx.Client(timeout=30.0) as client:
        for round_ in range(10_000):
            if stop.is_set():
                return
            number = writer * 10_000 + round_
            objects = [indicator(number * size + i) for i in range(size)]
            with ledger.lock:
                ledger.sent[number] = [o["id"] for o in objects]
                ledger.in_flight.add(number)
            try:
                response = client.post(
                    objects_url(base), json={"objects": objects}, headers=post_headers("alice")
                )
            except httpx.TransportError as exc:  # the hub died under us
                with ledger.lock:
                    ledger.in_flight.discard(number)
                    ledger.lost[number] = type(exc).__name__
                return
            with ledger.lock:
                ledger.in_flight.discard(number)
                if response.status_code == 202:
                    ledger.acked[number] = response.json()
                else:
                    ledger.unexpected.append(f"{response.status_code}: {response.text}")
                    return


def kill_while_writing(
    hub: HubProcess, ledger: CrashLedger, *, writers: int, size: int, acks: int, in_flight: int
) -> set[int]:
    """Run ``writers`` threads of :func:`write_until_refused` against ``hub``; SIGKILL it
    once it has acknowledged ``acks`` envelopes while at least ``in_flight`` others are
    under way (with the ledger locked, so no answer is recorded meanwhile); join them.
    Returns the envelopes in flight at the kill."""
    stop = threading.Event()
    threads = [
        threading.Thread(target=write_until_refused, args=(hub.base_url, w, ledger, stop, size))
        for w in range(writers)
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    while True:
        with ledger.lock:
            if len(ledger.acked) >= acks and len(ledger.in_flight) >= in_flight:
                hub.kill()
                at_kill = set(ledger.in_flight)
                break
            assert not ledger.unexpected, ledger.unexpected
        assert time.monotonic() < deadline, "the writers made no progress"
        time.sleep(0.001)
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
        assert not thread.is_alive()
    assert not ledger.unexpected, ledger.unexpected
    return at_kill


def check_survivors(
    seen: Counter[tuple[str, str]], ledger: CrashLedger, size: int
) -> tuple[Counter[str], set[int]]:
    """After a crash and a full read (``seen``): nothing twice, every acknowledged success
    there with the version its status named, and every envelope of ``size`` there whole
    or not at all. Returns the count per object id and the envelopes stored."""
    assert {key: n for key, n in seen.items() if n != 1} == {}
    present = Counter(object_id for object_id, _ in seen)
    for number, status in ledger.acked.items():
        assert (status["status"], status["success_count"]) == ("complete", size)
        for success in status["successes"]:
            assert (success["id"], success["version"]) in seen, number
    for number, ids in ledger.sent.items():
        stored = sum(present[i] for i in ids)
        assert stored in (0, size), (number, stored, ledger.lost.get(number))
    stored_envelopes = {n for n, ids in ledger.sent.items() if present[ids[0]]}
    assert set(ledger.acked) <= stored_envelopes
    assert sum(present.values()) == size * len(stored_envelopes)
    return present, stored_envelopes


def follow_until(
    done: threading.Event,
    bases: Sequence[str],
    endpoint: Literal["objects", "manifest"],
    limit: int,
) -> Follower:
    """Catch up again and again until ``done`` is set, then once more.

    ``done`` is read before each round, so the last round starts after every write was
    acknowledged. ``read_while_writing`` is how many items had been read before then.
    """
    with httpx.Client(timeout=60.0) as client:
        follower = Follower(client, bases, endpoint, limit)
        while True:
            finished = done.is_set()
            if finished:
                follower.read_while_writing = follower.seen.total()
            follower.catch_up()
            if finished:
                return follower
            time.sleep(0.005)


def exchange(
    writer_bases: Sequence[str],
    reader_bases: Sequence[str],
    *,
    writers: int,
    envelopes: int,
    size: int,
) -> tuple[list[tuple[str, str]], list[Follower]]:
    """Writers post concurrently (writer ``w`` to ``writer_bases[w % n]``) while an
    objects follower and a manifest follower page ``reader_bases``; return what was
    acknowledged and the two followers."""
    done = threading.Event()
    with ThreadPoolExecutor(max_workers=writers + 2) as pool:
        readers = [
            pool.submit(follow_until, done, reader_bases, "objects", 37),
            pool.submit(follow_until, done, reader_bases, "manifest", 50),
        ]
        posting = [
            pool.submit(write_envelopes, writer_bases[w % len(writer_bases)], w, envelopes, size)
            for w in range(writers)
        ]
        try:
            acked = [key for future in posting for key in future.result(timeout=120)]
        finally:
            done.set()
        return acked, [future.result(timeout=120) for future in readers]
