"""The real-time benchmark runs end to end at a toy size (numbers only; never timing asserts)."""

from __future__ import annotations

from pathlib import Path

from bench import realtime


def test_definitions_cover_the_language_and_compile() -> None:
    specs = realtime.definitions()
    assert len(specs) == 100
    assert len({s.key for s in specs}) == 100
    requests = realtime.compile_all(specs)  # raises on any compile or plan failure
    assert len(requests) == 100
    queries = " ".join(s.query for s in specs)
    for construct in (
        ".count()", ".sum(", ".avg(", ".min(", ".max(", "as string", ".mode(", ".first(",
        ".last(", ".unique(", ".where(", ".within(", ".between(", ".expires_after(",
        "within(parent:", "property(parent:", "count() = 0", "within_last(", "before_last(",
        "after_date(", "before_date(", "ANY ", "ALL ", "= 'true'", "= 'false'",
    ):  # fmt: skip
        assert construct in queries, construct
    assert any(s.target == "accounts" for s in specs)
    assert any(s.include_anonymous for s in specs)
    names = {r.name for r in requests}
    assert any(f"trait('{key}')" in queries for key in names)  # audiences of definitions


def test_toy_run_produces_every_figure(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    out = realtime.main(
        ["--users", "40", "--days", "7", "--backfill-events", "3000", "--profile", "50",
         "--results", str(results)]
    )  # fmt: skip
    live, base, fill = out["live"], out["baseline"], out["backfill"]
    assert live.events == base.events > 0
    assert live.rate > 0 and base.rate > 0
    assert live.changes > 0 and len(live.changed_ns) > 0
    assert live.state["profiles"] > 0 and live.deep_bytes > base.deep_bytes > 0
    assert fill is not None and fill.events == 3000 and fill.replay_seconds > 0
    text = results.read_text()
    assert "## Real-time engine" in text
    for row in ("sustained events/s", "latency p99", "state per profile", "backfill over 10M"):
        assert row in text, row
