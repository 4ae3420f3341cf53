"""``kakehashi audit``: verify the hash chain, answer who received what."""

from __future__ import annotations

import json
import sys

import click

from kakehashi.cli.base import (
    EXIT_TAMPERED,
    Context,
    HubCommandError,
    cli,
    pass_context,
)
from kakehashi.errors import HubError


@cli.group()
def audit() -> None:
    """The tamper-evident audit trail: what was written and released, to whom."""


@audit.command("verify")
@pass_context
def audit_verify(context: Context) -> None:
    """Check the hash chain; exit 6 and name the first broken record if it was tampered."""
    from kakehashi.audit import verify_chain

    settings = context.settings()
    store = context.store(settings)
    try:
        count, head, broken = verify_chain(store.audit_records())
    except HubError as exc:
        raise HubCommandError(exc) from exc
    finally:
        store.close()
    if broken is not None:
        click.echo(f"audit chain BROKEN at record {broken.seq}: {broken.reason}", err=True)
        sys.exit(EXIT_TAMPERED)
    click.echo(f"audit chain OK: {count} records, head {head}")


@audit.command("show")
@click.option("--org", "organization", help="Only records of this organisation (key).")
@click.option("--object", "object_id", help="Only records that concern this STIX id.")
@click.option("--since", help="Only records at or after this time (YYYY-MM-DDTHH:MM:SSZ) or 7d.")
@click.option("--until", help="Only records before this time (YYYY-MM-DDTHH:MM:SSZ) or 7d (ago).")
@click.option(
    "--action",
    type=click.Choice(["write", "release", "delete", "export"]),
    help="Only this kind of record.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@pass_context
def audit_show(
    context: Context,
    organization: str | None,
    object_id: str | None,
    since: str | None,
    until: str | None,
    action: str | None,
    as_json: bool,
) -> None:
    """Answer "who received this indicator?" and "what did we release to CERT B last week?"."""
    from kakehashi.config import parse_duration_s
    from kakehashi.stix.timestamps import format_us, now_us, parse_timestamp_us

    def moment(text: str | None, option: str) -> int | None:
        if not text:
            return None
        try:
            return parse_timestamp_us(text)
        except ValueError:
            try:
                return now_us() - int(parse_duration_s(text) * 1_000_000)
            except ValueError as exc:
                raise click.BadParameter(
                    "give a timestamp like 2026-11-01T00:00:00Z or a duration like 7d",
                    param_hint=option,
                ) from exc

    since_us = moment(since, "--since")
    until_us = moment(until, "--until")
    settings = context.settings()
    store = context.store(settings)
    shown = 0
    try:
        for record in store.audit_records(
            organization=organization, object_id=object_id, since_us=since_us
        ):
            entry = record.entry
            if action and str(entry.action) != action:
                continue
            if until_us is not None and entry.at_us >= until_us:
                break  # records are in chain order, which is time order
            pairs = [p for p in entry.objects if object_id is None or p[0] == object_id]
            shown += 1
            if as_json:
                click.echo(
                    json.dumps(
                        {
                            "seq": record.seq,
                            "at": format_us(entry.at_us),
                            "organization": entry.organization,
                            "account": entry.account,
                            "action": str(entry.action),
                            "collection": entry.collection_id,
                            "agreement": entry.agreement,
                            "detail": entry.detail,
                            "objects": [list(p) for p in pairs],
                            "prev_hash": record.prev_hash,
                            "hash": record.hash,
                        }
                    )
                )
                continue
            click.echo(
                f"#{record.seq} {format_us(entry.at_us)} {entry.action:<7} {entry.organization}"
                f" ({entry.account}) {entry.detail} collection {entry.collection_id}"
                f"{' agreement ' + entry.agreement if entry.agreement else ''}:"
                f" {len(pairs)} object version(s)"
            )
            for pair_id, version in pairs[:20]:
                click.echo(f"    {pair_id} {version}")
            if len(pairs) > 20:
                click.echo(f"    ... and {len(pairs) - 20} more (use --json for all)")
    except HubError as exc:
        raise HubCommandError(exc) from exc
    finally:
        store.close()
    if not as_json:
        click.echo(f"{shown} record(s)", err=True)
