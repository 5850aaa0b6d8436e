"""`make demo` end to end, small: synth → serve → send → stats → profile → eval."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "shoal.demo"],
        cwd=tmp_path,
        env={**os.environ, "SHOAL_DEMO_USERS": "60", "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert '"rejected": 0' in out
    assert '"events":' in out and '"profiles": 60' in out
    assert "Traits" in out and "Identifiers" in out
    assert "viewed a product over $100" in out
    assert not (tmp_path / "shoal-demo" / "data" / "server.json").exists()
