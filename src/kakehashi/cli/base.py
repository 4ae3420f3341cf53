"""The ``kakehashi`` command group, and what every sub-command shares.

Each command parses its options, calls the library and prints; :class:`HubError` is
turned into a :class:`click.ClickException` with a distinct exit code here and nowhere
else. Logging handlers are configured here, never by the library.
"""

from __future__ import annotations

import importlib
import logging
import os
import secrets
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import click

from kakehashi.config import Settings, load_settings, parse_listen
from kakehashi.errors import ConfigError, HubError, StoreError
from kakehashi.store import Store, open_store

__all__ = [
    "EXIT_CONFIG",
    "EXIT_INPUT",
    "EXIT_PEER",
    "EXIT_STORE",
    "EXIT_TAMPERED",
    "Context",
    "HubCommandError",
    "InputProblem",
    "cli",
    "pass_context",
]

EXIT_CONFIG = 3
EXIT_STORE = 4
EXIT_INPUT = 5
EXIT_TAMPERED = 6
EXIT_PEER = 7


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


class LazyGroup(click.Group):
    """A group whose heavier sub-commands are imported only when run or listed.

    ``lazy`` maps a command name to ``"module:attribute"``. ``kakehashi sync`` should not
    pay for importing the pattern compiler that ``kakehashi match`` needs.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy: dict[str, str] = {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = self.lazy.get(cmd_name)
        if target is not None and cmd_name not in self.commands:
            module, _, attribute = target.partition(":")
            self.add_command(getattr(importlib.import_module(module), attribute), cmd_name)
        return super().get_command(ctx, cmd_name)


@click.group(cls=LazyGroup)
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
    from kakehashi.sync import ChangeNotifier

    notifier = ChangeNotifier()
    app = create_app(settings, store, sync=sync, notifier=notifier)
    shown_host = f"[{host}]" if ":" in host else host
    click.echo(
        f"Kakehashi hub '{settings.hub.title}' at http://{shown_host}:{port}/taxii2/", err=True
    )

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: object) -> None:
            # Long-polls (the changes endpoint) would hold a graceful shutdown for up to a
            # minute: answer them now; peers simply ask again.
            notifier.close()
            super().handle_exit(sig, frame)  # type: ignore[arg-type]

    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=5,
    )
    Server(config).run()


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


def resolve_collection(settings: Settings, wanted: str) -> str:
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


def batches(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
