"""Opening the data directory's DuckDB file, with a clear error when another process holds it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import duckdb

from shoal.errors import StoreBusyError
from shoal.store.schema import migrate

DB_FILE = "shoal.duckdb"

CHECKPOINT_THRESHOLD = "256MiB"
"""WAL size that triggers a checkpoint. DuckDB's default (16 MB) checkpoints about every second
under ingest, each re-compressing the table's partly filled last row group: on the ingest bench
that cost ~5 % throughput and tripled the acknowledgement p99 (bench/RESULTS.md). Recovery after
a crash replays at most this much WAL."""


def db_path(data: Path) -> Path:
    """Where the DuckDB file of a data directory lives."""
    return data / DB_FILE


def open_database(data: Path, *, create: bool = True) -> Any:
    """Open (and migrate) the store of ``data``.

    Raises:
        StoreBusyError: another process (usually ``shoal serve``) owns the file; DuckDB lets only
            one process open it, even read-only.
    """
    if create:
        data.mkdir(parents=True, exist_ok=True)
    path = db_path(data)
    try:
        con = duckdb.connect(str(path), config={"checkpoint_threshold": CHECKPOINT_THRESHOLD})
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise StoreBusyError(
                f"the data directory is in use by another process ({_holder(str(exc))}); "
                "stop it, or run this command while `shoal serve` is up so it goes through "
                "the server",
                location=str(path),
            ) from None
        raise
    migrate(con)
    return con


def _holder(message: str) -> str:
    marker = "PID "
    if marker in message:
        pid = message.split(marker, 1)[1].split(")", 1)[0].strip()
        return f"PID {pid}" if pid.isdigit() and pid != str(os.getpid()) else "this process"
    return "lock held"
