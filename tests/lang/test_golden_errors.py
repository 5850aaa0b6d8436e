"""Every malformed definition in golden_errors/ renders exactly its recorded message."""

from __future__ import annotations

import pytest

from tests.lang.golden import GoldenCase, cases

CASES = cases()


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 30


@pytest.mark.parametrize("case", CASES, ids=[c.path.stem for c in CASES])
def test_golden_error(case: GoldenCase) -> None:
    assert case.expected is not None, f"run `python -m tests.lang.regen` to fill {case.path.name}"
    assert case.render() == case.expected, "run `python -m tests.lang.regen` and review the diff"
