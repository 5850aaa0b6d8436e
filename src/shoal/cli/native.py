"""`shoal native`: build, remove or report the mypyc-compiled modules (see shoal.native)."""

from __future__ import annotations

import os
from enum import StrEnum
from typing import Annotated

import typer


class Action(StrEnum):
    STATUS = "status"
    BUILD = "build"
    CLEAN = "clean"


def register(app: typer.Typer) -> None:
    @app.command()
    def native(
        action: Annotated[Action, typer.Argument(help="status, build or clean.")] = Action.STATUS,
        jobs: Annotated[
            int, typer.Option("--jobs", min=1, help="Compilers run in parallel.")
        ] = os.cpu_count() or 1,
    ) -> None:
        """Compile the per-event modules with mypyc (about 2x faster), or say what runs.

        `make install` runs `shoal native build` in a development checkout; it is a no-op when
        the build is fresh. A source edited after the build is run from source (all compiled
        modules are then skipped, with a warning) until the next build; SHOAL_NATIVE=0 skips
        them too.
        """
        from shoal import native as nat

        if action is Action.BUILD:
            try:
                built = nat.build(jobs)
            except ImportError as exc:
                typer.echo(f"error: building needs mypy and setuptools ({exc})", err=True)
                raise typer.Exit(2) from None
            typer.echo(
                f"compiled: {len(built)} extension files" if built else "compiled modules are fresh"
            )
        elif action is Action.CLEAN:
            typer.echo(f"removed {len(nat.clean())} extension files")
        else:
            typer.echo(nat.status())
