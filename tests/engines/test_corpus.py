"""Every corpus case on the reference engine: in-process, and through `shoal eval --cases`."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from shoal.cli import app
from shoal.engines.reference import ReferenceEngine
from tests.cases import Case, load_cases
from tests.engines.support import batches, matches, run_case

CASES = load_cases()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_reference_engine(case: Case) -> None:
    actual = run_case(ReferenceEngine(), case).to_json()
    assert matches(case.expect, actual), (
        f"{case.file}: {case.query}\nexpected {case.expect}\ngot {actual}"
    )


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 80
    assert len({c.file for c in CASES}) >= 6


def _batches() -> list[tuple[Path, datetime, list[Case]]]:
    """Each batch is one `shoal eval --cases` call, i.e. many definitions over one load."""
    return batches(CASES)


BATCHES = _batches()


@pytest.mark.parametrize(
    ("stream", "as_of", "batch"),
    BATCHES,
    ids=[f"{s.stem}@{a:%m%dT%H%M%S}#{i}" for i, (s, a, _) in enumerate(BATCHES)],
)
def test_cli_cases(stream: Path, as_of: datetime, batch: list[Case], tmp_path: Path) -> None:
    listed: list[dict[str, Any]] = []
    for case in batch:
        for d in case.definitions:
            item: dict[str, Any] = {"name": d.name, "type": d.type, "query": d.query}
            if d.kind:
                item["kind"] = d.kind
            if d.include_anonymous:
                item["include_anonymous"] = True
            listed.append(item)
    cases_file = tmp_path / "cases.json"
    cases_file.write_bytes(orjson.dumps({"as_of": as_of.isoformat(), "cases": listed}))
    result = CliRunner().invoke(
        app, ["eval", "--events", str(stream), "--cases", str(cases_file)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    printed = orjson.loads(result.stdout)
    assert set(printed) == {item["name"] for item in listed}
    for case in batch:
        assert matches(case.expect, printed[case.name]), (
            f"{case.name}: {case.query}\nexpected {case.expect}\ngot {printed[case.name]}"
        )
