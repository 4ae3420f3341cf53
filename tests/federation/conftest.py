"""The ``federation`` fixture: several hubs, each a ``kakehashi serve`` process with its own
configuration and database, stopped on teardown with their logs printed.

A hub's database is a SQLite file under ``tmp_path`` or, when a test asks for the
``postgres`` backend (``fed_backend``, parametrised indirectly), a database of its own
created on the test server from the admin DSN ``KAKEHASHI_TEST_POSTGRES_DSN`` and dropped
afterwards. A hub that logs a warning, an error or a traceback fails the test unless the
test said that line was expected (``tolerate``: regular expressions).
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from conftest import _need_postgres
from serial.hubproc import postgres_url

from .fedhub import PeerHub, Taxii

_COMPLAINT = re.compile(r"Traceback|\b(ERROR|CRITICAL|WARNING)\b")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "slow: a long real-process test (tens of seconds); still part of make test"
    )


class Federation:
    """The hubs of one test.

    Args:
        tmp_path: where configurations, SQLite files and logs go.
        backend: ``"sqlite"`` or ``"postgres"``.
        admin_dsn: the PostgreSQL server's admin connection string (for ``postgres``).
        worker: the xdist worker id, so that parallel workers use different databases.
    """

    def __init__(self, tmp_path: Path, backend: str, admin_dsn: str | None, worker: str) -> None:
        self.tmp_path = tmp_path
        self.backend = backend
        self.admin_dsn = admin_dsn
        self.worker = worker.replace("-", "_")
        self.hubs: list[PeerHub] = []
        self._postgres: dict[str, str] = {}  # hub name -> libpq conninfo
        self._clients: list[Taxii] = []

    def database(self, name: str) -> str:
        """The ``[hub] database`` URL for hub ``name``: a new, empty database."""
        (self.tmp_path / name).mkdir(exist_ok=True)
        if self.backend == "sqlite":
            return f"sqlite:///{self.tmp_path / name / 'hub.db'}"
        assert self.admin_dsn is not None
        dbname = f"kkfed_{self.worker}_{name}".replace("-", "_")
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{dbname}"')
        conninfo = make_conninfo(self.admin_dsn, dbname=dbname)
        self._postgres[name] = conninfo
        return postgres_url(conninfo)

    def config(self, name: str, text: str) -> Path:
        folder = self.tmp_path / name
        folder.mkdir(exist_ok=True)
        path = folder / "hub.toml"
        path.write_text(text, encoding="utf-8")
        return path

    def start(
        self,
        config: Path,
        *,
        env: Mapping[str, str] | None = None,
        sync: bool = True,
        port: int = 0,
        tolerate: Sequence[str] = (),
        wait: bool = True,
    ) -> PeerHub:
        """Start ``kakehashi serve`` on ``config`` (``--sync`` unless ``sync=False``)."""
        name = config.parent.name
        hub = PeerHub(
            config,
            self.tmp_path / f"{name}-{len(self.hubs)}.log",
            env=env,
            sync=sync,
            port=port,
            tolerate=tolerate,
        )
        self.hubs.append(hub)
        if wait:
            hub.start(attempts=1 if port else 3)
        else:
            hub.launch()
        return hub

    def taxii(self, hub: PeerHub, user: str, collection: str) -> Taxii:
        """A TAXII client of ``user`` for one collection of ``hub`` (closed on teardown)."""
        client = Taxii(hub.base_url, user, collection)
        self._clients.append(client)
        return client

    def query(self, name: str, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows from hub ``name``'s database, read directly (read-only for SQLite)."""
        if name in self._postgres:
            with psycopg.connect(self._postgres[name], autocommit=True) as conn:
                return [tuple(row) for row in conn.execute(sql.replace("?", "%s"), params)]
        uri = f"file:{self.tmp_path / name / 'hub.db'}?mode=ro"
        with closing(sqlite3.connect(uri, uri=True, timeout=30)) as conn:
            return [tuple(row) for row in conn.execute(sql, params)]

    def close(self) -> list[str]:
        """Stop every hub (last started first), print the logs' tails, drop the databases;
        return the unexpected complaints found in the logs."""
        for client in self._clients:
            client.close()
        # SIGKILL: how hubs stop is not what these tests are about (test_shutdown.py is),
        # and a graceful stop would race with the peers' retries.
        for hub in reversed(self.hubs):
            hub.kill()
        complaints: list[str] = []
        for hub in self.hubs:
            print(f"--- {hub.log_path.name} (port {hub.port}) log tail ---\n{hub.log_tail(60)}")
            for line in hub.log_text().splitlines():
                if _COMPLAINT.search(line) and not any(
                    re.search(pattern, line) for pattern in hub.tolerate
                ):
                    complaints.append(f"{hub.log_path.name}: {line}")
        if self._postgres and self.admin_dsn is not None:
            with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
                for conninfo in self._postgres.values():
                    dbname = conninfo_to_dict(conninfo)["dbname"]
                    conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        return complaints


@pytest.fixture
def fed_backend(request: pytest.FixtureRequest) -> str:
    """``sqlite`` unless a test parametrises it (indirectly) with ``postgres``."""
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture
def federation(tmp_path: Path, fed_backend: str, worker_id: str) -> Iterator[Federation]:
    admin_dsn: str | None = None
    if fed_backend == "postgres":
        admin_dsn = _need_postgres(os.environ.get("KAKEHASHI_TEST_POSTGRES_DSN"))
    fed = Federation(tmp_path, fed_backend, admin_dsn, worker_id)
    try:
        yield fed
    finally:
        complaints = fed.close()
    # A hub that logged an error or a traceback misbehaved, even if every answer was right.
    assert not complaints, "\n".join(complaints)
