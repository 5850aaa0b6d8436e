"""Reading Segment messages from files: JSON Lines and Parquet (format: docs/formats.md).

This is the per-message path (the same ``normalize`` as the Tracking API), used by ``shoal eval``,
the admin import endpoint and small files. ``shoal import`` of large files uses the vectorised
path in ``shoal.store.bulk``, which applies the same rules in SQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from shoal.errors import InputFileError, MessageError
from shoal.spec.message import Message
from shoal.spec.normalize import MAX_MESSAGE_BYTES, normalize

JSON_OBJECT_COLUMNS = ("properties", "traits", "context", "integrations")


@dataclass(slots=True)
class ParsedChunk:
    messages: list[Message] = field(default_factory=list)
    errors: list[MessageError] = field(default_factory=list)


def parse_jsonl_chunk(
    data: bytes,
    *,
    received_at: datetime,
    first_line: int = 1,
    source: str = "input",
    trust_received_at: bool = True,
) -> ParsedChunk:
    """Parse and validate JSON Lines; bad lines become errors located at ``source:line``."""
    out = ParsedChunk()
    for offset, line in enumerate(data.splitlines()):
        if not line.strip():
            continue
        where = f"{source}:{first_line + offset}"
        try:
            raw = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            out.errors.append(
                MessageError(f"invalid JSON: {exc}", code="invalid_json", location=where)
            )
            continue
        if len(line) > MAX_MESSAGE_BYTES:
            out.errors.append(
                MessageError(
                    f"the message is {len(line)} bytes; the limit is {MAX_MESSAGE_BYTES} bytes",
                    code="message_too_large",
                    location=where,
                )
            )
            continue
        try:
            out.messages.append(
                normalize(
                    raw, received_at=received_at, path=where, trust_received_at=trust_received_at
                )
            )
        except MessageError as exc:
            out.errors.append(exc)
    return out


def file_format(path: Path) -> str:
    """``jsonl`` or ``parquet``, by extension."""
    name = path.name.lower()
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    raise InputFileError(
        "unknown file type: use .jsonl/.ndjson (JSON Lines) or .parquet", location=str(path)
    )


def parquet_message(row: dict[str, Any], *, where: str) -> dict[str, Any]:
    """One Parquet row as a Segment message dict: JSON-text object columns decoded, typed
    timestamps as ISO strings, nulls dropped.

    Raises:
        MessageError: an object column holds text that is not JSON (``invalid_json``).
    """
    msg: dict[str, Any] = {}
    for key, value in row.items():
        if value is None:
            continue
        if key in JSON_OBJECT_COLUMNS and isinstance(value, str | bytes):
            try:
                value = orjson.loads(value)
            except orjson.JSONDecodeError as exc:
                raise MessageError(
                    f"invalid JSON in {key}: {exc}",
                    code="invalid_json",
                    location=f"{where}.{key}",
                ) from None
        elif isinstance(value, datetime):
            value = value.isoformat()
        msg[key] = value
    return msg


def parquet_batches(path: Path, batch_size: int = 10_000) -> Iterator[Any]:
    """The record batches of a Parquet file, with a located error when it cannot be read."""
    import pyarrow.parquet as pq

    try:
        reader = pq.ParquetFile(path)
    except (OSError, ValueError) as exc:
        raise InputFileError(f"cannot read Parquet: {exc}", location=str(path)) from None
    yield from reader.iter_batches(batch_size=batch_size)


def parquet_rows(path: Path) -> Iterator[dict[str, Any]]:
    """Parquet rows as message dicts for sending on; a row whose object column is not JSON is
    passed on with the text as it is, for the receiving server to reject."""
    number = 0
    for batch in parquet_batches(path):
        for row in batch.to_pylist():
            number += 1
            try:
                yield parquet_message(row, where=f"{path}:row {number}")
            except MessageError:
                yield {k: v for k, v in row.items() if v is not None}


def read_messages(path: Path, *, received_at: datetime, strict: bool = True) -> Iterator[Message]:
    """Every message of a JSON Lines or Parquet file, validated and normalised.

    Messages keep a ``receivedAt`` they carry; others get ``received_at``. With ``strict`` the
    first invalid message raises :class:`MessageError` located at ``file:line`` (or row).
    """
    if not path.is_file():
        raise InputFileError("no such file", location=str(path))
    if file_format(path) == "parquet":
        number = 0
        for batch in parquet_batches(path):
            for row in batch.to_pylist():
                number += 1
                where = f"{path}:row {number}"
                try:
                    yield normalize(
                        parquet_message(row, where=where),
                        received_at=received_at,
                        path=where,
                        trust_received_at=True,
                    )
                except MessageError:
                    if strict:
                        raise
        return
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            chunk = parse_jsonl_chunk(
                line, received_at=received_at, first_line=number, source=str(path)
            )
            if chunk.errors and strict:
                raise chunk.errors[0]
            yield from chunk.messages
