"""Run the model and write JSON Lines, gzipped JSON Lines or Parquet, with optional progress."""

from __future__ import annotations

import gzip
import hashlib
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa

from shoal.synth import model, people, render

CHUNK_ROWS = 262_144
Progress = Callable[[int], None]


@dataclass(frozen=True)
class SynthConfig:
    users: int
    days: int
    seed: int
    end: datetime  # exclusive; events fall in [end - days, end)

    @property
    def end_ms(self) -> int:
        return int(self.end.astimezone(UTC).timestamp() * 1000)

    @property
    def tag(self) -> str:
        """Short hash of the arguments: ids from different runs never collide on import."""
        key = f"{self.users}|{self.days}|{self.seed}|{self.end_ms}".encode()
        return hashlib.blake2b(key, digest_size=4).hexdigest()


def default_end(now: datetime | None = None) -> datetime:
    """Midnight UTC at the start of today: stable for a whole day, so reruns match."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    return datetime(now.year, now.month, now.day, tzinfo=UTC)


@dataclass
class Prepared:
    events: model.Events
    dictionaries: render.Dictionaries
    id_prefix: str

    @property
    def rows(self) -> int:
        return len(self.events.t)


def prepare(config: SynthConfig) -> Prepared:
    if config.users < 1 or config.days < 1:
        raise ValueError("users and days must be at least 1")
    # Independent streams, so adding a draw to one stage does not reshuffle the others.
    seq = np.random.SeedSequence([config.seed, config.users, config.days, config.end_ms])
    sim_rng, people_rng, account_rng = (np.random.default_rng(s) for s in seq.spawn(3))
    world = model.simulate(config.users, config.days, config.end_ms, sim_rng)
    tag = config.tag
    persons = people.build_people(people_rng, tag, world.created_ms, world.user_plan)
    start_ms = config.end_ms - config.days * model.DAY
    accounts = people.build_accounts(account_rng, tag, world.n_accounts, start_ms)
    dictionaries = render.build_dictionaries(world, persons, accounts, tag)
    return Prepared(world.events, dictionaries, f"msg_{tag}_")


def chunks(prep: Prepared, size: int = CHUNK_ROWS) -> Iterator[dict[str, pa.Array]]:
    for lo in range(0, prep.rows, size):
        hi = min(prep.rows, lo + size)
        yield render.render_columns(prep.events, lo, hi, prep.dictionaries, prep.id_prefix)


def generate(config: SynthConfig) -> pa.Table:
    """All messages as one Arrow table in the Parquet schema (for tests and small runs)."""
    prep = prepare(config)
    batches = [_batch(cols) for cols in chunks(prep)]
    return pa.Table.from_batches(batches, schema=render.SCHEMA)


def _batch(cols: dict[str, pa.Array]) -> pa.RecordBatch:
    arrays = [
        cols[c].cast(pa.timestamp("us", tz="UTC")) if c == "timestamp" else cols[c]
        for c in render.COLUMNS
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=render.SCHEMA)


def output_format(path: Path) -> str:
    name = path.name.lower()
    if name.endswith((".jsonl.gz", ".ndjson.gz")):
        return "jsonl.gz"
    if name.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    raise ValueError(f"{path}: use a .jsonl, .jsonl.gz or .parquet file name")


def write_file(
    config: SynthConfig,
    path: Path,
    *,
    on_start: Callable[[int], None] | None = None,
    on_rows: Progress | None = None,
) -> int:
    """Write every message to ``path`` (format from the extension); returns the message count."""
    fmt = output_format(path)
    prep = prepare(config)
    if on_start:
        on_start(prep.rows)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        with pq.ParquetWriter(path, render.SCHEMA, compression="snappy") as writer:
            for cols in chunks(prep):
                writer.write_batch(_batch(cols))
                if on_rows:
                    on_rows(len(cols["type"]))
        return prep.rows
    with path.open("wb") as raw:
        if fmt == "jsonl.gz":
            # mtime=0 and no file name in the gzip header keep .gz output byte-identical.
            with gzip.GzipFile(filename="", fileobj=raw, mode="wb", compresslevel=5, mtime=0) as gz:
                _write_lines(prep, gz, on_rows)
        else:
            _write_lines(prep, raw, on_rows)
    return prep.rows


def _write_lines(prep: Prepared, sink: io.BufferedIOBase, on_rows: Progress | None) -> None:
    for cols in chunks(prep):
        sink.write(render.jsonl_text(cols))
        if on_rows:
            on_rows(len(cols["type"]))


def parse_end(text: str) -> datetime:
    """An ISO-8601 instant or date; a value without a zone is taken as UTC."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"--end {text!r} is not ISO-8601 (e.g. 2026-11-28 or 2026-11-28T00:00:00Z)"
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


__all__ = ["SynthConfig", "default_end", "generate", "parse_end", "write_file"]
