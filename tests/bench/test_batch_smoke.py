"""The batch benchmark runs end to end on a tiny size (answers checked, never timings)."""

from __future__ import annotations

from pathlib import Path

from bench import batch


def test_tiny_batch_bench_agrees_with_hand_written_sql(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    results.write_text("# Benchmark results\n")
    (size,) = batch.main(
        ["--sizes", "20k", "--repeat", "1", "--no-spark", "--results", str(results)]
    )
    assert size.messages > 15_000 and size.events > 0 and size.profiles > 0
    assert [c.name for c in size.cases] == [c.name for c in batch.CASES]
    assert len(size.cases) >= 10
    # Shoal's answers (plain and promoted layout) equal the hand-written queries' answers.
    assert all(c.same for c in size.cases), [c.name for c in size.cases if not c.same]
    assert all(c.rows > 0 for c in size.cases if c.name != "at_risk_business_accounts")
    text = results.read_text()
    assert "## Batch engine (bench.batch)" in text
    assert "| viewed_over_100_no_order |" in text
