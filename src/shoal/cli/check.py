"""`shoal check`: validate a definition and print its canonical form (or JSON form)."""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import Annotated

import typer

from shoal.cli.common import print_json
from shoal.errors import DefinitionError


class DefinitionKind(StrEnum):
    AUDIENCE = "audience"
    TRAIT = "trait"


class DefinitionTarget(StrEnum):
    USERS = "users"
    ACCOUNTS = "accounts"


def register(app: typer.Typer) -> None:
    @app.command()
    def check(
        query: Annotated[str, typer.Argument(help="The definition text; `-` reads stdin.")],
        kind: Annotated[
            DefinitionKind, typer.Option("--type", help="Audience (condition) or computed trait.")
        ] = DefinitionKind.AUDIENCE,
        target: Annotated[
            DefinitionTarget, typer.Option("--target", help="Evaluate over users or accounts.")
        ] = DefinitionTarget.USERS,
        as_json: Annotated[bool, typer.Option("--json", help="Print the JSON form.")] = False,
    ) -> None:
        """Check QUERY; print its canonical text, or the error with its position (exit 2)."""
        from shoal import lang

        text = sys.stdin.read() if query == "-" else query
        try:
            definition = lang.compile_definition(text, kind=kind.value, target=target.value)
        except DefinitionError as exc:
            typer.echo(lang.render_error(text, exc), err=True)
            raise typer.Exit(2) from None
        if as_json:
            print_json(lang.to_json(definition))
        else:
            typer.echo(lang.format_definition(definition))
