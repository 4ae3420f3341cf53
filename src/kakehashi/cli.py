"""The ``kakehashi`` command: thin sub-commands over the library.

Each command parses its options, calls the library and prints; :class:`HubError` is
turned into a :class:`click.ClickException` with a distinct exit code here and nowhere
else. Logging handlers are configured here, never by the library.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any

import click

from kakehashi.config import Settings, load_settings, parse_listen
from kakehashi.errors import ConfigError, HubError, StoreError
from kakehashi.stix.envelope import split_envelope
from kakehashi.store import Store, open_store

__all__ = ["main"]

EXIT_CONFIG = 3
EXIT_STORE = 4
EXIT_INPUT = 5
EXIT_TAMPERED = 6
EXIT_SYNC = 7


class ConfigProblem(click.ClickException):
    """The configuration file cannot be used."""

    exit_code = EXIT_CONFIG


class StoreProblem(click.ClickException):
    """The database failed."""

    exit_code = EXIT_STORE


class InputProblem(click.ClickException):
    """An input file or object was refused."""

    exit_code = EXIT_INPUT


def HubCommandError(error: HubError) -> click.ClickException:
    """The click exception (and so the exit code) for a library error."""
    if isinstance(error, ConfigError):
        return ConfigProblem(str(error))
    if isinstance(error, StoreError):
        return StoreProblem(str(error))
    return InputProblem(str(error))


@dataclass
class Context:
    """What the group callback resolves once for every sub-command."""

    config_path: Path

    def settings(self) -> Settings:
        try:
            return load_settings(self.config_path)
        except ConfigError as exc:
            raise HubCommandError(exc) from exc

    def store(self, settings: Settings) -> Store:
        try:
            store = open_store(
                settings.hub.database,
                base_dir=settings.base_dir,
                status_retention_s=settings.hub.status_retention_s,
            )
            store.open()
        except HubError as exc:
            raise HubCommandError(exc) from exc
        return store


pass_context = click.make_pass_decorator(Context)


@click.group()
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default="hub.toml",
    show_default=True,
    envvar="KAKEHASHI_CONFIG",
    help="The hub's configuration file. Env: KAKEHASHI_CONFIG.",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
    help="How much to log (to standard error).",
)
@click.version_option(package_name="kakehashi")
@click.pass_context
def cli(ctx: click.Context, config_path: Path, log_level: str) -> None:
    """Kakehashi: a TAXII 2.1 hub for sharing threat intelligence under agreements."""
    logging.basicConfig(
        level=getattr(logging, log_level.upper()),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # httpx logs every request at INFO; the sync engine logs what matters about peers.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLogger().level))
    ctx.obj = Context(config_path=config_path)


@cli.command()
@click.option("--listen", help="HOST:PORT to serve on (default from the config: 127.0.0.1:8470).")
@click.option(
    "--sync/--no-sync",
    default=True,
    show_default=True,
    help="Run federation with the configured peers in the background.",
)
@pass_context
def serve(context: Context, listen: str | None, sync: bool) -> None:
    """Serve the hub over TAXII 2.1 (and sync with its peers)."""
    import uvicorn

    from kakehashi.api import create_app

    settings = context.settings()
    if listen:
        settings = replace(settings, hub=replace(settings.hub, listen=listen))
    try:
        host, port = parse_listen(settings.hub.listen)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--listen") from exc
    try:
        store = open_store(
            settings.hub.database,
            base_dir=settings.base_dir,
            status_retention_s=settings.hub.status_retention_s,
        )
    except HubError as exc:
        raise HubCommandError(exc) from exc
    if sync:
        from kakehashi.sync import peer_token

        try:
            for peer in settings.peers:  # a missing secret stops start-up, before binding
                peer_token(peer, os.environ)
        except HubError as exc:
            raise HubCommandError(exc) from exc
    app = create_app(settings, store, sync=sync)
    shown_host = f"[{host}]" if ":" in host else host
    click.echo(
        f"Kakehashi hub '{settings.hub.title}' at http://{shown_host}:{port}/taxii2/", err=True
    )
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


@cli.group()
def token() -> None:
    """Account tokens."""


@token.command("new")
def token_new() -> None:
    """Print a fresh random token and the token_sha256 line for hub.toml.

    The token is shown once: give it to the account holder; only its digest goes into
    the configuration.
    """
    from kakehashi.api.auth import token_digest

    value = secrets.token_urlsafe(32)
    click.echo(f"token: {value}")
    click.echo(f'token_sha256 = "{token_digest(value)}"')


@cli.command("check-config")
@pass_context
def check_config(context: Context) -> None:
    """Validate the configuration file and summarise it."""
    settings = context.settings()
    click.echo(
        f"{context.config_path}: OK — {len(settings.organizations)} organisations,"
        f" {len(settings.accounts)} accounts, {len(settings.api_roots)} API roots,"
        f" {len(settings.collections)} collections"
    )


def _collection_id(settings: Settings, wanted: str) -> str:
    """A collection by id, or by alias when the alias is unique across API roots."""
    for collection in settings.collections:
        if wanted == collection.id:
            return collection.id
    by_alias = [c for c in settings.collections if c.alias and c.alias == wanted]
    if len(by_alias) > 1:
        roots = ", ".join(sorted(c.api_root for c in by_alias))
        raise click.BadParameter(
            f"alias {wanted!r} names a collection in several API roots ({roots}); give the id",
            param_hint="--collection",
        )
    if by_alias:
        return by_alias[0].id
    raise click.BadParameter(
        f"no collection {wanted!r} in the configuration", param_hint="--collection"
    )


def _batches(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@cli.command("import")
@click.argument("bundle", type=click.File("rb"))
@click.option("--collection", "collection", required=True, help="Collection id or alias.")
@click.option(
    "--as",
    "organization",
    help="Organisation key recorded as the writer (default: the first can_write organisation).",
)
@click.option(
    "--batch",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    help="Objects per transaction.",
)
@pass_context
def import_bundle(
    context: Context, bundle: IO[bytes], collection: str, organization: str | None, batch: int
) -> None:
    """Import a STIX 2.1 bundle (or TAXII envelope) file into a collection.

    Invalid objects are reported and skipped; the valid ones are stored.
    """
    from kakehashi.errors import InvalidEnvelope
    from kakehashi.ingest import Ingest
    from kakehashi.policy import Policy
    from kakehashi.stix.timestamps import now_us

    settings = context.settings()
    collection_id = _collection_id(settings, collection)
    target = next(c for c in settings.collections if c.id == collection_id)
    policy = Policy(settings)
    writers = [o.key for o in settings.organizations if policy.may_write(o.key, target)]
    writer = organization or (writers[0] if len(writers) == 1 else "")
    if not writer:
        raise click.BadParameter(
            f"name the writing organisation with --as (one of: {', '.join(writers) or 'none'})",
            param_hint="--as",
        )
    if writer not in writers:
        raise click.BadParameter(f"{writer!r} may not write to this collection", param_hint="--as")
    try:
        items, _ = split_envelope(bundle.read())
    except InvalidEnvelope as exc:
        raise HubCommandError(exc) from exc
    ingest = Ingest(settings, policy)
    store = context.store(settings)
    stored = failed = 0
    try:
        with click.progressbar(length=len(items), label="Importing", file=sys.stderr) as bar:
            for chunk in _batches(items, batch):
                # The same checks and marking definitions as a TAXII POST.
                result = store.add_objects(
                    ingest.request(
                        target,
                        writer,
                        chunk,
                        account="cli",
                        request_us=now_us(),
                        detail="kakehashi import",
                    )
                )
                stored += result.stored
                failed += len(result.status.failures)
                for failure in result.status.failures:
                    click.echo(f"failed: {failure.id or '(no id)'}: {failure.message}", err=True)
                bar.update(len(chunk))
    except HubError as exc:
        raise HubCommandError(exc) from exc
    finally:
        store.close()
    click.echo(f"{stored} stored, {len(items) - stored - failed} already present, {failed} failed")
    if failed:
        sys.exit(EXIT_INPUT)


@cli.command("export")
@click.option("--collection", "collection", required=True, help="Collection id or alias.")
@click.option(
    "--as",
    "organization",
    help="Export what this organisation may receive (the agreement and TLP apply).",
)
@click.option(
    "--all",
    "everything",
    is_flag=True,
    help="Export every object regardless of TLP (an operator's backup; recorded in the audit).",
)
@click.option("--output", "-o", type=click.File("wb"), default="-", help="File (default: stdout).")
@pass_context
def export_bundle(
    context: Context, collection: str, organization: str | None, everything: bool, output: IO[bytes]
) -> None:
    """Write a collection's object versions as a STIX 2.1 bundle.

    Exports obey the same rules as TAXII reads: name the receiving organisation with
    --as, or take everything with --all. Either way the release is audited.
    """
    from kakehashi.audit import AuditAction, AuditEntry
    from kakehashi.policy import Policy
    from kakehashi.stix.timestamps import now_us
    from kakehashi.stix.visibility import Visibility

    settings = context.settings()
    collection_id = _collection_id(settings, collection)
    target = next(c for c in settings.collections if c.id == collection_id)
    if everything == bool(organization):
        raise click.UsageError("give exactly one of --as ORGANISATION or --all")
    if everything:
        visibility = Visibility.all_objects()
        receiver = "(operator)"  # not a valid organisation key, so it cannot be mistaken for one
    else:
        assert organization is not None
        if organization not in {o.key for o in settings.organizations}:
            raise click.BadParameter(f"no organisation {organization!r}", param_hint="--as")
        allowed = Policy(settings).visibility(organization, target)
        if allowed is None:
            raise InputProblem(f"{organization} may not read collection {collection_id}")
        visibility, receiver = allowed, organization
    store = context.store(settings)
    released: list[tuple[str, str]] = []
    try:
        total = store.count_objects(collection_id, visibility)
        bundle_id = f"bundle--{uuid.uuid4()}"
        output.write(json.dumps({"type": "bundle", "id": bundle_id})[:-1].encode())
        with click.progressbar(length=total, label="Exporting", file=sys.stderr) as bar:
            for index, item in enumerate(store.iter_objects(collection_id, visibility)):
                # STIX 2.1 forbids empty lists: "objects" appears only with its first item.
                output.write(b"," if index else b',"objects":[')
                output.write(item.raw.encode("utf-8"))
                released.append((item.id, item.version))
                bar.update(1)
        output.write(b"]}\n" if released else b"}\n")
        output.flush()
        store.append_audit(
            AuditEntry(
                at_us=now_us(),
                organization=receiver,
                account="cli",
                action=AuditAction.EXPORT,
                collection_id=collection_id,
                agreement=target.agreement,
                objects=tuple(released),
                detail="kakehashi export --all" if everything else "kakehashi export --as",
            )
        )
    except HubError as exc:
        raise HubCommandError(exc) from exc
    finally:
        store.close()


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


@cli.command("sync")
@click.option("--peer", "peers", multiple=True, help="Only this peer (repeatable).")
@click.option("--once", is_flag=True, help="One pass over every mapping, then exit.")
@pass_context
def sync_command(context: Context, peers: tuple[str, ...], once: bool) -> None:
    """Pull from and push to the configured peers (without serving TAXII).

    With --once, exit 0 when every mapping succeeded and 7 when any failed; without it,
    keep syncing (long-polling Kakehashi peers, polling others) until interrupted.
    """
    import time

    from kakehashi.sync import SyncRunner

    settings = context.settings()
    if not settings.peers:
        raise ConfigProblem(f"{context.config_path}: no [[peers]] are configured")
    store = context.store(settings)
    try:
        runner = SyncRunner(settings, store, peers=peers or None)
    except HubError as exc:
        store.close()
        raise HubCommandError(exc) from exc
    try:
        if once:
            outcomes = runner.run_once()
            for outcome in outcomes:
                arrow = "<-" if outcome.direction == "pull" else "->"
                line = (
                    f"{outcome.peer} {outcome.mapping.local} {arrow} {outcome.mapping.remote}:"
                    f" {outcome.direction} {outcome.moved} object versions"
                )
                click.echo(line + (f", ERROR: {outcome.error}" if outcome.error else ""))
            if any(o.error for o in outcomes):
                sys.exit(EXIT_SYNC)
            return
        runner.start()
        click.echo("syncing; Ctrl-C to stop", err=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        runner.stop()
        store.close()


@cli.group()
def peers() -> None:
    """Federation peers."""


@peers.command("status")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per mapping.")
@pass_context
def peers_status(context: Context, as_json: bool) -> None:
    """Each mapping's cursor, lag (time since its last success), volume and last error."""
    from kakehashi.stix.timestamps import format_us, now_us

    settings = context.settings()
    store = context.store(settings)
    try:
        states = {
            (s.key.peer, s.key.remote_collection, s.key.local_collection, s.key.direction): s
            for s in store.sync_states()
        }
    except HubError as exc:
        raise HubCommandError(exc) from exc
    finally:
        store.close()
    now = now_us()
    rows: list[dict[str, object]] = []
    for peer in settings.peers:
        for mapping in peer.collections:
            for direction in [
                d for d, on in (("pull", mapping.pulls), ("push", mapping.pushes)) if on
            ]:
                state = states.get((peer.name, mapping.remote, mapping.local, direction))
                lag_s = (
                    (now - state.last_success_us) / 1e6 if state and state.last_success_us else None
                )
                rows.append(
                    {
                        "peer": peer.name,
                        "direction": direction,
                        "local": mapping.local,
                        "remote": mapping.remote,
                        "cursor": state.cursor if state else "",
                        "objects": state.objects if state else 0,
                        "last_success": format_us(state.last_success_us)
                        if state and state.last_success_us
                        else None,
                        "lag_seconds": round(lag_s, 1) if lag_s is not None else None,
                        "last_error": state.last_error if state else "",
                        "last_error_at": format_us(state.last_error_us)
                        if state and state.last_error_us
                        else None,
                    }
                )
    if as_json:
        for row in rows:
            click.echo(json.dumps(row))
        return
    for row in rows:
        lag = f"{row['lag_seconds']}s ago" if row["lag_seconds"] is not None else "never"
        click.echo(
            f"{row['peer']:<12} {row['direction']:<4} {row['local']} <-> {row['remote']}"
            f"  cursor={row['cursor'] or '-'}  objects={row['objects']}  last ok {lag}"
        )
        if row["last_error"]:
            click.echo(f"    last error ({row['last_error_at']}): {row['last_error']}")


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="kakehashi")
