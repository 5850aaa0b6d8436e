"""The graph and resolver import no I/O library."""

from __future__ import annotations

import subprocess
import sys

import pytest

BLOCKED = ["duckdb", "pyarrow", "fastapi", "starlette", "httpx", "uvicorn", "typer", "numpy"]


@pytest.mark.parametrize("module", ["shoal.identity.graph", "shoal.identity"])
def test_imports_with_io_libraries_blocked(module: str) -> None:
    code = "".join(f"sys.modules[{name!r}] = None\n" for name in BLOCKED)
    code = f"import sys\n{code}import {module}\n"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
