"""The shared corpus (tests/cases) on DuckDB: every answer must equal the hand-written one."""

from __future__ import annotations

import pytest

from shoal.engines.sql.duckdb_engine import DuckDBEngine
from tests.cases import Case, load_cases
from tests.engines.support import matches, run_case

CASES = load_cases()

#: Cases the SQL engine cannot answer yet, with the reason (strict xfail keeps the list honest).
GAPS: dict[str, str] = {}


@pytest.fixture(scope="module")
def engine() -> DuckDBEngine:
    return DuckDBEngine()


def _param(case: Case) -> object:
    if case.name in GAPS:
        return pytest.param(case, id=case.name, marks=pytest.mark.xfail(reason=GAPS[case.name]))
    return pytest.param(case, id=case.name)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_duckdb_engine(case: Case, engine: DuckDBEngine) -> None:
    actual = run_case(engine, case).to_json()
    assert matches(case.expect, actual), (
        f"{case.file}: {case.query}\nexpected {case.expect}\ngot {actual}"
    )
