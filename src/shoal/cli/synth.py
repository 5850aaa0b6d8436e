"""`shoal synth`: write a deterministic synthetic Segment dataset to a file."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def synth(
        users: Annotated[int, typer.Option("--users", min=1, help="Number of people.")] = 1000,
        days: Annotated[int, typer.Option("--days", min=1, help="Days of history.")] = 30,
        seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
        out: Annotated[
            Path,
            typer.Option("--out", help="Output file: .jsonl, .jsonl.gz or .parquet."),
        ] = Path("synth.jsonl"),
        end: Annotated[
            str | None,
            typer.Option(
                "--end",
                help="Exclusive end of the data, ISO-8601 (UTC if no zone) "
                "(default: today's midnight UTC).",
            ),
        ] = None,
        quiet: Annotated[bool, typer.Option("--quiet", help="No progress or summary.")] = False,
    ) -> None:
        """Generate e-commerce + B2B Segment messages over [end - days, end). Deterministic."""
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

        from shoal.cli.common import fail
        from shoal.errors import UserError
        from shoal.synth.output import (
            SynthConfig,
            default_end,
            output_format,
            parse_end,
            write_file,
        )

        try:
            output_format(out)
            end_at = parse_end(end) if end else default_end()
        except ValueError as exc:
            fail(UserError(str(exc), code="invalid_option"))
        config = SynthConfig(users=users, days=days, seed=seed, end=end_at)
        console = Console(stderr=True)
        show = not quiet and sys.stderr.isatty()
        started = time.perf_counter()
        with Progress(
            "[bold]synth[/]", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
            console=console, disable=not show, transient=True,
        ) as bar:  # fmt: skip
            task = bar.add_task("messages", total=None)
            rows = write_file(
                config,
                out,
                on_start=lambda total: bar.update(task, total=total),
                on_rows=lambda n: bar.advance(task, n),
            )
        elapsed = time.perf_counter() - started
        if not quiet:
            typer.echo(
                f"wrote {rows:,} messages to {out} in {elapsed:.1f}s "
                f"({rows / max(elapsed, 1e-9):,.0f}/s); end {end_at.isoformat()}",
                err=True,
            )
