"""Commands over a data directory: `keys`, `spaces`, `stats`, `import`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

from shoal.cli.common import ConfigOption, DataOption, friendly, print_json, settings
from shoal.cli.target import open_target

SpaceOption = Annotated[str, typer.Option("--space", help="Space to use.")]

spaces_app = typer.Typer(help="List and create spaces (tenants with their own keys and data).")


def register(app: typer.Typer) -> None:
    app.add_typer(spaces_app, name="spaces")

    @app.command()
    @friendly
    def keys(
        data: DataOption = None,
        config: ConfigOption = None,
        space: Annotated[str | None, typer.Option(help="Only this space.")] = None,
        json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """Print each space's write key (Tracking API) and access token (Profile API)."""
        with open_target(settings(config, data=data)) as target:
            rows = [s for s in target.spaces() if space is None or s["space"] == space]
        if json:
            print_json(rows)
            return
        for row in rows:
            typer.echo(f"space {row['space']}")
            typer.echo(f"  write key     {row['write_key']}")
            typer.echo(f"  access token  {row['access_token']}")

    @app.command()
    @friendly
    def stats(
        data: DataOption = None,
        config: ConfigOption = None,
        space: Annotated[str | None, typer.Option(help="Only this space.")] = None,
    ) -> None:
        """Print counts as JSON: events, profiles, accounts (works with or without a server)."""
        with open_target(settings(config, data=data)) as target:
            print_json(target.stats(space))

    @app.command("import")
    @friendly
    def import_(
        file: Annotated[Path, typer.Argument(help="JSON Lines (.jsonl) or Parquet (.parquet).")],
        data: DataOption = None,
        config: ConfigOption = None,
        space: SpaceOption = "default",
    ) -> None:
        """Import Segment messages through the same validation and dedupe as the Tracking API."""
        from shoal.errors import InputFileError
        from shoal.spec.importer import file_format
        from shoal.store.bulk import import_size

        if not file.is_file():
            raise InputFileError("no such file", location=str(file))
        file_format(file)
        conf = settings(config, data=data)
        parquet = file.suffix.lower() in (".parquet", ".pq")
        console = Console(stderr=True)
        columns = [
            TextColumn("[bold]importing[/] {task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>5.1f}%"),
            TextColumn("{task.completed:,.0f} rows") if parquet else TransferSpeedColumn(),
            TimeRemainingColumn(),
        ]
        total = import_size(file)
        with open_target(conf) as target, Progress(*columns, console=console) as bar:
            task = bar.add_task(file.name, total=total)
            report = target.import_file(file, space, lambda n: bar.advance(task, n))
        print_json(report)
        if report["rejected"]:
            typer.echo(
                f"{report['rejected']} invalid messages were skipped (first errors above)",
                err=True,
            )


@spaces_app.command("list")
@friendly
def list_spaces(data: DataOption = None, config: ConfigOption = None) -> None:
    """List spaces with their credentials as JSON."""
    with open_target(settings(config, data=data)) as target:
        print_json(target.spaces())


@spaces_app.command("create")
@friendly
def create_space(
    name: Annotated[str, typer.Argument(help="Space name: lower-case letters, digits, - or _.")],
    data: DataOption = None,
    config: ConfigOption = None,
) -> None:
    """Create a space with a new write key and access token."""
    with open_target(settings(config, data=data)) as target:
        print_json(target.create_space(name))
