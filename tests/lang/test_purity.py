"""shoal.lang is pure: it imports with every heavy dependency blocked."""

from __future__ import annotations

import subprocess
import sys
import textwrap

BLOCKED = ["duckdb", "pyarrow", "fastapi", "starlette", "httpx", "typer", "orjson", "numpy"]


def test_lang_imports_without_heavy_dependencies() -> None:
    # A fresh interpreter, so modules that other tests already imported do not hide an import.
    script = textwrap.dedent(
        f"""
        import sys
        for name in {BLOCKED!r}:
            sys.modules[name] = None  # makes `import name` raise ImportError
        from shoal import lang
        d = lang.compile_definition("event('A').within(7 days).count() >= 1")
        assert lang.from_json(lang.to_json(d)) == d
        loaded = sorted(m.split('.')[0] for m in sys.modules if sys.modules[m] is not None)
        assert not set(loaded) & set({BLOCKED!r}), loaded
        print("ok")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
