"""The exposure catalog on SQLite and PostgreSQL, and the record codec it relies on."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from conftest import make_store
from kakehashi.advisories.cve import parse_cve_record
from kakehashi.advisories.kev import KevEntry
from kakehashi.advisories.model import Asset, Criticality, Status, StatusRange
from kakehashi.advisories.serial import (
    advisory_from_json,
    advisory_to_json,
    asset_from_row,
    asset_to_row,
    kev_from_json,
    kev_to_json,
)
from kakehashi.advisories.versions import Scheme, VersionRange
from kakehashi.stix.markings import Tlp
from kakehashi.store.catalog import Catalog, PostgresCatalog, SqliteCatalog

from .records import FIRMWARE


@pytest.fixture
def catalog(backend: str, tmp_path: Path, postgres_dsn: str | None) -> Iterator[Catalog]:
    make_store(backend, tmp_path, postgres_dsn).close()  # migrated and emptied
    opened: Catalog = (
        SqliteCatalog(tmp_path / "hub.db")
        if backend == "sqlite"
        else PostgresCatalog(str(postgres_dsn))
    )
    opened.open()
    yield opened
    opened.close()


def _row(n: int) -> tuple[str, str, str, str, str, str, str, int, str]:
    return (f"site-{n}", "telecom", "Acme", "BaseStation OS", f"7.0.{n}", "", "", 3, f"r{n}")


def test_replace_assets_is_all_or_nothing(catalog: Catalog) -> None:
    assert catalog.replace_assets("telco", "inv.csv", (_row(n) for n in range(12_000))) == 12_000

    def breaks_half_way() -> Iterator[tuple[str, str, str, str, str, str, str, int, str]]:
        for n in range(7_000):  # more than one chunk is written before the fault
            yield _row(n)
        raise ValueError("the file broke")

    with pytest.raises(ValueError, match="the file broke"):
        catalog.replace_assets("telco", "inv.csv", breaks_half_way())
    rows = list(catalog.iter_assets(organizations=["telco"]))
    assert len(rows) == 12_000
    assert rows[-1][-1] == "r11999"
    (source,) = catalog.asset_sources()
    assert (source.organization, source.source, source.assets) == ("telco", "inv.csv", 12_000)


def test_assets_filter_by_organisation_and_sector(catalog: Catalog) -> None:
    catalog.replace_assets("telco", "a", [_row(1)])
    catalog.replace_assets("grid", "b", [("sub-1", "energy", "Volt", "GW", "4.1", "", "", 4, "x")])
    assert [r[0] for r in catalog.iter_assets(sectors=["energy"])] == ["grid"]
    assert [r[0] for r in catalog.iter_assets(organizations=["telco", "grid"])] == ["grid", "telco"]
    assert catalog.remove_assets("grid") == 1
    assert catalog.counts()["assets"] == 1
    assert catalog.counts()["asset_sources"] == 1


def test_advisories_upsert_and_kev_replaces(catalog: Catalog) -> None:
    assert catalog.put_advisories([("CVE-1", "cve", '{"id":"CVE-1","source":"old"}')]) == 1
    catalog.put_advisories([("CVE-1", "cve", '{"id":"CVE-1","source":"new"}')])
    assert list(catalog.iter_advisories()) == ['{"id":"CVE-1","source":"new"}']
    catalog.put_known_exploited([("CVE-1", "{}"), ("CVE-2", "{}")])
    catalog.put_known_exploited([("CVE-3", "{}")])
    assert catalog.counts()["known_exploited"] == 1


def test_advisory_records_survive_the_codec() -> None:
    advisory = parse_cve_record(FIRMWARE)
    advisory = dataclasses.replace(
        advisory, known_exploited=True, kev_due_date=date(2026, 12, 1), tlp=Tlp.AMBER_STRICT
    )
    product = dataclasses.replace(
        advisory.products[0],
        ranges=(
            StatusRange(VersionRange.less_than("2:1.0~rc1", scheme=Scheme.DEBIAN), Status.FIXED),
            *advisory.products[0].ranges,
        ),
        product_ids=("CSAFPID-1",),
    )
    advisory = dataclasses.replace(advisory, products=(product,))
    assert advisory_from_json(advisory_to_json(advisory)) == advisory
    entry = KevEntry("CVE-2024-1", due_date=date(2024, 2, 1), ransomware=True)
    assert kev_from_json(kev_to_json(entry)) == entry


def test_asset_rows_survive_the_codec() -> None:
    asset = Asset(
        organization="telco",
        vendor="Acme",
        product="BS",
        version="7.0.2.5",
        site="tokyo",
        sector="telecom",
        cpe="cpe:2.3:o:acme:bs:7.0.2.5:*:*:*:*:*:*:*",
        purl="",
        criticality=Criticality.CRITICAL,
        ref="inv.csv:2",
    )
    assert asset_from_row(asset_to_row(asset)) == asset


def test_a_stored_record_with_an_unknown_field_still_reads() -> None:
    assert advisory_from_json('{"id":"X","source":"s","gone":1}').id == "X"
