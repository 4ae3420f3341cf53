"""Any TAXII 2.1 server is a peer: hub B pulls from medallion 3.0.0 (the OASIS reference
server, memory backend) running as a real process on loopback."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import httpx
import pytest

from serial.hubproc import _free_port
from stixgen import indicator, ipv4, malware

from .conftest import Federation
from .fedhub import TAXII, basic, sync_once, token
from .topology import B_LOCAL, HUB_A_TOKEN_ENV, hub_b

pytestmark = [
    pytest.mark.serial,
    pytest.mark.skipif(
        find_spec("medallion") is None,
        reason="needs medallion==3.0.0 (pip install medallion==3.0.0; the bench extra has it)",
    ),
]

API_ROOT = "api1"
COLLECTION = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"
USER = "b-sync"
PAGE = 4  # medallion's max_page_size: several pages, followed with `next`
B_ENV = {HUB_A_TOKEN_ENV: token(USER)}


class Medallion:
    """``python -m medallion.scripts.run`` with a memory backend, on a free port."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / "medallion.log"

    @property
    def discovery(self) -> str:
        return f"http://127.0.0.1:{self.port}/taxii2/"

    @property
    def objects_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/{API_ROOT}/collections/{COLLECTION}/objects/"

    def _config(self) -> Path:
        base = f"http://127.0.0.1:{self.port}"
        data = {
            "/discovery": {
                "title": "medallion peer",
                "default": f"{base}/{API_ROOT}/",
                "api_roots": [f"{base}/{API_ROOT}/"],
            },
            API_ROOT: {
                "information": {
                    "title": "A foreign TAXII server",
                    "versions": [TAXII],
                    "max_content_length": 10_000_000,
                },
                "status": [],
                "collections": [
                    {
                        "id": COLLECTION,
                        "title": "Indicators",
                        "can_read": True,
                        "can_write": True,
                        "media_types": ["application/stix+json;version=2.1"],
                        "objects": [],
                        "manifest": [],
                    }
                ],
            },
        }
        data_path = self.workdir / "medallion-data.json"
        data_path.write_text(json.dumps(data), encoding="utf-8")
        config = {
            "backend": {
                "module": "medallion.backends.memory_backend",
                "module_class": "MemoryBackend",
                "filename": str(data_path),
            },
            "users": {USER: token(USER)},
            "taxii": {"max_page_size": PAGE},
        }
        path = self.workdir / "medallion.json"
        path.write_text(json.dumps(config), encoding="utf-8")
        return path

    def start(self) -> None:
        for _ in range(3):
            self.port = _free_port()
            argv = [sys.executable, "-m", "medallion.scripts.run", "--host", "127.0.0.1"]
            argv += ["--port", str(self.port), str(self._config())]
            with self.log_path.open("ab") as log:
                self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
            deadline = time.monotonic() + 20
            with httpx.Client(timeout=2.0) as client:
                while time.monotonic() < deadline and self.process.poll() is None:
                    try:
                        response = client.get(self.discovery, headers=basic(USER))
                    except httpx.TransportError:
                        time.sleep(0.05)
                        continue
                    assert response.status_code == 200, response.text
                    return
            self.stop()  # the port was taken, or it did not come up: try another
        raise RuntimeError(f"medallion did not start:\n{self.log_path.read_text()}")

    def post(self, objects: list[dict[str, Any]]) -> None:
        response = httpx.post(
            self.objects_url,
            content=json.dumps({"objects": objects}).encode(),
            headers={**basic(USER), "Content-Type": TAXII},
            timeout=30.0,
        )
        assert response.status_code == 202, response.text
        status = response.json()
        assert (status["status"], status["failure_count"]) == ("complete", 0), status

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def medallion(tmp_path: Path) -> Iterator[Medallion]:
    server = Medallion(tmp_path)
    server.start()
    yield server
    server.stop()
    print(f"--- medallion log tail ---\n{server.log_path.read_text(errors='replace')[-3000:]}")


def test_kakehashi_pulls_everything_from_medallion_once(
    federation: Federation, medallion: Medallion
) -> None:
    first = [indicator(n) for n in range(100, 110)]
    second = [indicator(n, version=1) for n in range(100, 105)]
    others = [malware(1), ipv4(1)]
    # Three POSTs: medallion gives every object of one POST the same date_added.
    for envelope in (first, second, others):
        medallion.post(envelope)

    b_config = federation.config(
        "b", hub_b(federation.database("b"), a_url=medallion.discovery, pull=(COLLECTION,))
    )
    b = federation.start(b_config, env=B_ENV, sync=False)
    (line,) = sync_once(b_config, B_ENV)
    assert (line.direction, line.remote, line.local) == ("pull", COLLECTION, B_LOCAL)
    assert (line.moved, line.error) == (17, "")

    served = federation.taxii(b, "bob", B_LOCAL).manifest()
    assert sum(served.values()) == 17
    versioned = {(o["id"], o["modified"]) for o in (*first, *second, others[0])}
    assert versioned <= set(served)
    # The SCO has no version of its own: it is dated when this hub added it.
    assert {object_id for object_id, _ in set(served) - versioned} == {others[1]["id"]}
    # Stored exactly as medallion served it, with where it came from.
    assert federation.query(
        "b", "SELECT DISTINCT origin, origin_collection, received_by, author FROM objects"
    ) == [("hub-a", COLLECTION, "cert-b", "cert-a")]

    # A second pass stores nothing new.
    (again,) = sync_once(b_config, B_ENV)
    assert (again.moved, again.error) == (0, "")
    assert federation.taxii(b, "bob", B_LOCAL).manifest() == served
    assert federation.query("b", "SELECT COUNT(*) FROM objects") == [(17,)]

    # What medallion gets afterwards arrives at the next pass, alone.
    late = [indicator(n, version=2) for n in range(100, 102)]
    medallion.post(late)
    (third,) = sync_once(b_config, B_ENV)
    assert (third.moved, third.error) == (2, "")
    assert federation.query("b", "SELECT COUNT(*) FROM objects") == [(19,)]
