"""``kakehashi advisories``, ``kakehashi assets`` and ``kakehashi exposure`` (issue 6).

Advisories (CVE JSON 5, CSAF 2.0/2.1, the CISA KEV catalog, STIX vulnerabilities) and
operators' inventories (CSV, CycloneDX) are imported into the hub's database; ``exposure``
matches them and lists, writes or posts what it found. The library does the work
(:mod:`kakehashi.advisories`, :mod:`kakehashi.store.catalog`); this module reads files,
shows progress and prints.
"""

from __future__ import annotations

import gc
import json
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, BinaryIO, cast

import click

from kakehashi.advisories.as_stix import exposure_objects
from kakehashi.advisories.csaf import parse_csaf
from kakehashi.advisories.cve import parse_cve_record
from kakehashi.advisories.errors import AdvisoryFormatError, InventoryFormatError
from kakehashi.advisories.from_stix import advisories_from_stix, revoked_vulnerabilities
from kakehashi.advisories.inventory import iter_csv_assets, iter_cyclonedx_assets
from kakehashi.advisories.kev import KevCatalog, parse_kev_catalog
from kakehashi.advisories.matcher import AdvisoryIndex, urgency_key
from kakehashi.advisories.model import (
    Advisory,
    Asset,
    Criticality,
    Decision,
    Exposure,
    MatchRule,
)
from kakehashi.advisories.serial import (
    advisory_from_json,
    advisory_to_json,
    asset_from_row,
    asset_to_row,
    kev_from_json,
    kev_to_json,
)
from kakehashi.cli.base import (
    EXIT_PEER,
    Context,
    HubCommandError,
    InputProblem,
    cli,
    pass_context,
)
from kakehashi.config import Settings
from kakehashi.errors import HubError
from kakehashi.stix.markings import Tlp
from kakehashi.stix.timestamps import now_us

if TYPE_CHECKING:
    # Imported where used: they pull in psycopg, httpx and the pattern compiler, and every
    # `kakehashi` command imports this module to register its commands.
    from kakehashi.store.catalog import Catalog
    from kakehashi.sync.client import TaxiiClient

__all__ = ["advisories_group", "assets_group", "exposure_command"]

ADVISORY_FORMATS = ("auto", "cve", "csaf", "kev", "stix")
INVENTORY_FORMATS = ("auto", "csv", "cyclonedx")
_STIX_TYPES = "vulnerability,software,relationship"
#: How many withheld operator/advisory pairs are listed one by one.
_SHOWN = 50
_IDENTITY = re.compile(
    r"identity--[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE
)


class HubProblem(click.ClickException):
    """A hub could not be read from or posted to."""

    exit_code = EXIT_PEER


def _open_catalog(context: Context, settings: Settings) -> Catalog:
    from kakehashi.store import open_catalog

    try:
        catalog = open_catalog(settings.hub.database, base_dir=settings.base_dir)
        catalog.open()
    except HubError as exc:
        raise HubCommandError(exc) from exc
    return catalog


def _client(user: str | None, token: str | None, what: str) -> TaxiiClient:
    from kakehashi.sync.client import TaxiiClient

    if not token:
        raise click.UsageError(f"{what} needs a token: give --token or set KAKEHASHI_TOKEN")
    return TaxiiClient(username=user, token=token)


def _hub_options(command: Any) -> Any:
    command = click.option(
        "--token",
        envvar="KAKEHASHI_TOKEN",
        show_envvar=True,
        help="The hub token (prefer the environment variable: options show in process lists).",
    )(command)
    return click.option("--user", help="HTTP Basic user for the hub (default: a Bearer token).")(
        command
    )


# -- advisories ------------------------------------------------------------------------


@cli.group("advisories")
def advisories_group() -> None:
    """Vulnerability advisories: CVE records, CSAF documents, the KEV catalog, STIX."""


@dataclass
class _Tally:
    """What an advisory import read, stored and refused."""

    advisories: int = 0
    kev: int = 0
    documents: int = 0
    refused: list[str] = field(default_factory=list)
    pending_kev: dict[str, str] = field(default_factory=dict)
    revoked: set[str] = field(default_factory=set)
    forgotten: int = 0


def _documents(path: str, stdin: IO[bytes]) -> Iterator[tuple[str, Any]]:
    """``(name, decoded JSON)`` of one file: a JSON document, or JSON lines of them."""
    data = stdin.read() if path == "-" else Path(path).read_bytes()
    name = "<stdin>" if path == "-" else path
    text = data.decode("utf-8-sig")
    try:
        yield name, json.loads(text)
        return
    except json.JSONDecodeError as exc:
        if exc.msg != "Extra data":
            raise AdvisoryFormatError(
                f"not valid JSON: {exc.msg} (line {exc.lineno})", path="$", source=name
            ) from None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield f"{name}:{number}", json.loads(line)
        except json.JSONDecodeError as exc:
            raise AdvisoryFormatError(
                f"not valid JSON: {exc.msg}", path="$", source=f"{name}:{number}"
            ) from None


def _kind(document: Any) -> str:
    if isinstance(document, dict):
        if "cveMetadata" in document or document.get("dataType") == "CVE_RECORD":
            return "cve"
        inner = document.get("document")
        if isinstance(inner, dict) and "csaf_version" in inner:
            return "csaf"
        if document.get("type") == "bundle":
            return "stix"
        if "catalogVersion" in document or (
            isinstance(document.get("vulnerabilities"), list)
            and any(isinstance(v, dict) and "cveID" in v for v in document["vulnerabilities"])
        ):
            return "kev"
    return ""


def _advisories_of(name: str, document: Any, fmt: str, tally: _Tally) -> list[Advisory]:
    kind = fmt if fmt != "auto" else _kind(document)
    if kind == "cve":
        return [parse_cve_record(document, source=name)]
    if kind == "csaf":
        return parse_csaf(document, source=name)
    if kind == "stix":
        objects = document.get("objects", []) if isinstance(document, dict) else []
        if not isinstance(objects, list):
            raise AdvisoryFormatError("must be an array", path="$.objects", source=name)
        stix_objects = [o for o in objects if isinstance(o, dict)]
        tally.revoked |= revoked_vulnerabilities(stix_objects)
        return advisories_from_stix(stix_objects)
    if kind == "kev":
        catalog = parse_kev_catalog(document, source=name)
        for cve_id, entry in catalog.entries.items():
            tally.pending_kev[cve_id] = kev_to_json(entry)
        return []
    raise AdvisoryFormatError(
        "not a CVE record, CSAF document, KEV catalog or STIX bundle (give --format)",
        path="$",
        source=name,
    )


def _files(paths: tuple[str, ...], tally: _Tally) -> list[str]:
    """The files named, folders walked for ``*.json`` and ``*.jsonl`` (sorted). A folder
    with none is refused: it is almost always the wrong folder."""
    found: list[str] = []
    for path in paths:
        if path != "-" and Path(path).is_dir():
            inside = [
                str(p)
                for p in sorted(Path(path).rglob("*"))
                if p.is_file() and p.suffix in (".json", ".jsonl")
            ]
            if not inside:
                tally.refused.append(f"{path}: no *.json or *.jsonl file in this folder")
            found.extend(inside)
        else:
            found.append(path)
    return found


@advisories_group.command("import")
@click.argument("paths", nargs=-1, type=click.Path(allow_dash=True))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(ADVISORY_FORMATS),
    default="auto",
    show_default=True,
    help="What the files are (auto: recognised from each document).",
)
@click.option(
    "--from",
    "collections",
    multiple=True,
    metavar="COLLECTION-URL",
    help="Also read STIX vulnerabilities (with their software and relationships) from"
    " this TAXII 2.1 collection. Repeat to combine.",
)
@_hub_options
@pass_context
def advisories_import(
    context: Context,
    paths: tuple[str, ...],
    fmt: str,
    collections: tuple[str, ...],
    user: str | None,
    token: str | None,
) -> None:
    """Import advisories from files, folders (walked for *.json, *.jsonl) or `-`.

    A file holds one JSON document or JSON lines of them: CVE JSON 5 records, CSAF 2.0 /
    2.1 documents, the CISA KEV catalog (it replaces the stored one), or STIX bundles
    with vulnerability objects. An advisory already stored under the same id is
    replaced. A document that fails is reported with the JSON path of its first error
    and skipped; the others are imported (exit status 5 if any failed).
    """
    if not paths and not collections:
        raise click.UsageError("give files, folders, `-` or --from COLLECTION-URL")
    settings = context.settings()
    tally = _Tally()
    pulled: list[tuple[str, str, str]] = []
    if collections:
        client = _client(user, token, "--from")
        try:
            # Read the collections before anything is written: a hub that cannot be read
            # leaves the database as it was (not the files stored and the rest missing),
            # and the hub may be this database's own, which records each release while
            # the import would hold the write lock.
            pulled = list(_collection_rows(client, collections, tally))
        finally:
            client.close()
    catalog = _open_catalog(context, settings)
    try:
        files = _files(paths, tally)
        rows = _advisory_rows(files, fmt, tally, sys.stdin.buffer)
        with click.progressbar(length=len(files), label="Importing", file=sys.stderr) as bar:
            stored = catalog.put_advisories(_ticking(rows, bar, tally))
        if pulled:
            stored += catalog.put_advisories(pulled)
        if tally.revoked:
            tally.forgotten = catalog.remove_advisories(tally.revoked)
        if tally.pending_kev:
            tally.kev = catalog.put_known_exploited(sorted(tally.pending_kev.items()))
    except HubError as exc:
        raise HubCommandError(exc) from exc
    finally:
        catalog.close()
    kev = f", {tally.kev} known-exploited CVEs (KEV catalog replaced)" if tally.kev else ""
    if tally.forgotten:
        kev += f", {tally.forgotten} revoked advisories removed"
    click.echo(
        f"Imported {stored} advisories from {tally.documents} document(s){kev};"
        f" {len(tally.refused)} refused",
        err=True,
    )
    for reason in tally.refused[:50]:
        click.echo(f"  refused: {reason}", err=True)
    if len(tally.refused) > 50:
        click.echo(f"  ... and {len(tally.refused) - 50} more", err=True)
    if tally.refused:
        raise InputProblem(f"{len(tally.refused)} document(s) refused")


def _advisory_rows(
    files: list[str], fmt: str, tally: _Tally, stdin: IO[bytes]
) -> Iterator[tuple[str, str, str] | None]:
    """The rows to store; ``None`` after each file (the progress bar's tick)."""
    for path in files:
        try:
            for name, document in _documents(path, stdin):
                tally.documents += 1
                try:
                    advisories = _advisories_of(name, document, fmt, tally)
                except AdvisoryFormatError as exc:
                    tally.refused.append(str(exc))
                    continue
                for advisory in advisories:
                    yield advisory.id, advisory.source, advisory_to_json(advisory)
        except AdvisoryFormatError as exc:
            tally.refused.append(str(exc))
        except (OSError, UnicodeDecodeError) as exc:
            tally.refused.append(f"{path}: cannot read: {exc}")
        yield None


def _ticking(
    rows: Iterator[tuple[str, str, str] | None], bar: Any, tally: _Tally
) -> Iterator[tuple[str, str, str]]:
    for row in rows:
        if row is None:
            bar.update(1)
            continue
        tally.advisories += 1
        yield row


def _collection_rows(
    client: TaxiiClient, collections: tuple[str, ...], tally: _Tally
) -> Iterator[tuple[str, str, str]]:
    from kakehashi.sync.client import PeerError

    for url in collections:
        objects: list[dict[str, Any]] = []
        try:
            for page in client.iter_objects(url, params={"match[type]": _STIX_TYPES}):
                objects.extend(page.objects)
        except PeerError as exc:
            raise HubProblem(f"cannot read {url}: {exc}") from exc
        tally.documents += 1
        tally.revoked |= revoked_vulnerabilities(objects)
        for advisory in advisories_from_stix(objects, source=url):
            yield advisory.id, advisory.source, advisory_to_json(advisory)


@advisories_group.command("list")
@pass_context
def advisories_list(context: Context) -> None:
    """Summarise what is stored: advisories by source, KEV entries, inventories."""
    settings = context.settings()
    catalog = _open_catalog(context, settings)
    try:
        counts = catalog.counts()
    finally:
        catalog.close()
    click.echo(
        f"{counts['advisories']} advisories, {counts['known_exploited']} known-exploited CVEs,"
        f" {counts['assets']} assets in {counts['asset_sources']} inventories"
    )


# -- assets ----------------------------------------------------------------------------


@cli.group("assets")
def assets_group() -> None:
    """Operators' asset inventories: CSV and CycloneDX JSON (1.2 to 1.7)."""


def _organization(settings: Settings, key: str, hint: str = "--org") -> str:
    if not any(o.key == key for o in settings.organizations):
        known = ", ".join(sorted(o.key for o in settings.organizations))
        raise click.BadParameter(
            f"no organisation {key!r} in the configuration ({known})", param_hint=hint
        )
    return key


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
    _organization(settings, organization)
    if source is not None and len(paths) > 1:
        raise click.BadParameter("give one file with --source", param_hint="--source")
    default_criticality = Criticality.parse(criticality or "")
    catalog = _open_catalog(context, settings)
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
    catalog = _open_catalog(context, settings)
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
    catalog = _open_catalog(context, settings)
    try:
        removed = catalog.remove_assets(organization, source)
    finally:
        catalog.close()
    click.echo(f"Removed {removed} assets of {organization}", err=True)


# -- exposure --------------------------------------------------------------------------


def _ceiling(settings: Settings, key: str) -> Tlp:
    """The lowest ``ceiling`` on the organisation's own chain (itself, its parents)."""
    by_key = {o.key: o for o in settings.organizations}
    ceiling, seen = Tlp.RED, set()
    org = by_key.get(key)
    while org is not None and org.key not in seen:
        seen.add(org.key)
        if org.ceiling is not None:
            ceiling = min(ceiling, org.ceiling)
        org = by_key.get(org.parent) if org.parent else None
    return ceiling


def _load(catalog: Catalog, total: int) -> list[Advisory]:
    kev = KevCatalog(
        entries={e.cve_id: e for e in map(kev_from_json, catalog.iter_known_exploited())}
    )
    advisories: list[Advisory] = []
    with click.progressbar(
        length=max(total, 1), label="Loading advisories", file=sys.stderr
    ) as bar:
        for text in catalog.iter_advisories():
            advisories.append(kev.apply(advisory_from_json(text)))
            if len(advisories) % 1000 == 0:
                bar.update(1000)
    return advisories


def _keep(exposure: Exposure, kev_only: bool, affected_only: bool) -> bool:
    if kev_only and not exposure.advisory.known_exploited:
        return False
    return not (affected_only and exposure.decision is not Decision.AFFECTED)


def _record(exposure: Exposure) -> dict[str, Any]:
    """One exposure as the JSON output writes it."""
    asset, advisory = exposure.asset, exposure.advisory
    return {
        "organization": asset.organization,
        "site": asset.site,
        "sector": asset.sector,
        "vendor": asset.vendor,
        "product": asset.product,
        "version": asset.version,
        "cpe": asset.cpe,
        "purl": asset.purl,
        "criticality": asset.criticality.name.lower(),
        "asset_ref": asset.ref,
        "advisory": advisory.id,
        "advisory_source": advisory.source,
        "title": advisory.title,
        "cves": list(advisory.cve_ids),
        "severity": advisory.severity,
        "cvss": advisory.cvss,
        "known_exploited": advisory.known_exploited,
        "kev_due_date": advisory.kev_due_date.isoformat() if advisory.kev_due_date else None,
        "advisory_tlp": advisory.tlp.label,
        "decision": exposure.decision.value,
        "rule": exposure.rule.value,
        "range": str(exposure.range) if exposure.range is not None else None,
        "fixed_version": exposure.fixed_version,
        "remediation": exposure.product.remediation,
        "why": exposure.why,
    }


def _advisory_name(advisory: Advisory) -> str:
    """The advisory's id for the table, without what the CVE column already says."""
    if advisory.cve_ids == (advisory.id,):
        return ""
    document, _, vulnerability = advisory.id.partition("#")
    return document if vulnerability in advisory.cve_ids else advisory.id


_RULE_NAMES = {MatchRule.PURL: "purl", MatchRule.CPE: "cpe", MatchRule.NAME: "name"}
_TABLE = (
    ("ORG", 10, lambda e: e.asset.organization),
    ("SITE", 13, lambda e: e.asset.site),
    ("ASSET", 38, lambda e: f"{e.asset.vendor} {e.asset.product} {e.asset.version}".strip()),
    ("CVE", 14, lambda e: ",".join(e.advisory.cve_ids)),
    ("ADVISORY", 16, lambda e: _advisory_name(e.advisory)),
    ("CVSS", 4, lambda e: "" if e.advisory.cvss is None else f"{e.advisory.cvss:.1f}"),
    (
        "KEV",
        10,
        lambda e: (str(e.advisory.kev_due_date or "yes")) if e.advisory.known_exploited else "",
    ),
    ("DECISION", 13, lambda e: e.decision.value),
    ("FIXED", 10, lambda e: e.fixed_version),
    ("RULE", 4, lambda e: _RULE_NAMES[e.rule]),
)


def _render_table(exposures: list[Exposure]) -> str:
    """The exposures as an aligned text table, most urgent first."""

    def cell(text: str, width: int) -> str:
        return text if len(text) <= width else text[: width - 1] + "…"

    lines = ["  ".join(name.ljust(width) for name, width, _ in _TABLE).rstrip()]
    for exposure in exposures:
        lines.append(
            "  ".join(
                cell(str(get(exposure)), width).ljust(width) for _, width, get in _TABLE
            ).rstrip()
        )
    return "\n".join(lines)


@cli.command("exposure")
@click.option("--org", "organizations", multiple=True, help="Only this operator. Repeat.")
@click.option("--sector", "sectors", multiple=True, help="Only assets of this sector. Repeat.")
@click.option("--kev-only", is_flag=True, help="Only known-exploited vulnerabilities (CISA KEV).")
@click.option(
    "--affected-only",
    is_flag=True,
    help="Leave out 'under investigation' and 'cannot decide' (shown by default).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "stix"]),
    default="table",
    show_default=True,
    help="A table, JSON (one object per exposure), or a STIX 2.1 bundle.",
)
@click.option("--output", "-o", metavar="FILE", help="Write here (default: standard output).")
@click.option(
    "--report-to",
    metavar="COLLECTION-URL",
    help="POST the STIX objects to this TAXII 2.1 collection (implies the STIX objects).",
)
@click.option(
    "--identity",
    metavar="identity--UUID",
    help="The reporting CERT (created_by_ref of the STIX objects; default: [hub]"
    " organization's identity).",
)
@click.option(
    "--tlp",
    type=click.Choice([t.label for t in Tlp]),
    default=Tlp.AMBER_STRICT.label,
    show_default=True,
    help="Lowest TLP of the STIX objects; an advisory's stricter TLP wins.",
)
@_hub_options
@pass_context
def exposure_command(
    context: Context,
    organizations: tuple[str, ...],
    sectors: tuple[str, ...],
    kev_only: bool,
    affected_only: bool,
    fmt: str,
    output: str | None,
    report_to: str | None,
    identity: str | None,
    tlp: str,
    user: str | None,
    token: str | None,
) -> None:
    """Which operators' assets the stored advisories hit, most urgent first.

    Urgency: known exploited first, then CVSS, then the asset's criticality. Every
    exposure says why (which identifier matched, which range). As STIX, each operator's
    exposures are objects naming that operator alone as recipient (see docs/exposure.md).
    """
    settings = context.settings()
    for key in organizations:
        _organization(settings, key)
    if identity is not None and not _IDENTITY.fullmatch(identity):
        raise click.BadParameter(
            f"{identity!r} is not a STIX identity id (identity--UUID)", param_hint="--identity"
        )
    if output not in (None, "-"):
        folder = Path(str(output)).parent
        if not folder.is_dir():
            raise click.BadParameter(f"no such directory: {folder}", param_hint="--output")
    stix_wanted = fmt == "stix" or report_to is not None
    author = identity or _hub_identity(settings)
    if stix_wanted and not author:
        raise click.UsageError(
            "STIX output needs the reporting CERT: give --identity or set [hub] organization"
        )
    client = _client(user, token, "--report-to") if report_to is not None else None
    catalog = _open_catalog(context, settings)
    try:
        counts = catalog.counts()
        with _collector_paused():
            index = AdvisoryIndex(_load(catalog, counts["advisories"]))
        found: list[Exposure] = []
        with (
            _collector_paused(),
            click.progressbar(
                length=max(counts["assets"], 1), label="Matching", file=sys.stderr
            ) as bar,
        ):
            for number, row in enumerate(
                catalog.iter_assets(organizations=organizations, sectors=sectors), start=1
            ):
                found.extend(
                    e
                    for e in index.exposures_for(asset_from_row(row))
                    if _keep(e, kev_only, affected_only)
                )
                if number % 10_000 == 0:
                    bar.update(10_000)
    except HubError as exc:
        raise HubCommandError(exc) from exc
    finally:
        catalog.close()
    found.sort(key=urgency_key)
    orgs = {e.asset.organization for e in found}
    click.echo(f"{len(found)} exposure(s) of {len(orgs)} operator(s)", err=True)
    objects: list[dict[str, Any]] = []
    if stix_wanted:
        assert author is not None
        report = exposure_objects(
            found,
            author=author,
            identities={o.key: o.identity for o in settings.organizations},
            ceilings={o.key: _ceiling(settings, o.key) for o in settings.organizations},
            tlp=Tlp.parse(tlp),
            now_us=now_us(),
        )
        objects = report.objects
        for organization, advisory_id, reason in report.withheld[:_SHOWN]:
            click.echo(f"  withheld: {advisory_id} for {organization}: {reason}", err=True)
        if len(report.withheld) > _SHOWN:
            by_org = len({org for org, _, _ in report.withheld})
            click.echo(
                f"  ... {len(report.withheld) - _SHOWN} more withheld"
                f" ({len(report.withheld)} in all, for {by_org} operator(s));"
                " --format json lists every exposure",
                err=True,
            )
    if output is not None or report_to is None:
        try:
            with click.open_file(
                output or "-", "w", encoding="utf-8", atomic=output not in (None, "-")
            ) as out:
                _write(out, fmt, found, objects)
        except OSError as exc:
            raise click.BadParameter(
                f"cannot write {output}: {exc.strerror or exc}", param_hint="--output"
            ) from exc
    if client is not None and report_to is not None and not objects:
        client.close()
        click.echo(f"Nothing to post to {report_to}", err=True)
    elif client is not None and report_to is not None:
        from kakehashi.match.command import post_objects
        from kakehashi.sync.client import PeerError

        try:
            stored, failures = post_objects(client, report_to, objects)
        except PeerError as exc:
            raise HubProblem(f"the exposures were not posted: {exc}") from exc
        finally:
            client.close()
        click.echo(f"Posted {len(objects)} object(s) to {report_to}: {stored} stored", err=True)
        if failures:
            for failure in failures[:20]:
                click.echo(f"  refused: {failure}", err=True)
            raise HubProblem(f"{len(failures)} object(s) were refused by {report_to}")


def _write(out: IO[str], fmt: str, found: list[Exposure], objects: list[dict[str, Any]]) -> None:
    if fmt == "table":
        out.write(_render_table(found) + "\n")
    elif fmt == "json":
        _write_json(found, out)
    else:
        import uuid

        bundle: dict[str, Any] = {"type": "bundle", "id": f"bundle--{uuid.uuid4()}"}
        if objects:  # STIX 2.1: `objects`, when present, holds one or more objects
            bundle["objects"] = objects
        json.dump(bundle, out, indent=2, ensure_ascii=False)
        out.write("\n")


def _write_json(found: list[Exposure], out: IO[str]) -> None:
    """A JSON array, one record at a time (a country's run has hundreds of thousands)."""
    out.write("[")
    for number, exposure in enumerate(found):
        text = json.dumps(_record(exposure), indent=2, ensure_ascii=False)
        out.write(("\n  " if number == 0 else ",\n  ") + text.replace("\n", "\n  "))
    out.write("\n]\n" if found else "]\n")


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building the index: loading a quarter of a
    million advisories creates millions of objects and no cycles, and every collection
    would walk them all again (about a third of the loading time)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _hub_identity(settings: Settings) -> str | None:
    key = settings.hub.organization
    return next((o.identity for o in settings.organizations if o.key == key), None) if key else None
