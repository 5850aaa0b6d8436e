"""Bulk import of JSON Lines and Parquet files into the event log (``shoal import``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from shoal.errors import InputFileError, MessageError
from shoal.spec.importer import file_format, parquet_rows, parse_jsonl_chunk
from shoal.spec.message import Message
from shoal.spec.normalize import normalize
from shoal.store.store import Store

Progress = Callable[[int], None]
"""Called with the number of input bytes (JSONL) or rows (Parquet) just consumed."""

_CHUNK_BYTES = 8 << 20
_CHUNK_ROWS = 50_000


@dataclass(slots=True)
class ImportReport:
    """What an import did."""

    read: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    errors: list[MessageError] = field(default_factory=list)

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


def _jsonl_chunks(
    path: Path, store: Store, progress: Progress
) -> Iterator[tuple[int, list[Message], list[MessageError]]]:
    line = 1
    with path.open("rb") as handle:
        while True:
            data = handle.read(_CHUNK_BYTES)
            if not data:
                return
            if not data.endswith(b"\n"):
                data += handle.readline()
            parsed = parse_jsonl_chunk(
                data, received_at=store.clock.now(), first_line=line, source=str(path)
            )
            line += data.count(b"\n")
            progress(len(data))
            yield len(parsed.messages) + len(parsed.errors), parsed.messages, parsed.errors


def _parquet_chunks(
    path: Path, store: Store, progress: Progress
) -> Iterator[tuple[int, list[Message], list[MessageError]]]:
    messages: list[Message] = []
    errors: list[MessageError] = []
    received_at = store.clock.now()
    for number, raw in enumerate(parquet_rows(path), start=1):
        try:
            messages.append(
                normalize(
                    raw,
                    received_at=received_at,
                    path=f"{path}:row {number}",
                    trust_received_at=True,
                )
            )
        except MessageError as exc:
            errors.append(exc)
        if len(messages) + len(errors) >= _CHUNK_ROWS:
            progress(len(messages) + len(errors))
            yield len(messages) + len(errors), messages, errors
            messages, errors = [], []
    progress(len(messages) + len(errors))
    yield len(messages) + len(errors), messages, errors


def import_file(
    store: Store, path: Path, *, space: str = "default", progress: Progress | None = None
) -> ImportReport:
    """Validate and store every message of ``path``; invalid ones are counted and reported.

    Messages go through the same rules and messageId deduplication as the Tracking API.
    """
    if not path.is_file():
        raise InputFileError("no such file", location=str(path))
    tick = progress or (lambda _: None)
    chunks = _parquet_chunks if file_format(path) == "parquet" else _jsonl_chunks
    report = ImportReport()
    for read, messages, errors in chunks(path, store, tick):
        result = store.append(space, messages)
        report.read += read
        report.accepted += result.accepted
        report.duplicates += result.duplicates
        report.rejected += len(errors)
        report.errors.extend(errors[: max(0, 100 - len(report.errors))])
    return report
