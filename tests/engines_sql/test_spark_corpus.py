"""The shared corpus (tests/cases) on Spark: every answer must equal the hand-written one.

Cases run in batches (one evaluation per stream and as-of, as ``shoal eval --cases`` does), since
a Spark query costs a tenth of a second however small the data.
"""

from __future__ import annotations

from typing import Any

import pytest

from shoal.engines import Outcome
from tests.cases import Case, load_cases
from tests.engines.support import batches, matches, run_batch

pytestmark = pytest.mark.spark

CASES = load_cases()


@pytest.fixture(scope="module")
def outcomes(spark: Any) -> dict[str, Outcome | BaseException]:
    """Every case's outcome (or the error its batch raised), evaluated once per module."""
    from shoal.engines.sql.spark_engine import SparkEngine
    from tests.engines_sql.conftest import MASTER

    engine = SparkEngine(spark_master=MASTER, cache=False)
    out: dict[str, Outcome | BaseException] = {}
    for stream, as_of, batch in batches(CASES):
        try:
            results = run_batch(engine, stream, as_of, batch)
        except Exception as err:  # reported by each case of the batch
            out.update({case.name: err for case in batch})
            continue
        out.update({case.name: results[case.name] for case in batch})
    return out


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_spark_engine(case: Case, outcomes: dict[str, Outcome | BaseException]) -> None:
    outcome = outcomes[case.name]
    if isinstance(outcome, BaseException):
        raise outcome
    actual = outcome.to_json()
    assert matches(case.expect, actual), (
        f"{case.file}: {case.query}\nexpected {case.expect}\ngot {actual}"
    )
