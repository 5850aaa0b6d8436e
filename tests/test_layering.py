"""The pure core imports no I/O library: it can run anywhere (a stream processor, a worker)."""

from __future__ import annotations

import subprocess
import sys

import pytest

BLOCKED = ["duckdb", "pyarrow", "fastapi", "starlette", "httpx", "uvicorn", "pyspark", "typer"]
PURE = ["shoal.lang", "shoal.engines", "shoal.identity.graph", "shoal.profiles.book"]


@pytest.mark.parametrize("module", PURE)
def test_pure_modules_import_without_io_libraries(module: str) -> None:
    code = (
        "import sys\n"
        + "".join(f"sys.modules[{name!r}] = None\n" for name in BLOCKED)
        + f"import {module}\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
