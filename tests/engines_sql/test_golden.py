"""The compiled SQL of every corpus case equals its golden file (regenerate: see golden.py)."""

from __future__ import annotations

import pytest

from tests.engines_sql.golden import DIALECTS, GOLDEN_DIR, expected_files


@pytest.mark.parametrize("dialect", DIALECTS)
def test_golden_sql(dialect: str) -> None:
    files = expected_files(dialect)
    assert files, "no corpus case compiled"
    stored = set((GOLDEN_DIR / dialect).glob("*.sql"))
    assert stored == set(files), "golden files out of date: python -m tests.engines_sql.regen"
    for path, text in files.items():
        assert path.read_text(encoding="utf-8") == text, (
            f"{path.name} differs: python -m tests.engines_sql.regen, then review the diff"
        )
