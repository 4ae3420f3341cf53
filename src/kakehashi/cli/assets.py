"""``kakehashi assets``: import operators' inventories (CSV, CycloneDX) into the hub's
exposure catalog, list and remove them (issue 6)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, BinaryIO, cast

import click

from kakehashi.advisories.errors import InventoryFormatError
from kakehashi.advisories.inventory import iter_csv_assets, iter_cyclonedx_assets
from kakehashi.advisories.model import Asset, Criticality
from kakehashi.advisories.serial import asset_to_row
from kakehashi.cli.base import Context, HubCommandError, InputProblem, cli, pass_context
from kakehashi.cli.catalog import known_organization, open_catalog
from kakehashi.errors import HubError

if TYPE_CHECKING:
    # Imported where used: they pull in psycopg, httpx and the pattern compiler, and every
    # `kakehashi` command imports this module to register its commands.
    from kakehashi.store.catalog import Catalog


__all__ = ["assets_group"]

INVENTORY_FORMATS = ("auto", "csv", "cyclonedx")


# -- assets ----------------------------------------------------------------------------


@cli.group("assets")
def assets_group() -> None:
    """Operators' asset inventories: CSV and CycloneDX JSON (1.2 to 1.7)."""


def _inventory_format(path: str, fmt: str, head: bytes) -> str:
    if fmt != "auto":
        return fmt
    if path.lower().endswith(".csv"):
        return "csv"
    if path.lower().endswith(".json"):
        return "cyclonedx"
    return "cyclonedx" if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{") else "csv"


class _Counting:
    """A binary file that advances a progress bar by the bytes read from it."""

    def __init__(self, raw: IO[bytes], bar: Any) -> None:
        self._raw, self._bar = raw, bar

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self._bar.update(len(data))
        return data

    def lines(self, source: str) -> Iterator[str]:
        """The file's lines as text (UTF-8, a byte order mark skipped), line ends kept."""
        for number, line in enumerate(iter(self._raw.readline, b""), start=1):
            self._bar.update(len(line))
            try:
                yield line.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                raise InventoryFormatError(
                    f"not UTF-8: {exc.reason}", source=source, line=number
                ) from None


@assets_group.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--org", "organization", required=True, help="The operator (organisation key).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(INVENTORY_FORMATS),
    default="auto",
    show_default=True,
    help="CSV or CycloneDX JSON (auto: *.csv is CSV, *.json CycloneDX, other files are"
    " CycloneDX when they start with `{`).",
)
@click.option(
    "--source",
    help="Name of this inventory (default: the file's name). Importing the same source"
    " again replaces its assets. Only with one file.",
)
@click.option("--sector", help="Sector of every asset whose row does not give one.")
@click.option(
    "--criticality",
    type=click.Choice([c.name.lower() for c in Criticality if c is not Criticality.UNKNOWN]),
    help="Criticality of every asset whose row does not give one (SBOMs never do).",
)
@pass_context
def assets_import(
    context: Context,
    paths: tuple[str, ...],
    organization: str,
    fmt: str,
    source: str | None,
    sector: str | None,
    criticality: str | None,
) -> None:
    """Import an operator's inventories; each replaces the previous one from its source.

    Each file is all or nothing: a bad row or a truncated file is reported with its line
    (or JSON path) and nothing of that file is kept (its previous inventory stays); the
    other files are still imported, and the exit status is 5.
    """
    settings = context.settings()
    known_organization(settings, organization)
    if source is not None and len(paths) > 1:
        raise click.BadParameter("give one file with --source", param_hint="--source")
    default_criticality = Criticality.parse(criticality or "")
    catalog = open_catalog(context, settings)
    refused: list[str] = []
    try:
        for path in paths:
            name = source or ("<stdin>" if path == "-" else Path(path).name)
            try:
                stored = _import_inventory(
                    catalog, path, name, organization, fmt, sector, default_criticality
                )
            except InventoryFormatError as exc:
                refused.append(str(exc))
                click.echo(f"Error: {exc}", err=True)
                continue
            click.echo(f"Imported {stored} assets of {organization} from {name}", err=True)
    except HubError as exc:
        raise HubCommandError(exc) from exc
    finally:
        catalog.close()
    if refused:
        raise InputProblem(
            f"{len(refused)} of {len(paths)} inventories refused; nothing of them kept"
        )


def _import_inventory(
    catalog: Catalog,
    path: str,
    name: str,
    organization: str,
    fmt: str,
    sector: str | None,
    criticality: Criticality,
) -> int:
    """One file into the catalog, in one transaction; how many assets."""
    try:
        raw: IO[bytes] = sys.stdin.buffer if path == "-" else open(path, "rb")  # noqa: SIM115
    except OSError as exc:
        raise InventoryFormatError(f"cannot read: {exc.strerror}", source=path) from exc
    try:
        size = 0 if path == "-" else Path(path).stat().st_size
        head = raw.peek(64)[:64] if hasattr(raw, "peek") else b""
        kind = _inventory_format(path, fmt, head)
        with click.progressbar(length=max(size, 1), label=name, file=sys.stderr) as bar:
            counted = _Counting(raw, bar)
            assets: Iterator[Asset]
            if kind == "csv":
                assets = iter_csv_assets(
                    counted.lines(name), organization=organization, source=name
                )
            else:
                stream = cast(BinaryIO, counted)  # ijson only calls read()
                assets = iter_cyclonedx_assets(stream, organization=organization, source=name)
            return catalog.replace_assets(
                organization,
                name,
                (asset_to_row(_defaults(a, sector, criticality))[1:] for a in assets),
            )
    finally:
        if raw is not sys.stdin.buffer:
            raw.close()


def _defaults(asset: Asset, sector: str | None, criticality: Criticality) -> Asset:
    from dataclasses import replace

    if (sector and not asset.sector) or (
        criticality is not Criticality.UNKNOWN and asset.criticality is Criticality.UNKNOWN
    ):
        return replace(
            asset,
            sector=asset.sector or (sector or ""),
            criticality=asset.criticality
            if asset.criticality is not Criticality.UNKNOWN
            else criticality,
        )
    return asset


@assets_group.command("list")
@pass_context
def assets_list(context: Context) -> None:
    """The imported inventories: organisation, source, assets, when."""
    from kakehashi.stix.timestamps import format_us

    settings = context.settings()
    catalog = open_catalog(context, settings)
    try:
        sources = catalog.asset_sources()
    finally:
        catalog.close()
    if not sources:
        click.echo("no inventories imported")
    for s in sources:
        click.echo(f"{s.organization}\t{s.source}\t{s.assets} assets\t{format_us(s.imported_us)}")


@assets_group.command("remove")
@click.option("--org", "organization", required=True, help="The operator (organisation key).")
@click.option("--source", help="Only this inventory (default: all of the organisation's).")
@pass_context
def assets_remove(context: Context, organization: str, source: str | None) -> None:
    """Forget an operator's inventory (all of it, or one source)."""
    settings = context.settings()
    catalog = open_catalog(context, settings)
    try:
        removed = catalog.remove_assets(organization, source)
    finally:
        catalog.close()
    click.echo(f"Removed {removed} assets of {organization}", err=True)
