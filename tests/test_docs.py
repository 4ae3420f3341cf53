"""The documentation in docs/ is checked against the code, as datasette's test_docs.py does.

Two kinds of block in the Markdown are generated from the code and must be current:

- ``<!-- help: kakehashi import -->`` … ``<!-- end help -->`` in docs/cli.md holds the
  ``--help`` output of that command;
- ``<!-- fields: HUB_FIELDS -->`` … ``<!-- end fields -->`` in docs/configuration.md holds
  the table of that ``Field`` tuple of :mod:`kakehashi.config`.

To regenerate both after changing a command or a setting, run::

    .venv/bin/python tests/test_docs.py

Everything else (every route, env variable, logger, exit code and option is mentioned) is
checked here and written by hand.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import kakehashi.cli as cli_module
from kakehashi import config
from kakehashi.api.taxii import TaxiiApi
from kakehashi.cli import cli
from kakehashi.config import Field, parse_settings
from kakehashi.store.sqlite import SqliteStore

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
SRC = ROOT / "src" / "kakehashi"
HELP_WIDTH = 80

HELP_BLOCK = re.compile(
    r"(?P<head><!-- help: (?P<command>kakehashi[a-z -]*?) -->\n```text\n)"
    r"(?P<body>.*?)"
    r"(?P<tail>```\n<!-- end help -->)",
    re.DOTALL,
)
FIELDS_BLOCK = re.compile(
    r"(?P<head><!-- fields: (?P<table>[A-Z_]+_FIELDS) -->\n)"
    r"(?P<body>.*?)"
    r"(?P<tail><!-- end fields -->)",
    re.DOTALL,
)


# -- generating the blocks ------------------------------------------------------------------


def command_paths(
    command: click.Command = cli, path: tuple[str, ...] = ("kakehashi",)
) -> Iterator[tuple[str, ...]]:
    """Every command of the CLI as the words that invoke it, groups included."""
    yield path
    if isinstance(command, click.Group):
        context = click.Context(command)
        for name in sorted(command.list_commands(context)):
            sub = command.get_command(context, name)
            assert sub is not None
            yield from command_paths(sub, (*path, name))


def command_at(path: tuple[str, ...]) -> click.Command:
    command: click.Command = cli
    for name in path[1:]:
        assert isinstance(command, click.Group)
        found = command.get_command(click.Context(command), name)
        assert found is not None
        command = found
    return command


def help_text(path: tuple[str, ...]) -> str:
    """``kakehashi … --help`` at a fixed width, so the docs do not depend on the terminal."""
    result = CliRunner().invoke(
        cli, [*path[1:], "--help"], prog_name="kakehashi", terminal_width=HELP_WIDTH
    )
    assert result.exit_code == 0, result.output
    return result.stdout


def _type_name(kind: type | tuple[type, ...]) -> str:
    names = {str: "string", int: "integer", bool: "boolean", list: "list of strings"}
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _default(value: object) -> str:
    if value is ...:
        return "**required**"
    if isinstance(value, str):
        return f'`"{value}"`'
    return f"`{value!r}`"


def field_table(fields: tuple[Field, ...]) -> str:
    """The Markdown table of one ``*_FIELDS`` tuple."""
    rows = ["| Key | Type | Default | Meaning |", "|---|---|---|---|"]
    rows += [
        f"| `{f.name}` | {_type_name(f.type)} | {_default(f.default)} | {f.help} |" for f in fields
    ]
    return "\n".join(rows) + "\n"


def field_tables() -> dict[str, tuple[Field, ...]]:
    """Every ``*_FIELDS`` tuple of kakehashi.config, so a new section cannot be forgotten."""
    return {name: value for name, value in vars(config).items() if name.endswith("_FIELDS")}


def regenerate(text: str) -> str:
    """``text`` with every generated block rewritten from the code."""

    def help_block(match: re.Match[str]) -> str:
        path = tuple(match["command"].split())
        return match["head"] + help_text(path) + match["tail"]

    def fields_block(match: re.Match[str]) -> str:
        return match["head"] + field_table(field_tables()[match["table"]]) + match["tail"]

    return FIELDS_BLOCK.sub(fields_block, HELP_BLOCK.sub(help_block, text))


GENERATED = ("cli.md", "configuration.md")


def main() -> None:
    for name in GENERATED:
        path = DOCS / name
        text = path.read_text(encoding="utf-8")
        new = regenerate(text)
        if new != text:
            path.write_text(new, encoding="utf-8")
            print(f"rewrote {path}")


# -- the checks -----------------------------------------------------------------------------


def read(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


@pytest.mark.parametrize("name", GENERATED)
def test_generated_blocks_are_current(name: str) -> None:
    text = read(name)
    assert regenerate(text) == text, (
        f"docs/{name} is stale: run `.venv/bin/python tests/test_docs.py` and commit the result"
    )


def test_every_cli_command_has_its_help_in_the_docs() -> None:
    documented = [match["command"] for match in HELP_BLOCK.finditer(read("cli.md"))]
    assert sorted(documented) == sorted(" ".join(p) for p in command_paths())


def _sections(text: str) -> dict[str, str]:
    """cli.md's ``## `kakehashi …` `` sections, with the generated help blocks removed."""
    prose = HELP_BLOCK.sub("", text)
    parts = re.split(r"^## `(kakehashi[a-z -]*)`\n", prose, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


@pytest.mark.parametrize("path", list(command_paths()), ids=" ".join)
def test_every_cli_option_and_argument_is_described(path: tuple[str, ...]) -> None:
    sections = _sections(read("cli.md"))
    words = " ".join(path)
    assert words in sections, f"docs/cli.md needs a section headed ## `{words}`"
    prose = sections[words]
    for param in command_at(path).params:
        if isinstance(param, click.Option):
            names = [name for name in param.opts if name.startswith("--")]
        else:
            names = [param.human_readable_name]
        for name in names:
            assert f"`{name}" in prose, f"{words}: {name} is not described in docs/cli.md"


def test_every_exit_code_is_documented() -> None:
    text = read("cli.md")
    codes = {name: value for name, value in vars(cli_module).items() if name.startswith("EXIT_")}
    assert codes, "kakehashi.cli defines its exit codes as EXIT_* constants"
    for name, value in codes.items():
        assert re.search(rf"^\| {value} \|", text, re.MULTILINE), f"{name} = {value} missing"


def test_every_config_field_is_documented() -> None:
    text = read("configuration.md")
    blocks = {match["table"]: match["body"] for match in FIELDS_BLOCK.finditer(text)}
    for table, fields in field_tables().items():
        assert table in blocks, f"docs/configuration.md has no <!-- fields: {table} --> block"
        for spec in fields:
            assert f"| `{spec.name}` |" in blocks[table], f"{table}: {spec.name} missing"


def test_every_environment_variable_is_documented() -> None:
    text = read("configuration.md")
    variables = {
        name
        for path in SRC.rglob("*.py")
        for name in re.findall(r"KAKEHASHI_[A-Z_]+", path.read_text(encoding="utf-8"))
    }
    assert {"KAKEHASHI_CONFIG", "KAKEHASHI_DATABASE", "KAKEHASHI_LISTEN"} <= variables
    for name in sorted(variables):
        assert f"`{name}`" in text, f"{name} is not documented in docs/configuration.md"


def test_configuration_examples_are_valid(tmp_path: Path) -> None:
    """Complete examples load; a fragment loads appended to the first complete example."""
    examples = re.findall(r"```toml\n(.*?)```", read("configuration.md"), re.DOTALL)
    complete = [text for text in examples if "[hub]" in text]
    assert complete, "docs/configuration.md shows a complete hub.toml"
    for text in examples:
        whole = text if text in complete else complete[0] + "\n" + text
        parse_settings(whole, base_dir=tmp_path, environ={})


def taxii_routes(tmp_path: Path) -> set[tuple[str, str]]:
    """(method, path with trailing slash) of every route the TAXII API serves."""
    settings = parse_settings('[hub]\ntitle = "t"\n', environ={})
    api = TaxiiApi(settings, SqliteStore(tmp_path / "never-opened.db"))
    routes: set[tuple[str, str]] = set()
    for route in api.routes():
        path = getattr(route, "path", "")
        methods = getattr(route, "methods", None) or set()
        routes |= {(method, path.rstrip("/") + "/") for method in methods}
    return routes


def test_every_taxii_route_is_documented(tmp_path: Path) -> None:
    text = read("taxii.md")
    routes = taxii_routes(tmp_path)
    assert ("POST", "/{api_root}/collections/{collection_id}/objects/") in routes
    for method, path in sorted(routes):
        if method == "HEAD":
            assert "`HEAD`" in text
            continue
        row = f"| `{method}` | `{path}` |"
        assert row in text, f"docs/taxii.md has no endpoint row starting {row}"


def test_every_logger_is_documented() -> None:
    text = read("operations.md")
    names: set[str] = set()
    for path in SRC.rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        module = ".".join(path.relative_to(SRC.parent).with_suffix("").parts)
        if "getLogger(__name__)" in source:
            names.add(module)
        names.update(re.findall(r"getLogger\(\"([a-z.]+)\"\)", source))
    assert "kakehashi.access" in names
    for name in sorted(names):
        assert f"`{name}`" in text, f"logger {name} is not documented in docs/operations.md"


def _slug(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_links_between_the_docs_resolve() -> None:
    anchors = {
        path.name: {_slug(h) for h in re.findall(r"^#+ (.*)$", read(path.name), re.MULTILINE)}
        for path in DOCS.glob("*.md")
    }
    for name in anchors:
        for target, fragment in re.findall(r"\]\(([\w.-]*\.md)?(?:#([\w-]+))?\)", read(name)):
            page = target or name
            assert page in anchors, f"docs/{name} links to a missing page {page}"
            if fragment:
                assert fragment in anchors[page], f"docs/{name} links to {page}#{fragment}"


if __name__ == "__main__":
    main()
