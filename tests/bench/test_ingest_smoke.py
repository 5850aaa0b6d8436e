"""The ingest benchmark runs end to end on tiny sizes (numbers only; never timing assertions)."""

from __future__ import annotations

from pathlib import Path

from bench import ingest


def test_quick_bench_produces_numbers(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    rows = ingest.main(
        [
            "--quick",
            "--seconds",
            "1",
            "--connections",
            "4",
            "--events",
            "3000",
            "--per-message-events",
            "500",
            "--results",
            str(results),
        ]
    )
    names = [row.what for row in rows]
    assert any("parse-only" in n for n in names)
    assert any("durable" in n for n in names)
    assert any("import JSONL" in n for n in names)
    assert any("import Parquet" in n for n in names)
    assert all(row.rate > 0 for row in rows)
    durable = next(row for row in rows if "durable" in row.what)
    assert durable.p50_ms is not None and durable.p99_ms is not None
    assert "True" in durable.note  # shoal stats counted exactly the acknowledged events
    text = results.read_text()
    assert text.startswith("# Benchmark results")
    assert "| shoal import Parquet (vectorised) |" in text
