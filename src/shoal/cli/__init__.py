"""The `shoal` command line.

Every module in this package that defines ``register(app)`` adds its commands to the one Typer
application, so a new command is a new module here and nothing else.
"""

from __future__ import annotations

import importlib
import pkgutil

import typer

app = typer.Typer(
    name="shoal",
    help="Shoal: self-hosted, real-time audiences over Segment-spec events.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register_commands() -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        register = getattr(module, "register", None)
        if callable(register):
            register(app)


_register_commands()


def main() -> None:
    """Console-script entry point."""
    from shoal import gc_policy

    # Every command allocates per message (`shoal serve` re-applies its own setting).
    gc_policy.configure()
    app()
