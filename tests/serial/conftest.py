"""Fixtures that run real ``kakehashi serve`` processes on real sockets.

``backend`` is parametrised over SQLite (a file in ``tmp_path``) and PostgreSQL (this
worker's database from the ``postgres_dsn`` session fixture, emptied first); PostgreSQL is
skipped without ``KAKEHASHI_TEST_POSTGRES_DSN`` and fails instead under
``KAKEHASHI_REQUIRE_POSTGRES=1``, as for the ``store`` fixture. Every process a test
starts is stopped on teardown, and the tail of its log is printed (pytest shows it when
the test fails).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from conftest import _need_postgres

from .hubproc import HubProcess, config_with_database, postgres_url

StartHub = Callable[..., HubProcess]

_COMPLAINT = re.compile(r"Traceback|\b(ERROR|CRITICAL|WARNING)\b")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _empty_postgres(dsn: str) -> None:
    """Empty the hub's tables, as ``conftest.make_store`` does (the hub creates them)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute("SELECT to_regclass('objects')").fetchone()
        if row is not None and row[0] is not None:
            conn.execute("TRUNCATE objects, collection_clock, statuses")


@pytest.fixture
def database_url(backend: str, tmp_path: Path, postgres_dsn: str | None) -> str:
    """The ``[hub] database`` URL of this test: a fresh SQLite file or an empty database."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'hub.db'}"  # sqlite:////abs/path: absolute
    dsn = _need_postgres(postgres_dsn)
    _empty_postgres(dsn)
    return postgres_url(dsn)


@pytest.fixture
def hub_config(tmp_path: Path, config_text: str, database_url: str) -> Path:
    """``hub.toml``: CONFIG_TEXT with ``database`` pointing at this test's database."""
    path = tmp_path / "hub.toml"
    path.write_text(config_with_database(config_text, database_url), encoding="utf-8")
    return path


@pytest.fixture
def start_hub(tmp_path: Path) -> Iterator[StartHub]:
    """Start ``kakehashi serve`` on a config file; ``wait=False`` only launches it."""
    started: list[HubProcess] = []

    def start(config: Path, *, wait: bool = True) -> HubProcess:
        hub = HubProcess(config, tmp_path / f"hub-{len(started)}.log")
        started.append(hub)
        if wait:
            hub.start()
        else:
            hub.launch()
        return hub

    yield start
    for hub in started:
        hub.stop()
    complaints: list[str] = []
    for number, hub in enumerate(started):
        print(f"--- hub-{number} (port {hub.port}) log tail ---\n{hub.log_tail()}")
        text = hub.log_path.read_text(errors="replace") if hub.log_path.exists() else ""
        complaints += [
            line
            for line in text.splitlines()
            if _COMPLAINT.search(line) and "address already in use" not in line
        ]
    # A hub that logged an error or a traceback misbehaved, even if every answer was right
    # (a launch that lost its port to another process is retried, and not counted).
    assert not complaints, "\n".join(complaints)


@pytest.fixture
def hub(hub_config: Path, start_hub: StartHub) -> HubProcess:
    """One running hub on this test's database."""
    return start_hub(hub_config)
