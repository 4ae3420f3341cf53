"""Shared fixtures: real stores (a SQLite file, a PostgreSQL database), real apps.

The ``store`` fixture is parametrised over both backends, so every test that uses it
(directly or through ``client``) runs on SQLite and on PostgreSQL. PostgreSQL comes from
``KAKEHASHI_TEST_POSTGRES_DSN`` (``make test`` starts a throwaway server); without it the
PostgreSQL half is skipped, unless ``KAKEHASHI_REQUIRE_POSTGRES=1`` (CI) makes it fail.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from kakehashi.api import create_app
from kakehashi.config import Settings, parse_settings
from kakehashi.store import Store
from kakehashi.store.postgres import PostgresStore
from kakehashi.store.sqlite import SqliteStore

TOKENS = {
    "alice": "alice-token-0123456789",
    "bob": "bob-token-0123456789",
    "dave": "dave-token-0123456789",
}
COLLECTION = "9e5c7a1b-3f2d-4e8a-b6c4-1d0f2a3b4c5d"
PRIVATE_COLLECTION = "4d1c2b3a-9e8f-4a7b-8c6d-5e4f3a2b1c0d"
WRITE_ONLY_COLLECTION = "6a5b4c3d-2e1f-4a0b-9c8d-7e6f5a4b3c2d"
API_ROOT = "exchange"
TAXII = "application/taxii+json;version=2.1"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# The minimal file from the hub issue, verbatim but for the digests, plus two collections
# that exercise the permission edges and a third organisation.
CONFIG_TEXT = f"""
[hub]
title = "Kakehashi test hub"
database = "sqlite:///hub.db"   # relative to this file; or postgresql://user@host:port/db
max_page_size = 50

[[organizations]]
key = "cert-a"
name = "CERT A"
identity = "identity--5f0e7a3c-2a71-4bb2-9e9b-0c2f1d8a6b11"

[[organizations]]
key = "cert-b"
name = "CERT B"
identity = "identity--a8d3c6f2-7d1e-4c55-8a0b-3e6f9b2c4d22"

[[organizations]]
key = "cert-d"
name = "CERT D"
identity = "identity--d4d4d4d4-7d1e-4c55-8a0b-3e6f9b2c4d22"

[[accounts]]
username = "alice"
organization = "cert-a"
token_sha256 = "{_digest(TOKENS["alice"])}"

[[accounts]]
username = "bob"
organization = "cert-b"
token_sha256 = "{_digest(TOKENS["bob"])}"

[[accounts]]
username = "dave"
organization = "cert-d"
token_sha256 = "{_digest(TOKENS["dave"])}"

[[api_roots]]
name = "exchange"
title = "Exchange"

[[collections]]
id = "{COLLECTION}"
api_root = "exchange"
title = "Shared indicators"
can_read = ["cert-a", "cert-b"]
can_write = ["cert-a"]

[[collections]]
id = "{PRIVATE_COLLECTION}"
api_root = "exchange"
title = "CERT A only"
alias = "a-only"
can_read = ["cert-a"]
can_write = ["cert-a"]

[[collections]]
id = "{WRITE_ONLY_COLLECTION}"
api_root = "exchange"
title = "Drop box"
can_read = ["cert-a"]
can_write = ["cert-a", "cert-b"]
"""


def basic(user: str) -> dict[str, str]:
    """Headers for HTTP Basic with the user's token, as taxii2-client sends them."""
    raw = f"{user}:{TOKENS[user]}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode(), "Accept": TAXII}


def bearer(user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[user]}", "Accept": TAXII}


def post_headers(user: str) -> dict[str, str]:
    return {**basic(user), "Content-Type": TAXII}


@pytest.fixture
def config_text() -> str:
    return CONFIG_TEXT


@pytest.fixture
def settings(tmp_path: Path, config_text: str) -> Settings:
    return parse_settings(config_text, base_dir=tmp_path, environ={})


def _postgres_required() -> bool:
    return os.environ.get("KAKEHASHI_REQUIRE_POSTGRES") == "1"


@pytest.fixture(scope="session")
def postgres_dsn(worker_id: str) -> Iterator[str | None]:
    """A database of this test worker's own on the test server, or None."""
    admin_dsn = os.environ.get("KAKEHASHI_TEST_POSTGRES_DSN")
    if not admin_dsn:
        yield None
        return
    import psycopg
    from psycopg.conninfo import make_conninfo

    name = f"kakehashi_test_{worker_id}".replace("-", "_")
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    yield make_conninfo(admin_dsn, dbname=name)
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _need_postgres(dsn: str | None) -> str:
    if dsn is None:
        message = "PostgreSQL tests need KAKEHASHI_TEST_POSTGRES_DSN (make test starts one)"
        if _postgres_required():
            pytest.fail(message)
        pytest.skip(message)
    return dsn


def make_store(backend: str, tmp_path: Path, postgres_dsn: str | None) -> Store:
    """An opened, empty store of the given backend."""
    if backend == "sqlite":
        store: Store = SqliteStore(tmp_path / "hub.db")
        store.open()
        return store
    dsn = _need_postgres(postgres_dsn)
    pg = PostgresStore(dsn, pool_size=4)
    pg.open()
    reset_postgres(dsn)
    return pg


def reset_postgres(dsn: str) -> None:
    """Empty every table of a migrated PostgreSQL test database."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "TRUNCATE objects, collection_clock, statuses, object_recipients, audit_log,"
            " sync_state, advisories, known_exploited, asset_sources, assets"
        )
        conn.execute("UPDATE audit_head SET seq = 0, hash = %s WHERE id = 1", ("0" * 64,))


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store(backend: str, tmp_path: Path, postgres_dsn: str | None) -> Iterator[Store]:
    opened = make_store(backend, tmp_path, postgres_dsn)
    yield opened
    opened.close()


@pytest.fixture
def client(settings: Settings, store: Store) -> Iterator[TestClient]:
    app = create_app(settings, store, manage_store=False)
    with TestClient(app, base_url="http://hub.test", raise_server_exceptions=False) as test_client:
        yield test_client


def objects_url(collection: str = COLLECTION) -> str:
    return f"/{API_ROOT}/collections/{collection}/objects/"


def envelope(*objects: dict[str, Any]) -> dict[str, Any]:
    return {"objects": list(objects)}


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port in a thread; yields its base URL
    (``http://127.0.0.1:PORT``). Real sockets, real HTTP."""
    import threading
    import time

    import uvicorn

    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:  # a wait for start-up, not a timed assertion
        assert thread.is_alive(), "the hub stopped while starting"
        assert time.monotonic() < deadline, "the hub did not start"
        time.sleep(0.01)
    (socket,) = server.servers[0].sockets
    try:
        yield f"http://127.0.0.1:{socket.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join()
