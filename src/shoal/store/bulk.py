"""Bulk import of JSON Lines and Parquet files into the event log (``shoal import``).

Vectorised: a chunk of the file (64 MB of lines, or a Parquet batch) is judged by DuckDB with the
rules of ``normalize`` written in SQL (:mod:`shoal.store.bulk_sql`). Rows the SQL is not sure
about, and every invalid row, are re-judged by ``normalize`` itself, so the error codes,
messages and locations are the Tracking API's. Valid rows are deduplicated by messageId within
the file (first occurrence wins) and against the space's whole log, numbered after the log's
last ``seq``, and inserted with one statement per chunk.

Writes never race the writer thread: each chunk's insert runs as a :meth:`EventWriter.call`, on
the writer thread between two group commits, and moves the writer's next ``seq`` and its
messageId memory past the rows it added. The heavy part (parsing and checking) runs before, on
the importing thread, while the writer keeps committing. When something observes commits (the
profile service's listeners, a suppression filter), rows are handed to the writer as messages
instead, so the observers see them exactly as they see Tracking API traffic.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import orjson
import pyarrow as pa

from shoal.errors import InputFileError, MessageError
from shoal.spec.importer import file_format, parquet_message
from shoal.spec.message import Message
from shoal.spec.normalize import MAX_MESSAGE_BYTES, normalize
from shoal.store import bulk_sql
from shoal.store.rows import SELECT_COLUMNS, messages_to_arrow, rows_to_messages
from shoal.store.store import Store
from shoal.store.writer import EventWriter

log = logging.getLogger(__name__)

Progress = Callable[[int], None]
"""Called with the number of input bytes (JSON Lines) or rows (Parquet) just consumed."""

_CHUNK_BYTES = 128 << 20
_CHUNK_ROWS = 250_000
_SCAN_BATCH = 8_192
_MAX_ERRORS = 100
_OUT = ", ".join(bulk_sql.OUTPUT_COLUMNS)


@dataclass(slots=True)
class ImportReport:
    """What an import did."""

    read: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    errors: list[MessageError] = field(default_factory=list)
    per_message: int = 0
    """Rows the SQL left to ``normalize`` (invalid or unusual ones); the rest were vectorised."""
    direct: int = 0
    """Rows of clean chunks, judged and stored by one statement (see ``_insert_clean``)."""

    def to_dict(self) -> dict[str, object]:
        return {
            "read": self.read,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "errors": [e.to_dict() for e in self.errors[:20]],
        }


def import_size(path: Path) -> int:
    """The progress total: bytes for JSON Lines, rows for Parquet."""
    if file_format(path) == "parquet":
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(path).metadata.num_rows)
    return path.stat().st_size


@dataclass(slots=True)
class _Chunk:
    """Part of the input as an Arrow table with a ``n`` (line or row number) column."""

    table: pa.Table
    select: str
    raw_of: Callable[[int], Any]
    """The decoded message of row ``n`` for the per-message path; raises MessageError."""
    where: Callable[[int], str]
    size: int
    """Progress units (bytes or rows) this chunk covers."""
    first: int
    """The line or row number of the chunk's first row (``n`` runs on densely from it)."""
    rows: int
    """How many rows (lines, blank ones included) the chunk holds."""


_SKIP = object()
"""raw_of's answer for a blank line: not a message at all."""


# -- JSON Lines -----------------------------------------------------------------------------------
def _jsonl_chunks(path: Path) -> Iterator[_Chunk]:
    source, fields, extra, clean = bulk_sql.jsonl_fields()
    select = bulk_sql.select_sql(source, fields, extra, clean)
    first_line = 1
    with path.open("rb") as handle:
        while True:
            data = handle.read(_CHUNK_BYTES)
            if not data:
                return
            if not data.endswith(b"\n"):
                data += handle.readline()
            size = len(data)
            if not data.endswith(b"\n"):
                data += b"\n"  # the file's last line has no newline
            buffer = np.frombuffer(data, dtype=np.uint8)
            ends = np.flatnonzero(buffer == 10)
            offsets = np.empty(len(ends) + 1, dtype=np.int64)
            offsets[0] = 0
            offsets[1:] = ends + 1
            # Lines (with their newline, which JSON reads as whitespace) over the chunk's bytes,
            # without copying them into Python objects.
            lines = pa.LargeStringArray.from_buffers(
                len(ends), pa.py_buffer(offsets.tobytes()), pa.py_buffer(data)
            )
            try:
                lines.validate(full=True)
            except pa.ArrowInvalid:
                lines = _utf8_only(data, offsets)
            numbers = pa.array(np.arange(first_line, first_line + len(ends), dtype=np.int64))
            yield _Chunk(
                table=_batched(pa.table({"n": numbers, "line": lines})),
                select=select,
                raw_of=_jsonl_reader(path, data, offsets, first_line),
                where=_located(str(path), ":"),
                size=size,
                first=first_line,
                rows=len(ends),
            )
            first_line += len(ends)


def _batched(table: pa.Table) -> pa.Table:
    """DuckDB scans Arrow record batches in parallel, one batch per thread at a time."""
    return pa.Table.from_batches(table.to_batches(max_chunksize=_SCAN_BATCH))


def _utf8_only(data: bytes, offsets: Any) -> pa.Array:
    """Lines that are not UTF-8 become empty (so they go to orjson, which names the problem)."""
    out: list[str] = []
    for start, end in pairwise(offsets):
        try:
            out.append(data[start:end].decode())
        except UnicodeDecodeError:
            out.append("")
    return pa.array(out, type=pa.large_string())


def _located(source: str, sep: str) -> Callable[[int], str]:
    return lambda n: f"{source}{sep}{n}"


def _jsonl_reader(path: Path, data: bytes, offsets: Any, first_line: int) -> Callable[[int], Any]:
    def raw_of(n: int) -> Any:
        index = n - first_line
        line = data[offsets[index] : offsets[index + 1]]
        if not line.strip():
            return _SKIP
        try:
            return orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise MessageError(
                f"invalid JSON: {exc}", code="invalid_json", location=f"{path}:{n}"
            ) from None

    return raw_of


# -- Parquet --------------------------------------------------------------------------------------
def _parquet_chunks(path: Path) -> Iterator[_Chunk]:
    import pyarrow.parquet as pq

    try:
        reader = pq.ParquetFile(path)
    except (OSError, ValueError) as exc:
        raise InputFileError(f"cannot read Parquet: {exc}", location=str(path)) from None
    select: str | None = None
    first_row = 1
    for batch in reader.iter_batches(batch_size=_CHUNK_ROWS):
        numbers = pa.array(np.arange(first_row, first_row + batch.num_rows, dtype=np.int64))
        table = _batched(pa.Table.from_batches([batch]).append_column("n", numbers))
        if select is None:
            # A private in-memory connection: this runs on the read-ahead thread.
            with duckdb.connect() as scratch:
                scratch.register("_bulk_input", table)
                described = scratch.execute("DESCRIBE SELECT * FROM _bulk_input").fetchall()
            columns = {str(row[0]): str(row[1]) for row in described}
            select = bulk_sql.select_sql(*bulk_sql.parquet_fields(columns))
        yield _Chunk(
            table=table,
            select=select,
            raw_of=_parquet_reader(path, batch, first_row),
            where=_located(str(path), ":row "),
            size=batch.num_rows,
            first=first_row,
            rows=batch.num_rows,
        )
        first_row += batch.num_rows


def _parquet_reader(path: Path, batch: pa.RecordBatch, first_row: int) -> Callable[[int], Any]:
    def raw_of(n: int) -> Any:
        row = batch.slice(n - first_row, 1).to_pylist()[0]
        return parquet_message(row, where=f"{path}:row {n}")

    return raw_of


# -- the import -----------------------------------------------------------------------------------
def import_file(
    store: Store, path: Path, *, space: str = "default", progress: Progress | None = None
) -> ImportReport:
    """Validate and store every message of ``path``; invalid ones are counted and reported.

    Messages go through the same rules and messageId deduplication as the Tracking API; a
    messageId already anywhere in the space's log is a duplicate.
    """
    if not path.is_file():
        raise InputFileError("no such file", location=str(path))
    tick = progress or (lambda _: None)
    cur = store.con.cursor()
    # This cursor is a connection of its own: UTC here makes timestamp arithmetic exact without
    # touching anyone else's session.
    cur.execute("SET TimeZone = 'UTC'")
    cur.execute("SET SESSION preserve_insertion_order = false")
    report = ImportReport()
    try:
        if file_format(path) == "parquet" and not store.writer.observed:
            stored = _parquet_direct(store, cur, path, space, tick)
            if stored is not None:
                report.read = report.accepted = report.direct = stored
                return report
        chunks = _jsonl_chunks(path) if file_format(path) == "jsonl" else _parquet_chunks(path)
        for chunk in _prefetched(chunks):
            _import_chunk(store, cur, chunk, space, report)
            tick(chunk.size)
    finally:
        cur.close()
    return report


def _prefetched(chunks: Iterator[_Chunk]) -> Iterator[_Chunk]:
    """Read and split the next chunk on a helper thread while DuckDB judges this one.

    At most one chunk waits, so memory stays bounded at about three chunks.
    """
    with ThreadPoolExecutor(1, thread_name_prefix="shoal-import-read") as pool:
        pending = pool.submit(next, chunks, None)
        while (chunk := pending.result()) is not None:
            pending = pool.submit(next, chunks, None)
            yield chunk


def _import_chunk(store: Store, cur: Any, chunk: _Chunk, space: str, report: ImportReport) -> None:
    now = store.clock.now()
    rows = chunk.rows
    if rows and not store.writer.observed:
        stored = store.writer.call(
            lambda _writer_cursor: _insert_clean(
                store.writer, cur, _Clean(chunk.select, chunk.first, rows, chunk.table), space, now
            )
        ).result()
        if stored:
            report.read += rows
            report.accepted += rows
            report.direct += rows
            return
    cur.register("_bulk_input", chunk.table)
    try:
        cur.execute(f"CREATE OR REPLACE TEMP TABLE _bulk_chunk AS {chunk.select}", {"now": now})
    finally:
        cur.unregister("_bulk_input")
    fast = cur.execute("SELECT count(*) FROM _bulk_chunk WHERE ok").fetchone()[0]
    unsure = [
        row[0]
        for row in cur.execute("SELECT n FROM _bulk_chunk WHERE NOT ok ORDER BY n").fetchall()
    ]
    slow_messages, slow_numbers = _judge(chunk, unsure, now, report)
    slow = messages_to_arrow(space, slow_messages, 0).append_column(
        "n", pa.array(slow_numbers, type=pa.int64())
    )
    cur.register("_bulk_slow_input", slow)
    cur.execute(
        f"CREATE OR REPLACE TEMP TABLE _bulk_slow AS SELECT n, {_OUT} FROM _bulk_slow_input"
    )
    cur.unregister("_bulk_slow_input")
    valid = int(fast) + len(slow_messages)
    report.read += valid
    if store.writer.observed:
        accepted = _through_writer(store, cur, space)
    else:
        accepted = store.writer.call(
            lambda _writer_cursor: _insert(store.writer, cur, space)
        ).result()
    report.accepted += accepted
    report.duplicates += valid - accepted


# A clean chunk (every row vectorised, no messageId seen before, in the file or the log) is
# judged and stored by one statement, with no intermediate table: materialising the judged rows
# cost as much as inserting them. Whether it was clean is only known afterwards, so the checks run
# inside the transaction and anything else rolls back to the general path.
_DUPLICATED = """
    SELECT (SELECT count(*) - count(DISTINCT message_id) FROM events
            WHERE seq >= $first AND seq < $end)
         + (SELECT count(*) FROM events AS old
            WHERE old.space = $space AND old.seq < $first AND old.message_id IN (
                SELECT message_id FROM events WHERE seq >= $first AND seq < $end))
"""


@dataclass(frozen=True, slots=True)
class _Clean:
    """What one clean statement needs: the judging SELECT over ``_bulk_input`` and its rows."""

    select: str
    first: int
    """``n`` of the first row; the rows' ``n`` run on densely from it."""
    rows: int
    table: pa.Table | None
    """Registered as ``_bulk_input`` for the statement; None when that is already a view."""


def _insert_clean(writer: EventWriter, cur: Any, chunk: _Clean, space: str, now: datetime) -> bool:
    """Runs on the writer thread. Stores the chunk if it is clean; otherwise changes nothing."""
    rows = chunk.rows
    first = writer.next_seq
    end = first + rows
    if chunk.table is not None:
        cur.register("_bulk_input", chunk.table)
    cur.execute("BEGIN")
    try:
        cur.execute(
            f"INSERT INTO events SELECT $first + n - $low, $space, {_OUT}"
            f" FROM ({chunk.select}) WHERE ok",
            {"first": first, "low": chunk.first, "space": space, "now": now},
        )
        clean = int(cur.fetchone()[0]) == rows
        if clean:
            params = {"first": first, "end": end, "space": space}
            clean = int(cur.execute(_DUPLICATED, params).fetchone()[0]) == 0
        cur.execute("COMMIT" if clean else "ROLLBACK")
    except Exception:
        cur.execute("ROLLBACK")
        raise
    finally:
        if chunk.table is not None:
            cur.unregister("_bulk_input")
    if clean:
        _adopt(writer, cur, space, first, end)
    return clean


def _parquet_direct(
    store: Store, cur: Any, path: Path, space: str, progress: Progress
) -> int | None:
    """A clean Parquet file in one statement, DuckDB reading the file itself (in parallel, with
    no Arrow hand-over): ~1.6x the chunked path. None when the file is not clean (or DuckDB
    cannot read it); nothing is then stored and the chunked path takes over."""
    try:
        rel = cur.read_parquet(str(path), file_row_number=True)
        columns = dict(zip(rel.columns, (str(t) for t in rel.types), strict=True))
        if "n" in columns:
            return None
        rel.project("* EXCLUDE (file_row_number), file_row_number + 1 AS n").create_view(
            "_bulk_input", replace=True
        )
    except duckdb.Error:
        return None
    del columns["file_row_number"]
    rows = import_size(path)
    select = bulk_sql.select_sql(*bulk_sql.parquet_fields(columns))
    chunk = _Clean(select, first=1, rows=rows, table=None)
    now = store.clock.now()
    cur.execute("SET enable_progress_bar = true")
    cur.execute("SET enable_progress_bar_print = false")
    try:
        future = store.writer.call(
            lambda _writer_cursor: _insert_clean(store.writer, cur, chunk, space, now)
        )
        done = 0
        while not future.done():
            # DuckDB reports the running statement's progress from another thread.
            reached = int(rows * max(0.0, min(100.0, cur.query_progress())) / 100)
            if reached > done:
                progress(reached - done)
                done = reached
            with contextlib.suppress(TimeoutError):
                future.result(timeout=0.25)
        clean = bool(future.result())
    except duckdb.Error as exc:
        # Rolled back: DuckDB's reader typed a column in a way the rules did not foresee.
        # The chunked path reads through pyarrow and judges doubtful rows one by one.
        log.info("whole-file Parquet import fell back to chunks: %s", exc)
        return None
    finally:
        cur.execute("DROP VIEW IF EXISTS _bulk_input")
    if not clean:
        return None
    progress(rows - done)
    return rows


def _adopt(writer: EventWriter, cur: Any, space: str, first: int, end: int) -> None:
    ids = cur.execute(
        "SELECT message_id FROM events WHERE seq >= ? AND seq < ?", [first, end]
    ).fetchall()
    writer.adopt(space, end, [row[0] for row in ids])


def _judge(
    chunk: _Chunk, numbers: list[int], now: datetime, report: ImportReport
) -> tuple[list[Message], list[int]]:
    """The per-message path for the rows the SQL left: normalize() decides."""
    messages: list[Message] = []
    kept: list[int] = []
    report.per_message += len(numbers)
    for n in numbers:
        where = chunk.where(n)
        try:
            raw = chunk.raw_of(n)
            if raw is _SKIP:
                continue
            size = len(orjson.dumps(raw))
            if size > MAX_MESSAGE_BYTES:
                raise MessageError(
                    f"the message is {size} bytes; the limit is {MAX_MESSAGE_BYTES} bytes",
                    code="message_too_large",
                    location=where,
                )
            messages.append(normalize(raw, received_at=now, path=where, trust_received_at=True))
            kept.append(n)
        except MessageError as exc:
            report.read += 1
            report.rejected += 1
            if len(report.errors) < _MAX_ERRORS:
                report.errors.append(exc)
    return messages, kept


_CANDIDATES = f"""
    SELECT n, {_OUT} FROM _bulk_chunk WHERE ok
    UNION ALL SELECT n, {_OUT} FROM _bulk_slow
"""
# First occurrence in the file wins; a messageId anywhere in the space's log is a duplicate.
# Worked out on (n, message_id) only, then joined back: sorting and windowing the whole rows
# would cost twice as much.
_KEEP = f"""
    CREATE OR REPLACE TEMP TABLE _bulk_keep AS
    SELECT n, $first + row_number() OVER (ORDER BY n) - 1 AS seq FROM (
        SELECT n, message_id FROM ({_CANDIDATES}) AS c
        WHERE NOT EXISTS (
            SELECT 1 FROM events AS e WHERE e.space = $space AND e.message_id = c.message_id
        )
        QUALIFY row_number() OVER (PARTITION BY message_id ORDER BY n) = 1
    )
"""
_NEW_ROWS = f"SELECT k.seq, c.* FROM ({_CANDIDATES}) AS c JOIN _bulk_keep AS k USING (n)"


def _insert(writer: EventWriter, cur: Any, space: str) -> int:
    """Runs on the writer thread: no commit can interleave, so the log's next seq is ours."""
    first = writer.next_seq
    cur.execute("BEGIN")
    try:
        cur.execute(_KEEP, {"first": first, "space": space})
        kept, low, high = cur.execute("SELECT count(*), min(n), max(n) FROM _bulk_keep").fetchone()
        total = cur.execute("SELECT count(*) FROM _bulk_chunk").fetchone()[0]
        if kept == total and kept and high - low + 1 == kept:
            # The usual chunk: every row valid, vectorised and new. It is already in line
            # order, so it is numbered by its line and copied as is: no join, no sort.
            cur.execute(
                f"INSERT INTO events SELECT $first + n - $low, $space, {_OUT} FROM _bulk_chunk",
                {"first": first, "low": low, "space": space},
            )
        else:
            cur.execute(
                f"INSERT INTO events SELECT seq, $space, {_OUT} FROM ({_NEW_ROWS}) ORDER BY seq",
                {"space": space},
            )
        count = int(cur.fetchone()[0])
        cur.execute("COMMIT")
    except Exception:
        cur.execute("ROLLBACK")
        raise
    _adopt(writer, cur, space, first, first + count)
    return count


def _through_writer(store: Store, cur: Any, space: str) -> int:
    """Commit observers need Message objects: hand the new rows to the writer as the API does."""
    names = SELECT_COLUMNS.replace("seq, space, ", "")
    cur.execute(_KEEP, {"first": 0, "space": space})
    cur.execute(
        f"SELECT 0 AS seq, $space AS space, {names} FROM ({_NEW_ROWS}) ORDER BY seq",
        {"space": space},
    )
    accepted = 0
    while rows := cur.fetchmany(10_000):
        accepted += store.append(space, list(rows_to_messages(rows))).accepted
    return accepted
