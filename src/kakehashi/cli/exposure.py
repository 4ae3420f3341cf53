"""``kakehashi exposure``: which operators' assets the stored advisories hit (issue 6).

It loads the catalog that ``kakehashi advisories import`` and ``kakehashi assets import``
filled (:mod:`kakehashi.store.catalog`), matches with :mod:`kakehashi.advisories.matcher`,
and prints a table or JSON, or writes and posts STIX (:mod:`kakehashi.advisories.as_stix`).
"""

from __future__ import annotations

import gc
import json
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click

from kakehashi.advisories.as_stix import exposure_objects
from kakehashi.advisories.kev import KevCatalog
from kakehashi.advisories.matcher import AdvisoryIndex, urgency_key
from kakehashi.advisories.model import Advisory, Decision, Exposure, MatchRule
from kakehashi.advisories.serial import advisory_from_json, asset_from_row, kev_from_json
from kakehashi.cli.base import Context, HubCommandError, cli, pass_context
from kakehashi.cli.catalog import (
    HubProblem,
    hub_options,
    known_organization,
    open_catalog,
    taxii_client,
)
from kakehashi.config import Settings
from kakehashi.errors import HubError
from kakehashi.stix.markings import Tlp
from kakehashi.stix.timestamps import now_us

if TYPE_CHECKING:
    # Imported where used: they pull in psycopg, httpx and the pattern compiler, and every
    # `kakehashi` command imports this module to register its commands.
    from kakehashi.store.catalog import Catalog

__all__ = ["exposure_command"]

#: How many withheld operator/advisory pairs are listed one by one.
_SHOWN = 50
_IDENTITY = re.compile(
    r"identity--[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE
)


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
@hub_options
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
        known_organization(settings, key)
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
    client = taxii_client(user, token, "--report-to") if report_to is not None else None
    catalog = open_catalog(context, settings)
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
