"""The ``kakehashi`` command: thin sub-commands over the library.

Each command parses its options, calls the library and prints; :class:`HubError` is
turned into a :class:`click.ClickException` with a distinct exit code here and nowhere
else. Logging handlers are configured here, never by the library.
"""

from __future__ import annotations

# Importing the command modules registers their commands on the group.
from kakehashi.cli import advisories, assets, audit, exposure, objects, sync  # noqa: F401
from kakehashi.cli.base import (
    EXIT_CONFIG,
    EXIT_INPUT,
    EXIT_PEER,
    EXIT_STORE,
    EXIT_TAMPERED,
    cli,
)

# Imported when run (or listed): the pattern compiler costs a fifth of a second to import.
cli.lazy["match"] = "kakehashi.match.command:match_command"

__all__ = [
    "EXIT_CONFIG",
    "EXIT_INPUT",
    "EXIT_PEER",
    "EXIT_STORE",
    "EXIT_TAMPERED",
    "cli",
    "main",
]


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="kakehashi")
