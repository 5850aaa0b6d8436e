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


def test_a_kept_build_is_reused_with_the_same_answers(tmp_path: Path) -> None:
    keep = tmp_path / "keep"
    args = ["--sizes", "20k", "--repeat", "1", "--no-spark", "--no-record", "--keep", str(keep)]
    (first,) = batch.main(args)
    assert (keep / "20k" / "build.json").exists()
    (again,) = batch.main(args)
    assert (again.messages, again.events, again.profiles) == (
        first.messages,
        first.events,
        first.profiles,
    )
    assert [(c.name, c.rows, c.same) for c in again.cases] == [
        (c.name, c.rows, c.same) for c in first.cases
    ]
    assert all(c.same for c in again.cases)
    # The computed traits read by key are written once per run, not once more each reuse.
    import duckdb

    con = duckdb.connect(str(keep / "20k" / "bench.duckdb"), read_only=True)
    dupes = con.execute(
        "SELECT count(*) FROM (SELECT target, entity_id, key FROM shoal_values"
        " GROUP BY ALL HAVING count(*) > 1)"
    ).fetchall()
    con.close()
    assert dupes == [(0,)]
