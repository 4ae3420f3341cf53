"""``kakehashi import`` and ``kakehashi export``: bundles in and out, under the same rules."""

from __future__ import annotations

import json
import sys
import uuid
from typing import IO

import click

from kakehashi.cli.base import (
    EXIT_INPUT,
    Context,
    HubCommandError,
    InputProblem,
    batches,
    cli,
    pass_context,
    resolve_collection,
)
from kakehashi.errors import HubError
from kakehashi.stix.envelope import split_envelope


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
    collection_id = resolve_collection(settings, collection)
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
            for chunk in batches(items, batch):
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
    collection_id = resolve_collection(settings, collection)
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
