"""`shoal compile`: show the SQL a definition compiles to, for a dialect."""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import Annotated

import typer

from shoal.cli.common import friendly


class Dialect(StrEnum):
    duckdb = "duckdb"
    spark = "spark"


class TargetChoice(StrEnum):
    users = "users"
    accounts = "accounts"


class KindChoice(StrEnum):
    audience = "audience"
    trait = "trait"


def register(app: typer.Typer) -> None:
    @app.command("compile")
    @friendly
    def compile_(
        query: Annotated[str, typer.Argument(help="The definition; '-' reads standard input.")],
        dialect: Annotated[Dialect, typer.Option(help="SQL dialect to print.")] = Dialect.duckdb,
        as_of: Annotated[
            str | None,
            typer.Option(help="The instant windows are relative to (ISO-8601) [default: now]."),
        ] = None,
        target: Annotated[
            TargetChoice, typer.Option("--type", help="users or accounts.")
        ] = TargetChoice.users,
        kind: Annotated[
            KindChoice | None,
            typer.Option(help="audience or trait [default: by the definition's result type]."),
        ] = None,
        include_anonymous: Annotated[
            bool, typer.Option(help="Let profiles with only an anonymous_id qualify.")
        ] = False,
    ) -> None:
        """Print the SQL of a definition over the relations in docs/eval.md (user values are
        literals in the tree, never pasted text)."""
        from shoal import lang
        from shoal.cli.eval import parse_instant
        from shoal.clock import SystemClock
        from shoal.engines import Failure, compile_request
        from shoal.engines.sql import UnsupportedError, compile_sql

        text = sys.stdin.read() if query == "-" else query
        compiled = compile_request(
            "query",
            text,
            target=target.value,
            kind=kind.value if kind else None,
            include_anonymous=include_anonymous,
        )
        if isinstance(compiled, Failure):
            assert compiled.cause is not None
            typer.echo(lang.render_error(text, compiled.cause), err=True)
            raise typer.Exit(2)
        now = parse_instant(as_of, "--as-of") if as_of else SystemClock().now()
        try:
            sql = compile_sql(
                compiled.definition,
                now=now,
                dialect=dialect.value,
                include_anonymous=include_anonymous,
            )
        except UnsupportedError as exc:
            typer.echo(f"error[unsupported]: {exc}", err=True)
            raise typer.Exit(2) from None
        typer.echo(sql)
