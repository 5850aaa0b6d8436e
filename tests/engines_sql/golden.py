"""Golden SQL: the pretty-printed query of every corpus case that compiles, per dialect.

``python -m tests.engines_sql.regen`` (``make golden``) rewrites ``golden/<dialect>/<case>.sql``;
the test fails when the compiler's output differs, so every change to the generated SQL shows up
in review.
"""

from __future__ import annotations

from pathlib import Path

from shoal.engines import Request, compile_request
from shoal.engines.sql import UnsupportedError, compile_sql
from tests.cases import Case, load_cases

GOLDEN_DIR = Path(__file__).parent / "golden"
DIALECTS = ("duckdb", "spark")


def golden_sql(case: Case, dialect: str) -> str | None:
    """The SQL of the case's own definition, or None when it does not compile (errors and
    unsupported constructs: their absence is pinned by the corpus test instead)."""
    requests: dict[str, Request] = {}
    for d in case.definitions:
        item = compile_request(
            d.name, d.query, target=d.type, kind=d.kind, include_anonymous=d.include_anonymous
        )
        if not isinstance(item, Request):
            return None
        requests[d.name] = item
    own = requests[case.name]
    try:
        sql = compile_sql(
            own.definition,
            now=case.as_of,
            dialect=dialect,
            definitions={k: r.definition.target for k, r in requests.items()},
            include_anonymous=own.include_anonymous,
        )
    except UnsupportedError:
        return None
    return f"-- {case.file}: {case.name}\n{sql}\n"


def expected_files(dialect: str) -> dict[Path, str]:
    out: dict[Path, str] = {}
    for case in load_cases():
        sql = golden_sql(case, dialect)
        if sql is not None:
            out[GOLDEN_DIR / dialect / f"{case.name}.sql"] = sql
    return out
