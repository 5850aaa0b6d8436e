"""The identity benchmark runs end to end on tiny sizes (numbers only; never timing assertions)."""

from __future__ import annotations

import pytest

from bench import identity


def test_quick_bench_produces_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    identity.main(["--quick", "--no-record"])
    report = capsys.readouterr().out
    for row in ["| events |", "| mixed |", "| events, cache off |", "| no-op route (floor) |"]:
        assert row in report
    assert "event lookups hit" in report
    assert "µs CPU / request" in report
