"""``kakehashi sync`` and ``kakehashi peers``: federation from the command line."""

from __future__ import annotations

import json
import sys

import click

from kakehashi.cli.base import (
    EXIT_PEER,
    ConfigProblem,
    Context,
    HubCommandError,
    cli,
    pass_context,
)
from kakehashi.errors import HubError


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
                sys.exit(EXIT_PEER)
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
