"""``kakehashi advisories``: import CVE records, CSAF documents, the KEV catalog and STIX
vulnerabilities into the hub's exposure catalog, and summarise it (issue 6)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click

from kakehashi.advisories.csaf import parse_csaf
from kakehashi.advisories.cve import parse_cve_record
from kakehashi.advisories.errors import AdvisoryFormatError
from kakehashi.advisories.from_stix import advisories_from_stix, revoked_vulnerabilities
from kakehashi.advisories.kev import parse_kev_catalog
from kakehashi.advisories.model import Advisory
from kakehashi.advisories.serial import advisory_to_json, kev_to_json
from kakehashi.cli.base import Context, HubCommandError, InputProblem, cli, pass_context
from kakehashi.cli.catalog import HubProblem, hub_options, open_catalog, taxii_client
from kakehashi.errors import HubError

if TYPE_CHECKING:
    # Imported where used: they pull in psycopg, httpx and the pattern compiler, and every
    # `kakehashi` command imports this module to register its commands.
    from kakehashi.sync.client import TaxiiClient


__all__ = ["advisories_group"]

ADVISORY_FORMATS = ("auto", "cve", "csaf", "kev", "stix")
_STIX_TYPES = "vulnerability,software,relationship"


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
@hub_options
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
        client = taxii_client(user, token, "--from")
        try:
            # Read the collections before anything is written: a hub that cannot be read
            # leaves the database as it was (not the files stored and the rest missing),
            # and the hub may be this database's own, which records each release while
            # the import would hold the write lock.
            pulled = list(_collection_rows(client, collections, tally))
        finally:
            client.close()
    catalog = open_catalog(context, settings)
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
    catalog = open_catalog(context, settings)
    try:
        counts = catalog.counts()
    finally:
        catalog.close()
    click.echo(
        f"{counts['advisories']} advisories, {counts['known_exploited']} known-exploited CVEs,"
        f" {counts['assets']} assets in {counts['asset_sources']} inventories"
    )
