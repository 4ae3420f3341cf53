"""TAXII 2.1 benchmark: Kakehashi side by side with medallion, then Kakehashi at scale.

Run by ``make bench`` (never by the tests). Both servers run as real processes on
loopback and are driven over HTTP with httpx and HTTP Basic auth, exactly as a TAXII
client would:

* Part one, the same workload against Kakehashi (SQLite, ``kakehashi serve``) and
  medallion 3.0.0 (the OASIS reference server, memory backend): a mixed collection (90 %
  indicators, 10 % malware) of 500, 1,000 and 2,000 objects ingested in envelopes of 100;
  then a full paged read, GETs of single objects by id, a paged read filtered with
  ``match[type]=indicator`` and the latency of the first page. Beside it, not a target:
  the same envelopes ingested by 4 concurrent clients into a fresh server of each kind,
  and the cost of one durable commit on the disk under the benchmark, which bounds what
  one sequential client can reach when every envelope is committed before its answer.
* Part two, Kakehashi alone at 100,000 objects (and 1,000,000 with ``--sizes``):
  concurrent ingest in envelopes of 1,000, a full paged read at the page cap, first-page
  latency and GETs by random id.

Each server gets a fresh temporary directory, configuration and store for each size, and
is stopped at the end even on failure. Results are printed as Markdown tables and written
to ``bench/results/taxii-<timestamp>.json``.

Usage::

    python bench/taxii_bench.py                          # part one + part two at 100,000
    python bench/taxii_bench.py --sizes 100000,1000000   # part two at 100k and 1M
    python bench/taxii_bench.py --quick                  # smoke run at small sizes
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import importlib.metadata
import itertools
import json
import math
import os
import platform
import random
import secrets
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

TAXII_MEDIA_TYPE = "application/taxii+json;version=2.1"
API_ROOT = "bench"
COLLECTION_ID = "3b1d6b5e-6c1a-4f6e-9d43-5a0b9a1f2c7e"
USERNAME = "bench"
ORGANIZATION = "bench-org"
ORGANIZATION_IDENTITY = "identity--0c7b5a9e-1f3d-4e2a-8b6c-9d0e1f2a3b4c"
# Deterministic object ids: uuid5 of the object's index in this namespace.
ID_NAMESPACE = uuid.UUID("6f1c1b8e-5a3d-4c2b-9e7f-0a1b2c3d4e5f")
BASE_TIME = datetime(2024, 1, 1, tzinfo=UTC)
MALWARE_EVERY = 10  # every 10th object is a malware SDO, the rest indicators
MAX_PAGE_SIZE = 1000
MAX_CONTENT_LENGTH = 64 * 1024 * 1024
RESULTS_DIR = Path(__file__).resolve().parent / "results"
SEED = 20240101


class BenchError(Exception):
    """A benchmark step failed: a server did not start or answered wrongly."""


# -- the workload -----------------------------------------------------------------------


def is_malware(index: int) -> bool:
    return index % MALWARE_EVERY == MALWARE_EVERY - 1


def object_id(index: int) -> str:
    kind = "malware" if is_malware(index) else "indicator"
    return f"{kind}--{uuid.uuid5(ID_NAMESPACE, f'{kind}-{index}')}"


def _timestamp(index: int) -> str:
    moment = BASE_TIME + timedelta(milliseconds=index)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def stix_object(index: int) -> dict[str, Any]:
    """Object number ``index`` of the workload: a valid STIX 2.1 indicator or malware."""
    stamp = _timestamp(index)
    if is_malware(index):
        return {
            "type": "malware",
            "spec_version": "2.1",
            "id": object_id(index),
            "created": stamp,
            "modified": stamp,
            "name": f"Bench malware {index}",
            "is_family": False,
            "malware_types": ["trojan"],
        }
    address = f"10.{(index >> 16) & 255}.{(index >> 8) & 255}.{index & 255}"
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": object_id(index),
        "created": stamp,
        "modified": stamp,
        "name": f"Bench indicator {index}",
        "indicator_types": ["malicious-activity"],
        "pattern": f"[ipv4-addr:value = '{address}']",
        "pattern_type": "stix",
        "valid_from": stamp,
    }


def envelope_body(start: int, count: int) -> bytes:
    objects = [stix_object(i) for i in range(start, start + count)]
    return json.dumps({"objects": objects}, separators=(",", ":")).encode("utf-8")


def indicator_count(size: int) -> int:
    return size - size // MALWARE_EVERY


# -- statistics -------------------------------------------------------------------------


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (``fraction`` in 0..1)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


# -- servers ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Credentials:
    username: str
    token: str

    def auth(self) -> httpx.BasicAuth:
        return httpx.BasicAuth(self.username, self.token)


class Server:
    """A TAXII server in a subprocess on loopback, stopped on exit whatever happens."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        *,
        cwd: Path,
        port: int,
        credentials: Credentials,
        extra_env: dict[str, str] | None = None,
        ready_timeout_s: float = 60.0,
    ) -> None:
        self.name = name
        self.argv = argv
        self.cwd = cwd
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.credentials = credentials
        self.extra_env = extra_env or {}
        self.ready_timeout_s = ready_timeout_s
        self.log_path = cwd / f"{name}.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    def __enter__(self) -> Server:
        self._log = self.log_path.open("wb")
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.extra_env}
        self._proc = subprocess.Popen(
            self.argv,
            cwd=self.cwd,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            # Its own session: a Ctrl-C reaches only this script, which then stops it.
            start_new_session=True,
        )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise BenchError(f"{self.name} is not running")
        return self._proc.pid

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def _wait_ready(self) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + self.ready_timeout_s
        headers = {"Accept": TAXII_MEDIA_TYPE}
        with httpx.Client(auth=self.credentials.auth(), headers=headers, timeout=5.0) as client:
            while time.monotonic() < deadline:
                code = self._proc.poll()
                if code is not None:
                    raise BenchError(
                        f"{self.name} exited with code {code} before answering;"
                        f" its log ends:\n{self.log_tail()}"
                    )
                with contextlib.suppress(httpx.TransportError):
                    response = client.get(f"{self.base_url}/taxii2/")
                    if response.status_code == 200:
                        return
                    raise BenchError(
                        f"{self.name} answered discovery with {response.status_code}:"
                        f" {response.text[:300]}"
                    )
                time.sleep(0.1)
        raise BenchError(f"{self.name} did not answer within {self.ready_timeout_s:.0f} s")

    def stop(self) -> None:
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=20)
        if self._log is not None:
            self._log.close()
            self._log = None

    def cpu_seconds(self) -> float:
        """User + system CPU time the server process has used so far (Linux)."""
        try:
            stat = Path(f"/proc/{self.pid}/stat").read_text()
        except OSError:
            return math.nan
        fields = stat.rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks

    def peak_rss_mb(self) -> float:
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return math.nan


def kakehashi_config(
    workdir: Path, credentials: Credentials, database: str = "sqlite:///hub.db"
) -> Path:
    digest = hashlib.sha256(credentials.token.encode("utf-8")).hexdigest()
    text = f"""# Generated by bench/taxii_bench.py
[hub]
title = "Kakehashi benchmark hub"
database = "{database}"
max_page_size = {MAX_PAGE_SIZE}
max_content_length = {MAX_CONTENT_LENGTH}

[[organizations]]
key = "{ORGANIZATION}"
name = "Benchmark organisation"
identity = "{ORGANIZATION_IDENTITY}"

[[accounts]]
username = "{credentials.username}"
organization = "{ORGANIZATION}"
token_sha256 = "{digest}"

[[api_roots]]
name = "{API_ROOT}"
title = "Benchmark"

[[collections]]
id = "{COLLECTION_ID}"
api_root = "{API_ROOT}"
title = "Benchmark collection"
can_read = ["{ORGANIZATION}"]
can_write = ["{ORGANIZATION}"]
"""
    path = workdir / "hub.toml"
    path.write_text(text, encoding="utf-8")
    return path


def medallion_config(workdir: Path, credentials: Credentials, port: int) -> Path:
    base = f"http://127.0.0.1:{port}"
    data = {
        "/discovery": {
            "title": "medallion benchmark server",
            "default": f"{base}/{API_ROOT}/",
            "api_roots": [f"{base}/{API_ROOT}/"],
        },
        API_ROOT: {
            "information": {
                "title": "Benchmark",
                "versions": [TAXII_MEDIA_TYPE],
                "max_content_length": MAX_CONTENT_LENGTH,
            },
            "status": [],
            "collections": [
                {
                    "id": COLLECTION_ID,
                    "title": "Benchmark collection",
                    "can_read": True,
                    "can_write": True,
                    "media_types": ["application/stix+json;version=2.1"],
                    "objects": [],
                    "manifest": [],
                }
            ],
        },
    }
    data_path = workdir / "medallion-data.json"
    data_path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    config = {
        "backend": {
            "module": "medallion.backends.memory_backend",
            "module_class": "MemoryBackend",
            "filename": str(data_path),
            # `next` sessions expire after 30 s by default; a first page at 2,000 objects
            # alone takes about that long, so keep them for the whole run.
            "session_timeout": 3600,
        },
        "users": {credentials.username: credentials.token},
        "taxii": {"max_page_size": MAX_PAGE_SIZE},
    }
    path = workdir / "medallion.json"
    path.write_text(json.dumps(config, indent=2), encoding="utf-8")
    return path


# Serves with SQLite's synchronous=NORMAL: a stand-in, for the benchmark only, for the
# proposed `[hub] sqlite_synchronous` setting (SqliteStore.synchronous, set before open).
_SERVE_NORMAL = (
    "from kakehashi.store import sqlite as s\n"
    "_open = s.SqliteStore.open\n"
    "def _normal(self):\n"
    "    self.synchronous = 'NORMAL'\n"
    "    _open(self)\n"
    "s.SqliteStore.open = _normal\n"
)


def start_kakehashi(
    workdir: Path,
    credentials: Credentials,
    src: Path | None = None,
    synchronous: str = "FULL",
    database: str = "sqlite:///hub.db",
) -> Server:
    """``kakehashi serve`` on a fresh SQLite file (or the fresh PostgreSQL ``database``);
    from ``src`` (a source tree's ``src`` folder, put first on PYTHONPATH) instead of the
    installed package when given. ``synchronous="NORMAL"`` is the opt-in that is not
    durable against power loss; every figure taken with it is labelled so."""
    config = kakehashi_config(workdir, credentials, database)
    port = free_port()
    prelude = _SERVE_NORMAL if synchronous == "NORMAL" else ""
    argv = [
        sys.executable,
        "-c",
        prelude + "from kakehashi.cli import main; main()",
        "--config",
        str(config),
        "serve",
        "--listen",
        f"127.0.0.1:{port}",
    ]
    extra_env: dict[str, str] = {}
    if src is not None:
        extra_env["PYTHONPATH"] = os.pathsep.join(
            [str(src.resolve()), *filter(None, [os.environ.get("PYTHONPATH")])]
        )
    return Server(
        "kakehashi", argv, cwd=workdir, port=port, credentials=credentials, extra_env=extra_env
    )


def start_medallion(workdir: Path, credentials: Credentials) -> Server:
    port = free_port()
    config = medallion_config(workdir, credentials, port)
    argv = [
        sys.executable,
        "-m",
        "medallion.scripts.run",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "WARN",
        str(config),
    ]
    return Server("medallion", argv, cwd=workdir, port=port, credentials=credentials)


# -- measurements -----------------------------------------------------------------------


def objects_url(server: Server) -> str:
    return f"{server.base_url}/{API_ROOT}/collections/{COLLECTION_ID}/objects/"


def make_client(server: Server, timeout_s: float) -> httpx.Client:
    return httpx.Client(
        auth=server.credentials.auth(),
        headers={"Accept": TAXII_MEDIA_TYPE},
        timeout=httpx.Timeout(timeout_s),
    )


def post_envelope(client: httpx.Client, server: Server, body: bytes) -> int:
    """POST one envelope; return how many objects the status reports as successes."""
    response = client.post(
        objects_url(server), content=body, headers={"Content-Type": TAXII_MEDIA_TYPE}
    )
    if response.status_code != 202:
        raise BenchError(
            f"{server.name}: POST objects answered {response.status_code}: {response.text[:300]}"
        )
    status = response.json()
    if status.get("failure_count"):
        first = status.get("failures", [{}])[0]
        raise BenchError(f"{server.name}: {status['failure_count']} objects failed: {first}")
    count: int = status.get("success_count", 0)
    return count


@dataclass
class Timed:
    """A measured phase: wall time, server CPU time, and what it produced."""

    seconds: float
    server_cpu_s: float
    count: int = 0
    latencies_ms: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else math.nan

    @property
    def server_cpu_share(self) -> float:
        return self.server_cpu_s / self.seconds if self.seconds > 0 else math.nan


@contextlib.contextmanager
def timed(server: Server) -> Iterator[Timed]:
    result = Timed(seconds=0.0, server_cpu_s=0.0)
    cpu_before = server.cpu_seconds()
    started = time.perf_counter()
    yield result
    result.seconds = time.perf_counter() - started
    result.server_cpu_s = server.cpu_seconds() - cpu_before


def load_average() -> float:
    """The 1-minute load average: other work on the machine skews every figure."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return math.nan


def progress(message: str) -> None:
    print(f"  [{datetime.now().strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def build_envelopes(size: int, envelope: int) -> list[bytes]:
    """The request bodies of an ingest, built before the clock starts."""
    return [envelope_body(start, min(envelope, size - start)) for start in range(0, size, envelope)]


def ingest(
    server: Server,
    bodies: Sequence[bytes],
    *,
    size: int,
    clients: int,
    timeout_s: float,
    report_every_s: float = 15.0,
) -> Timed:
    """POST the envelopes ``bodies`` (``size`` objects in all), ``clients`` concurrently.

    The bodies are built beforehand so the figure is the server's and the HTTP path's, not
    the cost of generating JSON in this process (about 15 us an object).
    """
    tickets = itertools.count()
    lock = threading.Lock()
    failed = threading.Event()
    stored = [0]
    last_report = [time.perf_counter()]
    began = time.perf_counter()

    def worker() -> None:
        with make_client(server, timeout_s) as client:
            while not failed.is_set():
                ticket = next(tickets)
                if ticket >= len(bodies):
                    return
                try:
                    count = post_envelope(client, server, bodies[ticket])
                except BaseException:
                    failed.set()
                    raise
                with lock:
                    stored[0] += count
                    now = time.perf_counter()
                    if now - last_report[0] >= report_every_s:
                        last_report[0] = now
                        progress(
                            f"{server.name}: {stored[0]:,}/{size:,} ingested,"
                            f" {stored[0] / (now - began):,.0f} objects/s"
                        )

    with timed(server) as result:
        began = time.perf_counter()
        with ThreadPoolExecutor(max_workers=clients) as pool:
            futures = [pool.submit(worker) for _ in range(clients)]
            for future in futures:
                future.result()
    result.count = stored[0]
    if stored[0] != size:
        raise BenchError(f"{server.name}: {stored[0]} of {size} objects stored")
    return result


def paged_read(
    client: httpx.Client,
    server: Server,
    *,
    limit: int,
    filters: dict[str, str] | None = None,
    expected: int,
) -> Timed:
    """Read the whole collection page by page, following ``more`` and ``next``."""
    base = {**(filters or {}), "limit": str(limit)}
    params = dict(base)
    pages = 0
    with timed(server) as result:
        while True:
            response = client.get(objects_url(server), params=params)
            if response.status_code != 200:
                raise BenchError(
                    f"{server.name}: GET objects page {pages + 1} answered"
                    f" {response.status_code}: {response.text[:300]}"
                )
            body = response.json()
            pages += 1
            result.count += len(body.get("objects", []))
            if not body.get("more"):
                break
            token = body.get("next")
            if not token:
                raise BenchError(f"{server.name}: page {pages} has more=true but no next")
            params = {**base, "next": token}
    if result.count != expected:
        raise BenchError(
            f"{server.name}: the paged read returned {result.count} objects, expected {expected}"
        )
    return result


def get_by_id(client: httpx.Client, server: Server, ids: Sequence[str]) -> Timed:
    """GET each object by id, one after the other; latencies in ms."""
    with timed(server) as result:
        for wanted in ids:
            started = time.perf_counter()
            response = client.get(f"{objects_url(server)}{wanted}/")
            elapsed_ms = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                raise BenchError(
                    f"{server.name}: GET {wanted} answered {response.status_code}:"
                    f" {response.text[:300]}"
                )
            objects = response.json().get("objects", [])
            if len(objects) != 1 or objects[0].get("id") != wanted:
                raise BenchError(f"{server.name}: GET {wanted} returned {len(objects)} objects")
            result.latencies_ms.append(elapsed_ms)
            result.count += 1
    return result


def first_page(
    client: httpx.Client,
    server: Server,
    *,
    limit: int,
    tries: int,
    budget_s: float,
    filters: dict[str, str] | None = None,
    min_tries: int = 3,
) -> Timed:
    """GET the first page ``tries`` times (fewer if ``budget_s`` runs out); latencies in ms."""
    params = {**(filters or {}), "limit": str(limit)}
    began = time.perf_counter()
    with timed(server) as result:
        for attempt in range(tries):
            if attempt >= min_tries and time.perf_counter() - began > budget_s:
                break
            started = time.perf_counter()
            response = client.get(objects_url(server), params=params)
            elapsed_ms = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                raise BenchError(
                    f"{server.name}: first page answered {response.status_code}:"
                    f" {response.text[:300]}"
                )
            if len(response.json().get("objects", [])) == 0:
                raise BenchError(f"{server.name}: the first page is empty")
            result.latencies_ms.append(elapsed_ms)
            result.count += 1
    return result


# -- part one: side by side -------------------------------------------------------------


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    unit: str
    higher_is_better: bool
    # False: shown beside the others, but the issue set no target for it.
    target: bool = True


CONCURRENT_CLIENTS = 4

COMPARE_METRICS: tuple[Metric, ...] = (
    Metric("ingest", "Ingest, envelopes of 100", "objects/s", True),
    Metric(
        "ingest_concurrent",
        f"Ingest, envelopes of 100, {CONCURRENT_CLIENTS} clients (not a target)",
        "objects/s",
        True,
        target=False,
    ),
    Metric("full_read", "Full paged read, limit 100", "objects/s", True),
    Metric("by_id_rate", "GET by id, sequential", "requests/s", True),
    Metric("by_id_p50", "GET by id p50", "ms", False),
    Metric("by_id_p99", "GET by id p99", "ms", False),
    Metric("filtered_read", "Paged read match[type]=indicator", "objects/s", True),
    Metric("first_page", "First page (limit 100), median", "ms", False),
)


@dataclass(frozen=True)
class CompareOptions:
    envelope: int
    page_limit: int
    by_id_count: int
    first_page_tries: int
    first_page_budget_s: float
    medallion_timeout_s: float
    read_repeats: int = 5
    read_budget_s: float = 3.0


def repeated(measure: Callable[[], Timed], *, times: int, budget_s: float) -> list[Timed]:
    """Run ``measure`` up to ``times`` times, stopping early once ``budget_s`` is spent.

    A full read of 2,000 objects takes Kakehashi a few tens of milliseconds, too short for
    one run to be a stable figure; medallion needs seconds, and gets one run.
    """
    runs: list[Timed] = []
    began = time.perf_counter()
    while len(runs) < times:
        runs.append(measure())
        if time.perf_counter() - began > budget_s:
            break
    return runs


def measure_compare(
    server: Server, size: int, options: CompareOptions, timeout_s: float
) -> dict[str, Any]:
    """Part one's workload against one running server."""
    figures: dict[str, Any] = {}
    progress(f"{server.name} @ {size:,}: ingest")
    bodies = build_envelopes(size, options.envelope)
    added = ingest(server, bodies, size=size, clients=1, timeout_s=timeout_s)
    figures["ingest"] = added.rate
    figures["ingest_server_cpu_share"] = added.server_cpu_share
    with make_client(server, timeout_s) as client:
        progress(f"{server.name} @ {size:,}: full paged read")
        reads = repeated(
            lambda: paged_read(client, server, limit=options.page_limit, expected=size),
            times=options.read_repeats,
            budget_s=options.read_budget_s,
        )
        figures["full_read"] = statistics.median(r.rate for r in reads)
        figures["full_read_s"] = statistics.median(r.seconds for r in reads)
        figures["full_read_tries"] = len(reads)

        progress(f"{server.name} @ {size:,}: {options.by_id_count} GETs by id")
        rng = random.Random(SEED + size)
        ids = [object_id(rng.randrange(size)) for _ in range(options.by_id_count)]
        by_id = get_by_id(client, server, ids)
        figures["by_id_rate"] = by_id.rate
        figures["by_id_p50"] = percentile(by_id.latencies_ms, 0.50)
        figures["by_id_p99"] = percentile(by_id.latencies_ms, 0.99)

        progress(f"{server.name} @ {size:,}: paged read match[type]=indicator")
        filtered = repeated(
            lambda: paged_read(
                client,
                server,
                limit=options.page_limit,
                filters={"match[type]": "indicator"},
                expected=indicator_count(size),
            ),
            times=options.read_repeats,
            budget_s=options.read_budget_s,
        )
        figures["filtered_read"] = statistics.median(r.rate for r in filtered)
        figures["filtered_read_s"] = statistics.median(r.seconds for r in filtered)
        figures["filtered_read_tries"] = len(filtered)

        progress(f"{server.name} @ {size:,}: first page")
        first = first_page(
            client,
            server,
            limit=100,
            tries=options.first_page_tries,
            budget_s=options.first_page_budget_s,
        )
        figures["first_page"] = statistics.median(first.latencies_ms)
        figures["first_page_tries"] = first.count
    figures["peak_rss_mb"] = server.peak_rss_mb()
    return figures


def run_compare(
    sizes: Sequence[int],
    options: CompareOptions,
    credentials: Credentials,
    root: Path,
    kakehashi_src: Path | None = None,
    synchronous: str = "FULL",
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    starters: tuple[tuple[str, Callable[[Path, Credentials], Server], float], ...] = (
        (
            "kakehashi",
            functools.partial(start_kakehashi, src=kakehashi_src, synchronous=synchronous),
            60.0,
        ),
        ("medallion", start_medallion, options.medallion_timeout_s),
    )
    for size in sizes:
        row: dict[str, Any] = {"size": size}
        for name, start, timeout_s in starters:
            workdir = root / f"compare-{size}-{name}"
            workdir.mkdir()
            commit_ms = durable_commit_ms(workdir) if name == "kakehashi" else math.nan
            load = load_average()
            with start(workdir, credentials) as server:
                row[name] = measure_compare(server, size, options, timeout_s)
            row[name]["load_1m_before"] = load
            row[name]["commit_ms"] = commit_ms
            # The same envelopes from several clients at once, into a fresh server.
            workdir = root / f"compare-{size}-{name}-concurrent"
            workdir.mkdir()
            with start(workdir, credentials) as server:
                progress(f"{server.name} @ {size:,}: ingest, {CONCURRENT_CLIENTS} clients")
                bodies = build_envelopes(size, options.envelope)
                added = ingest(
                    server, bodies, size=size, clients=CONCURRENT_CLIENTS, timeout_s=timeout_s
                )
            row[name]["ingest_concurrent"] = added.rate
            row[name]["ingest_concurrent_server_cpu_share"] = added.server_cpu_share
        rows.append(row)
    return rows


# What one envelope of 100 makes Kakehashi write to the WAL at these sizes (measured
# from the WAL file: about 220 KB per envelope on average over 2,000 objects, mostly pages
# of the index on object ids, which random ids touch all over).
COMMIT_PAYLOAD = 200 * 1024
COMMIT_SAMPLES = 30


def durable_commit_ms(directory: Path, payload: int = COMMIT_PAYLOAD) -> float:
    """The median time of a SQLite commit of ``payload`` bytes with ``synchronous=FULL``
    in WAL mode, in ``directory``: the write and fsync that every acknowledged envelope
    waits for, on this disk, now (it varies a lot on a VM)."""
    path = directory / "commit-floor.db"
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("CREATE TABLE t (n INTEGER PRIMARY KEY, payload BLOB)")
        times: list[float] = []
        for _ in range(COMMIT_SAMPLES):
            started = time.perf_counter()
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO t (payload) VALUES (?)", (os.urandom(payload),))
            conn.execute("COMMIT")
            times.append((time.perf_counter() - started) * 1000)
    finally:
        conn.close()
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(OSError):
            Path(f"{path}{suffix}").unlink()
    return statistics.median(times)


def ingest_ceiling(compare: Sequence[dict[str, Any]], envelope: int) -> dict[str, Any] | None:
    """What one sequential client could reach at the largest size if everything but the
    durable commits were free, and that as a multiple of medallion's measured figure."""
    if not compare:
        return None
    largest = max(compare, key=lambda r: r["size"])
    commit_ms = largest["kakehashi"].get("commit_ms", math.nan)
    if not commit_ms > 0:
        return None
    best = envelope / (commit_ms / 1000)
    medallion = largest["medallion"]["ingest"]
    return {
        "size": largest["size"],
        "commit_ms": commit_ms,
        "max_objects_per_s": best,
        "max_ratio": best / medallion if medallion else math.nan,
    }


def ceiling_text(ceiling: dict[str, Any]) -> str:
    return (
        f"A durable commit of {COMMIT_PAYLOAD // 1024} KB (synchronous=FULL, WAL; about what"
        " one envelope of 100 writes) took"
        f" {fmt(ceiling['commit_ms'], 'ms')} ms on this disk just before Kakehashi's run at"
        f" {ceiling['size']:,} objects (median of {COMMIT_SAMPLES}). One client posting"
        " envelopes of 100, each answered only after its own commit, can therefore ingest at"
        f" most {fmt(ceiling['max_objects_per_s'])} objects/s even if HTTP, parsing,"
        f" validation and the inserts took no time: {fmt(ceiling['max_ratio'], 'x')}"
        " medallion's figure."
    )


# -- part two: Kakehashi at scale -------------------------------------------------------


@dataclass(frozen=True)
class ScaleOptions:
    envelope: int
    clients: int
    by_id_count: int
    first_page_tries: int
    #: ``None``: a fresh SQLite file per size; else a PostgreSQL server's URL, on which
    #: each size gets a fresh database (dropped afterwards unless ``keep``).
    postgres: str | None = None
    keep: bool = False


@contextlib.contextmanager
def fresh_postgres_database(server_url: str, name: str, *, keep: bool) -> Iterator[str]:
    """A new, empty database on the PostgreSQL server ``server_url`` names: its URL."""
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    parts = urllib.parse.urlsplit(server_url)
    try:
        yield urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        if not keep:
            with psycopg.connect(server_url, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgres_database_mb(database_url: str) -> float:
    import psycopg

    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    return float(row[0]) / (1024 * 1024) if row else math.nan


def run_scale(
    sizes: Sequence[int],
    options: ScaleOptions,
    credentials: Credentials,
    root: Path,
    kakehashi_src: Path | None = None,
    synchronous: str = "FULL",
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for size in sizes:
        workdir = root / f"scale-{size}"
        workdir.mkdir()
        figures: dict[str, Any] = {"size": size, "load_1m_before": load_average()}
        progress(f"building {size:,} objects in envelopes of {options.envelope:,}")
        bodies = build_envelopes(size, options.envelope)
        with contextlib.ExitStack() as stack:
            database = "sqlite:///hub.db"
            if options.postgres is not None:
                name = f"kakehashi_bench_{size}_{os.getpid()}"
                database = stack.enter_context(
                    fresh_postgres_database(options.postgres, name, keep=options.keep)
                )
            server = stack.enter_context(
                start_kakehashi(workdir, credentials, kakehashi_src, synchronous, database)
            )
            progress(f"kakehashi @ {size:,}: ingest, {options.clients} concurrent clients")
            added = ingest(server, bodies, size=size, clients=options.clients, timeout_s=600)
            del bodies
            figures["ingest"] = added.rate
            figures["ingest_s"] = added.seconds
            figures["ingest_server_cpu_share"] = added.server_cpu_share
            with make_client(server, 600) as client:
                progress(f"kakehashi @ {size:,}: full paged read, limit {MAX_PAGE_SIZE}")
                read = paged_read(client, server, limit=MAX_PAGE_SIZE, expected=size)
                figures["full_read"] = read.rate
                figures["full_read_s"] = read.seconds
                figures["full_read_server_cpu_share"] = read.server_cpu_share

                progress(f"kakehashi @ {size:,}: first pages")
                first = first_page(
                    client, server, limit=100, tries=options.first_page_tries, budget_s=120
                )
                figures["first_page_p50"] = percentile(first.latencies_ms, 0.50)
                figures["first_page_p99"] = percentile(first.latencies_ms, 0.99)
                big = first_page(
                    client,
                    server,
                    limit=MAX_PAGE_SIZE,
                    tries=max(5, options.first_page_tries // 5),
                    budget_s=120,
                )
                figures["first_page_1000_p50"] = percentile(big.latencies_ms, 0.50)
                typed = first_page(
                    client,
                    server,
                    limit=100,
                    tries=max(5, options.first_page_tries // 5),
                    budget_s=120,
                    filters={"match[type]": "malware"},
                )
                figures["first_page_malware_p50"] = percentile(typed.latencies_ms, 0.50)

                progress(f"kakehashi @ {size:,}: {options.by_id_count:,} GETs by random id")
                rng = random.Random(SEED + size)
                ids = [object_id(rng.randrange(size)) for _ in range(options.by_id_count)]
                by_id = get_by_id(client, server, ids)
                figures["by_id_rate"] = by_id.rate
                figures["by_id_p50"] = percentile(by_id.latencies_ms, 0.50)
                figures["by_id_p99"] = percentile(by_id.latencies_ms, 0.99)
            figures["peak_rss_mb"] = server.peak_rss_mb()
            if options.postgres is not None:
                figures["database"] = "postgresql"
                figures["db_mb"] = postgres_database_mb(database)
        if options.postgres is None:
            figures["database"] = "sqlite"
            figures["db_mb"] = sum(
                p.stat().st_size for p in workdir.glob("hub.db*") if p.is_file()
            ) / (1024 * 1024)
        rows.append(figures)
        progress(f"kakehashi @ {size:,}: done")
    return rows


# -- reporting --------------------------------------------------------------------------


def fmt(value: float, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if unit == "ms":
        return f"{value:,.1f}" if value >= 10 else f"{value:,.2f}"
    if unit == "x":
        return f"{value:,.0f}x" if value >= 100 else f"{value:,.1f}x"
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def ratio(metric: Metric, kakehashi: float, medallion: float) -> float:
    """>1 means Kakehashi is better, whatever the unit."""
    if metric.higher_is_better:
        return kakehashi / medallion if medallion else math.nan
    return medallion / kakehashi if kakehashi else math.nan


def compare_table(rows: Sequence[dict[str, Any]], kakehashi: str = "Kakehashi") -> str:
    lines = [
        f"| Objects | Figure | Unit | {kakehashi} | medallion | Ratio (>1: Kakehashi better) |",
        "|---:|---|---|---:|---:|---:|",
    ]
    for row in rows:
        for metric in COMPARE_METRICS:
            k = row["kakehashi"][metric.key]
            m = row["medallion"][metric.key]
            lines.append(
                f"| {row['size']:,} | {metric.label} | {metric.unit} | {fmt(k, metric.unit)}"
                f" | {fmt(m, metric.unit)} | {fmt(ratio(metric, k, m), 'x')} |"
            )
    return "\n".join(lines)


SCALE_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("ingest", "Ingest (objects/s)", ""),
    ("full_read", "Full read (objects/s)", ""),
    ("first_page_p50", "First page p50 (ms)", "ms"),
    ("first_page_p99", "First page p99 (ms)", "ms"),
    ("first_page_1000_p50", "First page, limit 1000, p50 (ms)", "ms"),
    ("first_page_malware_p50", "First page match[type]=malware p50 (ms)", "ms"),
    ("by_id_p50", "GET by id p50 (ms)", "ms"),
    ("by_id_p99", "GET by id p99 (ms)", "ms"),
    ("by_id_rate", "GET by id (requests/s)", ""),
    ("db_mb", "Database size (MB)", ""),
    ("load_1m_before", "Load average (1 min) before the run", ""),
)


def compare_loads(rows: Sequence[dict[str, Any]]) -> str:
    """One line on how busy the machine was before each server's run."""
    parts = [
        f"{row['size']:,}: Kakehashi {row['kakehashi']['load_1m_before']},"
        f" medallion {row['medallion']['load_1m_before']}"
        for row in rows
    ]
    return "Load average (1 min) before each server run: " + "; ".join(parts)


def scale_table(rows: Sequence[dict[str, Any]]) -> str:
    header = "| Figure | " + " | ".join(f"{r['size']:,} objects" for r in rows) + " |"
    lines = [header, "|---|" + "---:|" * len(rows)]
    for key, label, unit in SCALE_COLUMNS:
        cells = " | ".join(fmt(r[key], unit) for r in rows)
        lines.append(f"| {label} | {cells} |")
    return "\n".join(lines)


def evaluate_targets(
    compare: Sequence[dict[str, Any]], scale: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The issue's targets, each with the measured value and whether it is met."""
    targets: list[dict[str, Any]] = []
    if compare:
        largest = max(compare, key=lambda r: r["size"])
        for metric in COMPARE_METRICS:
            if not metric.target:
                continue
            value = ratio(
                metric, largest["kakehashi"][metric.key], largest["medallion"][metric.key]
            )
            targets.append(
                {
                    "target": f"{metric.label} at {largest['size']:,}: >= 20x medallion",
                    "measured": fmt(value, "x"),
                    "met": bool(value >= 20),
                }
            )
    baseline: dict[str, Any] | None = None
    if compare:
        near = min(compare, key=lambda r: abs(r["size"] - 1000))
        baseline = {"size": near["size"], **near["kakehashi"]}
    for row in scale:
        size = f"{row['size']:,}"
        checks: list[tuple[str, float, bool, str]] = [
            ("ingest >= 10,000 objects/s", row["ingest"], row["ingest"] >= 10_000, ""),
            ("full read >= 50,000 objects/s", row["full_read"], row["full_read"] >= 50_000, ""),
            ("first page p50 < 10 ms", row["first_page_p50"], row["first_page_p50"] < 10, "ms"),
            ("GET by id p50 < 10 ms", row["by_id_p50"], row["by_id_p50"] < 10, "ms"),
        ]
        for label, value, met, unit in checks:
            shown = fmt(value, unit) + (" ms" if unit else "")
            targets.append({"target": f"at {size}: {label}", "measured": shown, "met": bool(met)})
        if baseline is not None:
            for key, label, small_key in (
                ("first_page_p50", "first page p50", "first_page"),
                ("by_id_p50", "GET by id p50", "by_id_p50"),
            ):
                small = float(baseline[small_key])
                # "The same" within measurement noise: at most 1.5x, or 1 ms more.
                met = row[key] <= max(1.5 * small, small + 1.0)
                targets.append(
                    {
                        "target": f"at {size}: {label} as at {baseline['size']:,} objects",
                        "measured": f"{fmt(row[key], 'ms')} ms vs {fmt(small, 'ms')} ms",
                        "met": bool(met),
                    }
                )
    return targets


def targets_table(targets: Sequence[dict[str, Any]]) -> str:
    lines = ["| Target | Measured | Met |", "|---|---:|:---:|"]
    for t in targets:
        lines.append(f"| {t['target']} | {t['measured']} | {'yes' if t['met'] else 'NO'} |")
    return "\n".join(lines)


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _git(repo: Path, *args: str) -> str:
    """A read-only git query in ``repo``; "" when git or the repository is missing."""
    done = subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, timeout=10, check=False
    )
    return done.stdout.strip()


def environment() -> dict[str, Any]:
    cpu_model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    memory_gb = math.nan
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_gb = int(line.split()[1]) / 1024 / 1024
                break
    commit = ""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        repo = Path(__file__).resolve().parent.parent
        commit = _git(repo, "rev-parse", "--short", "HEAD")
        if _git(repo, "status", "--porcelain", "--", "src"):
            commit += " (with uncommitted changes under src/)"
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpu": cpu_model,
        "nproc": len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "memory_gb": round(memory_gb, 1),
        "sqlite": sqlite3.sqlite_version,
        "git_commit": commit,
        "versions": {
            name: _version(name)
            for name in (
                "kakehashi",
                "medallion",
                "httpx",
                "uvicorn",
                "starlette",
                "flask",
                "werkzeug",
                "h11",
                "httptools",
                "uvloop",
            )
        },
    }


def print_environment(env: dict[str, Any]) -> None:
    versions = ", ".join(f"{k} {v}" for k, v in env["versions"].items())
    print(f"Python {env['python']} ({env['implementation']}) on {env['platform']}")
    print(
        f"Machine: {env['nproc']} CPUs ({env['cpu']}), {env['memory_gb']} GB;"
        f" SQLite {env['sqlite']}"
    )
    print(f"Versions: {versions}")
    if env["git_commit"]:
        print(f"Repository HEAD: {env['git_commit']}")


# -- command line -----------------------------------------------------------------------


def parse_sizes(text: str) -> list[int]:
    try:
        sizes = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list") from exc
    if any(size <= 0 for size in sizes):
        raise argparse.ArgumentTypeError("sizes must be positive")
    return sizes


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Benchmark Kakehashi against medallion 3.0.0, then Kakehashi at scale.",
    )
    parser.add_argument(
        "--compare-sizes",
        type=parse_sizes,
        default=None,
        help="Part one collection sizes (default 500,1000,2000; --quick: 100,200).",
    )
    parser.add_argument(
        "--sizes",
        type=parse_sizes,
        default=None,
        help="Part two sizes, Kakehashi alone (default 100000; --quick: 5000).",
    )
    parser.add_argument("--quick", action="store_true", help="A fast smoke run at small sizes.")
    parser.add_argument("--skip-compare", action="store_true", help="Skip part one.")
    parser.add_argument("--skip-scale", action="store_true", help="Skip part two.")
    parser.add_argument(
        "--clients", type=int, default=4, help="Concurrent ingest clients in part two."
    )
    parser.add_argument(
        "--kakehashi-src",
        type=Path,
        default=None,
        help="Serve Kakehashi from this source folder (the 'src' of a checkout or of a"
        " 'git archive' export) instead of the installed package.",
    )
    parser.add_argument(
        "--sqlite-synchronous",
        choices=("FULL", "NORMAL"),
        default="FULL",
        help="Kakehashi's SQLite synchronous mode (default FULL, durable against power loss)."
        " NORMAL is an opt-in that may lose the last acknowledged writes in a power cut;"
        " every Kakehashi figure of such a run is labelled with it.",
    )
    parser.add_argument(
        "--postgres",
        metavar="URL",
        default=None,
        help="Run part two on this PostgreSQL server (a postgresql:// URL whose user may"
        " create databases): each size gets a fresh database, dropped afterwards unless"
        " --keep. Default: a fresh SQLite file. Part one always uses SQLite.",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="Where the servers' files go (default: a temporary directory, removed after).",
    )
    parser.add_argument(
        "--keep", action="store_true", help="Keep the working directory (databases, logs)."
    )
    parser.add_argument(
        "--results-dir", type=Path, default=RESULTS_DIR, help="Where the JSON results go."
    )
    return parser


def _raise_on_sigterm(signum: int, _frame: object) -> None:
    # Turn SIGTERM into SystemExit so that every `with Server(...)` stops its process.
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_on_sigterm)
    compare_sizes = args.compare_sizes or ([100, 200] if args.quick else [500, 1000, 2000])
    scale_sizes = args.sizes or ([5000] if args.quick else [100_000])
    compare_options = CompareOptions(
        envelope=100,
        page_limit=100,
        by_id_count=50 if args.quick else 200,
        first_page_tries=5 if args.quick else 20,
        first_page_budget_s=10 if args.quick else 60,
        medallion_timeout_s=900,
    )
    scale_options = ScaleOptions(
        envelope=1000,
        clients=args.clients,
        by_id_count=200 if args.quick else 1000,
        first_page_tries=20 if args.quick else 100,
        postgres=args.postgres,
        keep=args.keep,
    )
    env = environment()
    started = datetime.now(UTC)
    print_environment(env)
    print(f"Command: {' '.join([Path(sys.argv[0]).name, *(argv or sys.argv[1:])])}")
    shown_src = args.kakehashi_src or "the installed package"
    print(f"Kakehashi served from: {shown_src}")
    synchronous = args.sqlite_synchronous
    kakehashi_label = "Kakehashi"
    if synchronous != "FULL":
        kakehashi_label = f"Kakehashi (synchronous={synchronous}, opt-in)"
        print(
            f"Kakehashi's SQLite runs with synchronous={synchronous}: an acknowledged write"
            " survives a crash of the hub but not a power cut. Not the durable default."
        )
    print(f"Started: {started.isoformat(timespec='seconds')}", flush=True)

    credentials = Credentials(USERNAME, secrets.token_urlsafe(24))
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
        root = Path(tempfile.mkdtemp(prefix="taxii-bench-", dir=args.workdir))
    else:
        root = Path(tempfile.mkdtemp(prefix="kakehashi-taxii-bench-"))
    results: dict[str, Any] = {
        "started": started.isoformat(timespec="seconds"),
        "command": [Path(sys.argv[0]).name, *(argv or sys.argv[1:])],
        "environment": env,
        "workload": {
            "objects": f"indicators, every {MALWARE_EVERY}th object a malware SDO",
            "compare": asdict(compare_options),
            "scale": asdict(scale_options),
            "max_page_size": MAX_PAGE_SIZE,
        },
        "kakehashi_src": str(args.kakehashi_src) if args.kakehashi_src else "installed package",
        "sqlite_synchronous": synchronous,
        "compare": [],
        "scale": [],
    }
    try:
        if not args.skip_compare:
            print(
                "\nPart one: Kakehashi vs medallion at"
                f" {', '.join(f'{s:,}' for s in compare_sizes)}"
            )
            results["compare"] = run_compare(
                compare_sizes,
                compare_options,
                credentials,
                root,
                args.kakehashi_src,
                synchronous=synchronous,
            )
            print()
            print(compare_table(results["compare"], kakehashi_label))
            ceiling = ingest_ceiling(results["compare"], compare_options.envelope)
            results["ingest_ceiling"] = ceiling
            if ceiling is not None:
                print()
                print(ceiling_text(ceiling))
            print()
            print(compare_loads(results["compare"]))
        if not args.skip_scale:
            where = "PostgreSQL" if args.postgres else "SQLite"
            print(
                f"\nPart two: Kakehashi alone at {', '.join(f'{s:,}' for s in scale_sizes)},"
                f" on {where}"
            )
            results["scale"] = run_scale(
                scale_sizes,
                scale_options,
                credentials,
                root,
                args.kakehashi_src,
                synchronous=synchronous,
            )
            print()
            print(scale_table(results["scale"]))
        results["targets"] = evaluate_targets(results["compare"], results["scale"])
        loads = [r["load_1m_before"] for r in results["scale"]] + [
            r[name]["load_1m_before"]
            for r in results["compare"]
            for name in ("kakehashi", "medallion")
        ]
        busiest = max(loads, default=0.0)
        if busiest > 0.5 * (env["nproc"] or 1):
            print(
                f"\nWARNING: the 1-minute load average reached {busiest} before a run: other"
                " work shared the CPUs, so these figures are pessimistic."
            )
        print("\nTargets" + ("" if synchronous == "FULL" else f" ({kakehashi_label})"))
        print(targets_table(results["targets"]))
    finally:
        finished = datetime.now(UTC)
        results["finished"] = finished.isoformat(timespec="seconds")
        results["duration_s"] = round((finished - started).total_seconds(), 1)
        args.results_dir.mkdir(parents=True, exist_ok=True)
        out = args.results_dir / f"taxii-{started.strftime('%Y%m%dT%H%M%SZ')}.json"
        out.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
        print(f"\nResults: {out} ({results['duration_s']:.0f} s)")
        if args.keep:
            print(f"Kept: {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"taxii_bench: {exc}", file=sys.stderr)
        sys.exit(1)
