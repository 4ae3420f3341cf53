"""Indicators from a real hub, Sightings back to it: ``match --indicators URL --report-to URL``.

The hub is the Kakehashi app built from the shared fixtures (``settings``, ``store``),
served by uvicorn on 127.0.0.1 in a background thread: real sockets, real HTTP.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from conftest import API_ROOT, COLLECTION, TOKENS, basic, post_headers, serving
from kakehashi.api import create_app
from kakehashi.config import Settings
from kakehashi.match.command import match_command
from kakehashi.store import Store

from .helpers import indicator

pytestmark = pytest.mark.serial

FIXTURES = Path(__file__).parent / "fixtures"
CERT_A = "identity--5f0e7a3c-2a71-4bb2-9e9b-0c2f1d8a6b11"


@pytest.fixture
def hub(settings: Settings, store: Store) -> Iterator[str]:
    """The hub's base URL while it serves."""
    with serving(create_app(settings, store, manage_store=False)) as base:
        yield base


def test_indicators_from_the_hub_and_sightings_back(hub: str) -> None:
    collection = f"{hub}/{API_ROOT}/collections/{COLLECTION}/"
    indicators = [
        indicator(1, "[ipv4-addr:value = '198.51.100.7']"),
        indicator(2, "[domain-name:value = 'evil.example.com']"),
        indicator(3, "[ipv4-addr:value = '192.0.2.250']"),  # seen nowhere
        indicator(4, "[ipv4-addr:value = '203.0.113.9'", name="a broken pattern"),
        indicator(
            5, "[ipv4-addr:value = '10.0.0.5']", revoked=True, modified="2024-01-02T00:00:00.000Z"
        ),
    ]
    with httpx.Client() as client:
        posted = client.post(
            f"{collection}objects/",
            headers=post_headers("alice"),
            content=json.dumps({"objects": indicators}),
        )
        assert posted.status_code == 202, posted.text
        assert posted.json()["success_count"] == 5

        result = CliRunner().invoke(
            match_command,
            [
                "--indicators",
                collection,
                "--report-to",
                collection,
                "--user",
                "alice",
                "--identity",
                CERT_A,
                "--identity-name",
                "CERT A",
                str(FIXTURES / "conn.log"),
                str(FIXTURES / "dns.log"),
            ],
            env={"KAKEHASHI_TOKEN": TOKENS["alice"]},
        )
        assert result.exit_code == 0, result.output
        assert result.stdout == ""  # --report-to without --output: nothing on stdout
        assert "Indicators: 5 (latest versions of 5 read), 3 compiled, 2 skipped" in result.stderr
        assert f"Posted 3 object(s) to {collection}: 3 stored" in result.stderr
        assert TOKENS["alice"] not in result.output

        # bob (cert-b) reads the collection: the Sightings are there, by CERT A
        stored = client.get(
            f"{collection}objects/", params={"match[type]": "sighting"}, headers=basic("bob")
        )
        assert stored.status_code == 200
        sightings = {o["sighting_of_ref"]: o for o in stored.json()["objects"]}
        assert set(sightings) == {indicators[0]["id"], indicators[1]["id"]}
        ip_sighting = sightings[indicators[0]["id"]]
        assert ip_sighting["count"] == 2  # conn.log and the dns.log answer
        assert ip_sighting["where_sighted_refs"] == [CERT_A]
        assert ip_sighting["first_seen"] == "2024-01-01T00:00:00.000000Z"
        assert ip_sighting["last_seen"] == "2024-01-01T00:00:05.500000Z"
        assert sightings[indicators[1]["id"]]["count"] == 1
        identity = client.get(f"{collection}objects/{CERT_A}/", headers=basic("bob"))
        assert identity.json()["objects"][0]["name"] == "CERT A"


def test_a_hub_that_refuses_the_token(hub: str) -> None:
    collection = f"{hub}/{API_ROOT}/collections/{COLLECTION}/"
    result = CliRunner().invoke(
        match_command,
        ["--indicators", collection, "--identity", CERT_A, str(FIXTURES / "conn.log")],
        env={"KAKEHASHI_TOKEN": "wrong-token"},
    )
    assert result.exit_code == 7
    assert "HTTP 401" in result.stderr
    assert "wrong-token" not in result.output


def test_a_windowed_rerun_posts_new_versions_of_the_same_sightings(hub: str) -> None:
    collection = f"{hub}/{API_ROOT}/collections/{COLLECTION}/"
    ip = indicator(1, "[ipv4-addr:value = '198.51.100.7']")
    with httpx.Client() as client:
        posted = client.post(
            f"{collection}objects/",
            headers=post_headers("alice"),
            content=json.dumps({"objects": [ip]}),
        )
        assert posted.status_code == 202, posted.text
        arguments = [
            "--indicators",
            collection,
            "--report-to",
            collection,
            "--user",
            "alice",
            "--identity",
            CERT_A,
            "--window",
            "5s",
            str(FIXTURES / "conn.log"),  # 198.51.100.7 at 00:00:00
            str(FIXTURES / "dns.log"),  # and at 00:00:05.5
        ]
        env = {"KAKEHASHI_TOKEN": TOKENS["alice"]}
        for _ in range(2):
            result = CliRunner().invoke(match_command, arguments, env=env)
            assert result.exit_code == 0, result.output
            assert f"Posted 2 object(s) to {collection}: 2 stored" in result.stderr

        stored = client.get(
            f"{collection}objects/", params={"match[type]": "sighting"}, headers=basic("bob")
        )
        assert stored.status_code == 200
        latest = sorted(stored.json()["objects"], key=lambda o: o["first_seen"])
        assert [(o["count"], o["first_seen"], o["created"]) for o in latest] == [
            (1, "2024-01-01T00:00:00.000000Z", "2024-01-01T00:00:00.000000Z"),
            (1, "2024-01-01T00:00:05.500000Z", "2024-01-01T00:00:05.000000Z"),
        ]
        for obj in latest:  # two runs: two versions of each window's Sighting, not two
            versions = client.get(
                f"{collection}objects/{obj['id']}/versions/", headers=basic("bob")
            )
            assert versions.status_code == 200
            assert len(versions.json()["versions"]) == 2
            assert versions.json()["versions"][-1] == obj["modified"]
