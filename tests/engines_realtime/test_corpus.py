"""The shared corpus (tests/cases) replayed through the real-time core: every answer must equal
the hand-written one, read from the live results after the clock reached the as-of instant."""

from __future__ import annotations

import pytest

from shoal.engines.realtime.engine import RealtimeEngine
from tests.cases import Case, load_cases
from tests.engines.support import matches, run_case

CASES = load_cases()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_realtime_engine(case: Case) -> None:
    actual = run_case(RealtimeEngine(), case).to_json()
    assert matches(case.expect, actual), (
        f"{case.file}: {case.query}\nexpected {case.expect}\ngot {actual}"
    )
