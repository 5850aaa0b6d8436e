"""Shared CLI plumbing: settings from flags, error printing, reaching the store or the server."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import orjson
import typer

from shoal.config import Settings, load_settings
from shoal.errors import UserError

P = ParamSpec("P")
R = TypeVar("R")

DataOption = Annotated[
    Path | None,
    typer.Option("--data", help="Data directory [env SHOAL_DATA; default ./shoal-data]."),
]
ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="Settings file [env SHOAL_CONFIG; default ./shoal.toml if any]."),
]


def settings(config: Path | None = None, **overrides: Any) -> Settings:
    """Defaults < shoal.toml < SHOAL_* env < flags."""
    return load_settings(config_file=config).with_overrides(**overrides)


def fail(exc: UserError, code: int = 2) -> None:
    location = f" at {exc.location}" if exc.location else ""
    typer.echo(f"error[{exc.code}]{location}: {exc.message}", err=True)
    raise typer.Exit(code)


def friendly(func: Callable[P, R]) -> Callable[P, R]:
    """Turn user errors into one readable line on stderr and exit status 2; no tracebacks."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except UserError as exc:
            fail(exc)
            raise AssertionError("unreachable") from exc

    return wrapper


def print_json(value: Any) -> None:
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n")
