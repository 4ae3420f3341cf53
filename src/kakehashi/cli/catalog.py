"""What the exposure commands share: the catalog, a hub client and its options, and the
organisation check (``kakehashi advisories``, ``assets`` and ``exposure``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from kakehashi.cli.base import EXIT_PEER, Context, HubCommandError
from kakehashi.config import Settings
from kakehashi.errors import HubError

if TYPE_CHECKING:
    # Imported where used: they pull in psycopg, httpx and the pattern compiler, and every
    # `kakehashi` command imports this module to register its commands.
    from kakehashi.store.catalog import Catalog
    from kakehashi.sync.client import TaxiiClient


__all__ = ["HubProblem", "hub_options", "known_organization", "open_catalog", "taxii_client"]


class HubProblem(click.ClickException):
    """A hub could not be read from or posted to."""

    exit_code = EXIT_PEER


def open_catalog(context: Context, settings: Settings) -> Catalog:
    """The exposure catalog of the configured database, opened (migrated)."""
    from kakehashi import store

    try:
        catalog = store.open_catalog(settings.hub.database, base_dir=settings.base_dir)
        catalog.open()
    except HubError as exc:
        raise HubCommandError(exc) from exc
    return catalog


def taxii_client(user: str | None, token: str | None, what: str) -> TaxiiClient:
    """A TAXII client for ``--user``/``--token``; a usage error without a token."""
    from kakehashi.sync.client import TaxiiClient

    if not token:
        raise click.UsageError(f"{what} needs a token: give --token or set KAKEHASHI_TOKEN")
    return TaxiiClient(username=user, token=token)


def hub_options(command: Any) -> Any:
    """``--user`` and ``--token`` (or ``KAKEHASHI_TOKEN``) for a command that talks to a hub."""
    command = click.option(
        "--token",
        envvar="KAKEHASHI_TOKEN",
        show_envvar=True,
        help="The hub token (prefer the environment variable: options show in process lists).",
    )(command)
    return click.option("--user", help="HTTP Basic user for the hub (default: a Bearer token).")(
        command
    )


def known_organization(settings: Settings, key: str, hint: str = "--org") -> str:
    """``key`` if the configuration defines that organisation, else a usage error."""
    if not any(o.key == key for o in settings.organizations):
        known = ", ".join(sorted(o.key for o in settings.organizations))
        raise click.BadParameter(
            f"no organisation {key!r} in the configuration ({known})", param_hint=hint
        )
    return key
