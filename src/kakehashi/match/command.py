"""``kakehashi match``: check logs against shared indicators and report Sightings.

The only module of :mod:`kakehashi.match` that talks HTTP: it reads indicators from a
TAXII collection and posts Sightings to one with :class:`kakehashi.sync.client.TaxiiClient`.
Everything else is the library: :mod:`~kakehashi.match.compile`, :mod:`~kakehashi.match.run`,
:mod:`~kakehashi.match.sightings`, :mod:`~kakehashi.match.report`. Registered in
``kakehashi.cli`` with ``cli.add_command(match_command)``.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterator
from typing import IO, Any

import click

from kakehashi.match.compile import Index, IndexBuilder
from kakehashi.match.engine import Matcher
from kakehashi.match.errors import MatchInputError
from kakehashi.match.inputs import FORMATS, CsvLayout, InputFile, parse_column_map
from kakehashi.match.inputs.stix import iter_stix_objects
from kakehashi.match.report import render_summary
from kakehashi.match.run import RunResult, match_inputs
from kakehashi.match.sightings import identity_object, sightings, write_bundle
from kakehashi.match.windows import parse_duration_s
from kakehashi.stix.markings import TLP_2_MARKING_IDS, Tlp
from kakehashi.stix.timestamps import now_us
from kakehashi.sync.client import PeerError, TaxiiClient

__all__ = ["EXIT_INPUT", "EXIT_PEER", "match_command", "post_objects"]

log = logging.getLogger(__name__)

#: The run ended early (a truncated or unreadable input, unusable indicators); the
#: Sightings of what was read are still written.
EXIT_INPUT = 5
#: A hub failed: the indicators could not be fetched, or the Sightings were not stored.
EXIT_PEER = 7

_IDENTITY = re.compile(r"identity--[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_POST_BATCH = 500


class InputProblem(click.ClickException):
    exit_code = EXIT_INPUT


class HubProblem(click.ClickException):
    exit_code = EXIT_PEER


def _window_s(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    """``--window``: ``30s``, ``15m``, ``1h``, ``1d`` or plain seconds, as seconds."""
    if value is None:
        return None
    try:
        return parse_duration_s(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from exc


def _is_url(text: str) -> bool:
    return text.startswith(("http://", "https://"))


def _collection_objects(client: TaxiiClient, url: str) -> Iterator[dict[str, Any]]:
    """Every indicator version in a TAXII collection, page by page."""
    pages = 0
    for page in client.iter_objects(url, params={"match[type]": "indicator"}):
        pages += 1
        yield from page.objects
    log.info("read indicators from %s in %d page(s)", url, pages)


def _load_indicators(
    sources: tuple[str, ...], *, client: TaxiiClient | None, stdin: IO[bytes], at_us: int
) -> Index:
    builder = IndexBuilder(now_us=at_us)
    for source in sources:
        if _is_url(source):
            assert client is not None
            try:
                builder.add_all(_collection_objects(client, source))
            except PeerError as exc:
                raise HubProblem(f"cannot read indicators: {exc}") from exc
            continue
        try:
            with InputFile(source, stdin=stdin) as opened:
                builder.add_all(iter_stix_objects(opened))
        except MatchInputError as exc:
            raise InputProblem(f"cannot read indicators: {exc}") from exc
    return builder.build()


def _csv_layout(maps: tuple[str, ...], time_column: str | None, delimiter: str) -> CsvLayout | None:
    if not maps:
        return None
    try:
        columns = tuple(parse_column_map(m) for m in maps)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--csv-map") from exc
    if len(delimiter) != 1:
        raise click.BadParameter("give one character", param_hint="--csv-delimiter")
    return CsvLayout(columns, time_column, delimiter)


def post_objects(
    client: TaxiiClient, url: str, objects: list[dict[str, Any]]
) -> tuple[int, list[str]]:
    """POST the objects in batches; the number stored and the failure messages."""
    stored = 0
    failures: list[str] = []
    for start in range(0, len(objects), _POST_BATCH):
        batch = objects[start : start + _POST_BATCH]
        status = client.add_objects(url, [json.dumps(o, ensure_ascii=False) for o in batch])
        stored += int(status.get("success_count", 0))
        for failure in status.get("failures", []) or []:
            if isinstance(failure, dict):
                failures.append(f"{failure.get('id', '?')}: {failure.get('message', '')}")
        log.info("posted %d object(s) to %s: %s", len(batch), url, status.get("status", "?"))
    return stored, failures


@click.command("match")
@click.argument("logs", nargs=-1, type=click.Path(dir_okay=False, allow_dash=True))
@click.option(
    "--indicators",
    "indicator_sources",
    multiple=True,
    required=True,
    metavar="COLLECTION-URL|FILE",
    help="A TAXII 2.1 collection URL (…/collections/ID/) or a STIX bundle / JSON lines file."
    " Repeat to combine.",
)
@click.option(
    "--identity",
    required=True,
    metavar="identity--UUID",
    help="The reporting organisation: where_sighted_refs and created_by_ref of each Sighting.",
)
@click.option("--identity-name", help="Also write the identity object, with this name.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="auto",
    show_default=True,
    help="Input format (auto: from each file's first bytes).",
)
@click.option(
    "--csv-map",
    "csv_maps",
    multiple=True,
    metavar="COLUMN=TYPE[#N]:PATH",
    help="Map a CSV column to an SCO property, e.g. src=ipv4-addr:value. Repeat per column.",
)
@click.option("--csv-time", metavar="COLUMN", help="CSV column with each row's time.")
@click.option("--csv-delimiter", default=",", show_default=True, help="CSV field separator.")
@click.option(
    "--window",
    metavar="DURATION",
    callback=_window_s,
    help="One Sighting per indicator per window of this length (30s, 15m, 1h, 1d, or"
    " seconds) of the observations' times, aligned to the Unix epoch; ids are stable, so a"
    " re-run updates them. Default: one per indicator for the whole run.",
)
@click.option(
    "--output",
    "-o",
    metavar="FILE",
    help="Write the Sightings bundle here (default: standard output, unless --report-to).",
)
@click.option(
    "--report-to", metavar="COLLECTION-URL", help="POST the Sightings to this collection."
)
@click.option("--user", help="HTTP Basic user for the hub (default: a Bearer token).")
@click.option(
    "--token",
    envvar="KAKEHASHI_TOKEN",
    show_envvar=True,
    help="The hub token (prefer the environment variable: options show in process lists).",
)
@click.option(
    "--tlp",
    type=click.Choice([t.label for t in Tlp]),
    help="Mark the Sightings with this TLP 2.0 level (otherwise the hub's default applies).",
)
@click.pass_context
def match_command(
    ctx: click.Context,
    logs: tuple[str, ...],
    indicator_sources: tuple[str, ...],
    identity: str,
    identity_name: str | None,
    fmt: str,
    csv_maps: tuple[str, ...],
    csv_time: str | None,
    csv_delimiter: str,
    window: int | None,
    output: str | None,
    report_to: str | None,
    user: str | None,
    token: str | None,
    tlp: str | None,
) -> None:
    """Match logs against indicators and write STIX 2.1 Sightings.

    LOGS are Zeek (conn, dns, http, files; TSV or JSON), Suricata eve.json, STIX
    observed-data (bundles or JSON lines) or CSV files, gzipped or not; `-` (the default)
    reads standard input. Only indicators valid now are used: the latest version, not
    revoked, within valid_from/valid_until. Progress and a summary go to standard error.
    """
    if not _IDENTITY.fullmatch(identity):
        raise click.BadParameter("expected identity--<uuid>", param_hint="--identity")
    needs_hub = report_to is not None or any(_is_url(s) for s in indicator_sources)
    if needs_hub and not token:
        raise click.UsageError("a hub URL needs a token: give --token or set KAKEHASHI_TOKEN")
    if report_to is not None and not _is_url(report_to):
        raise click.BadParameter("expected an http(s) collection URL", param_hint="--report-to")
    layout = _csv_layout(csv_maps, csv_time, csv_delimiter)
    stdin = sys.stdin.buffer
    started_us = now_us()
    client = TaxiiClient(username=user, token=token or "") if needs_hub else None
    try:
        index = _load_indicators(indicator_sources, client=client, stdin=stdin, at_us=started_us)
        run = _run(
            index,
            logs or ("-",),
            fmt=fmt,
            layout=layout,
            stdin=stdin,
            at_us=started_us,
            window_us=None if window is None else window * 1_000_000,
        )
        click.echo(render_summary(index, run), err=True)
        created_us = now_us()
        marking = [TLP_2_MARKING_IDS[Tlp.parse(tlp)]] if tlp else []
        objects = sightings(
            run.matches, identity=identity, created_us=created_us, marking_refs=marking
        )
        if identity_name:
            objects.insert(0, identity_object(identity, identity_name))
        if output is not None or report_to is None:
            with click.open_file(
                output or "-", "w", encoding="utf-8", atomic=output not in (None, "-")
            ) as out:
                write_bundle(objects, out)
        if report_to is not None:
            assert client is not None
            try:
                stored, failures = post_objects(client, report_to, objects)
            except PeerError as exc:
                raise HubProblem(f"the Sightings were not posted: {exc}") from exc
            click.echo(f"Posted {len(objects)} object(s) to {report_to}: {stored} stored", err=True)
            if failures:
                for failure in failures[:20]:
                    click.echo(f"  refused: {failure}", err=True)
                raise HubProblem(f"{len(failures)} object(s) were refused by {report_to}")
    finally:
        if client is not None:
            client.close()
    if run.interrupted:
        ctx.exit(1)
    if not run.complete:
        raise InputProblem("the run ended early; the Sightings cover the input read until then")


def _run(
    index: Index,
    logs: tuple[str, ...],
    *,
    fmt: str,
    layout: CsvLayout | None,
    stdin: IO[bytes],
    at_us: int,
    window_us: int | None,
) -> RunResult:
    total = 0
    for path in logs:
        if path != "-":
            try:
                with open(path, "rb") as probe:
                    total += probe.seek(0, 2)
            except OSError:
                pass  # reported when the run reaches it
    matcher = Matcher(index, window_us=window_us)
    with click.progressbar(length=max(total, 1), label="Matching", file=sys.stderr) as bar:
        return match_inputs(
            matcher,
            logs,
            fmt=fmt,
            now_us=at_us,
            csv_layout=layout,
            stdin=stdin,
            progress=bar.update,
        )
