"""`shoal members` and `shoal changes`: what the real-time engine keeps, and what it changed."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.table import Table

from shoal.cli.common import ConfigOption, DataOption, friendly, print_json, settings
from shoal.cli.target import open_target

SpaceOption = Annotated[str, typer.Option("--space", help="Space of the definition.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON (changes: one per line).")]


def _value(value: Any) -> str:
    return "" if value is None else orjson.dumps(value).decode()


def _line(change: dict[str, Any]) -> str:
    what = change["kind"]
    if what == "changed":
        what = f"{_value(change['old']) or '∅'} → {_value(change['new']) or '∅'}"
    cause = f"  (event {change['cause']})" if change["cause"] else "  (time)"
    return f"#{change['seq']}  {change['at']}  {change['key']}  {change['name']}  {what}{cause}"


def register(app: typer.Typer) -> None:
    @app.command()
    @friendly
    def members(
        key: Annotated[str, typer.Argument(help="Key of an audience or computed trait.")],
        data: DataOption = None,
        config: ConfigOption = None,
        space: SpaceOption = "default",
        json: JsonOption = False,
    ) -> None:
        """Current members of an audience (or values of a computed trait), live.

        Through the running server when there is one; otherwise read off the change log.
        """
        with open_target(settings(config, data=data)) as target:
            found = target.members(space, key)
        if json:
            print_json(found)
            return
        console = Console()
        table = Table("profile", "value", title=f"{key}: {len(found)}", title_justify="left")
        for name, value in found.items():
            table.add_row(name, _value(value))
        console.print(table)

    @app.command()
    @friendly
    def changes(
        key: Annotated[
            str | None, typer.Argument(help="Only this definition's changes (default: all).")
        ] = None,
        data: DataOption = None,
        config: ConfigOption = None,
        space: SpaceOption = "default",
        after: Annotated[
            int, typer.Option("--after", help="Start after this change number (seq).")
        ] = 0,
        limit: Annotated[int, typer.Option("--limit", help="Most changes to print.")] = 1000,
        follow: Annotated[
            bool, typer.Option("--follow", "-f", help="Keep printing new changes as they happen.")
        ] = False,
        json: JsonOption = False,
    ) -> None:
        """The change log: audience entries and exits, computed-trait changes, oldest first."""
        with open_target(settings(config, data=data)) as target:
            printed = 0
            while True:
                size = 1000 if follow else min(limit - printed, 1000)
                batch = target.changes(space, key, after, size, 20.0 if follow else 0)
                for change in batch:
                    if json:
                        typer.echo(orjson.dumps(change).decode())
                    else:
                        typer.echo(_line(change))
                    after = change["seq"]
                printed += len(batch)
                if not follow and (not batch or printed >= limit):
                    break
