"""The per-message file readers: Parquet rows decoded once, errors located by row."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shoal.errors import MessageError
from shoal.spec.importer import parquet_rows, read_messages

NOW = datetime(2026, 11, 28, tzinfo=UTC)


def test_bad_json_in_an_object_column_is_located_and_passed_on_by_parquet_rows(
    tmp_path: Path,
) -> None:
    path = tmp_path / "m.parquet"
    pq.write_table(
        pa.table(
            {
                "type": ["track", "track"],
                "userId": ["u", "u"],
                "event": ["E", "E"],
                "properties": ['{"a": 1}', "{bad"],
            }
        ),
        path,
    )
    with pytest.raises(MessageError) as err:
        list(read_messages(path, received_at=NOW))
    assert (err.value.code, err.value.location) == ("invalid_json", f"{path}:row 2.properties")
    assert [m.properties for m in read_messages(path, received_at=NOW, strict=False)] == [{"a": 1}]
    assert [r["properties"] for r in parquet_rows(path)] == [{"a": 1}, "{bad"]
