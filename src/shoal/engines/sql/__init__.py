"""Batch SQL engine: definitions compiled to sqlglot expression trees, printed per dialect.

Pure: the compiler imports sqlglot and :mod:`shoal.lang` only; the runners live in
:mod:`shoal.engines.sql.duckdb_engine` and :mod:`shoal.engines.sql.spark_engine` (sharing
:mod:`shoal.engines.sql.runner`) and are imported on demand.

>>> from datetime import datetime, UTC
>>> from shoal import lang
>>> d = lang.compile_definition("event('Signed Up').within(7 days).count() >= 1")
>>> sql = compile_sql(d, now=datetime(2026, 1, 8, tzinfo=UTC))
>>> "shoal_events" in sql
True
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from shoal.engines.sql.compiler import CompiledQuery, Compiler, Target
from shoal.engines.sql.dialects import COMPILERS, DuckDBCompiler, SparkCompiler
from shoal.engines.sql.layout import Layout, compiler_for
from shoal.engines.sql.values import UnsupportedError
from shoal.lang import ast

__all__ = [
    "COMPILERS",
    "CompiledQuery",
    "Compiler",
    "DuckDBCompiler",
    "Layout",
    "SparkCompiler",
    "Target",
    "UnsupportedError",
    "compile_sql",
]


def compile_sql(
    definition: ast.Definition,
    *,
    now: datetime,
    dialect: str = "duckdb",
    definitions: Mapping[str, Target] | None = None,
    include_anonymous: bool = False,
    pretty: bool = True,
    layout: Layout | None = None,
) -> str:
    """The SQL text of ``definition`` at ``now`` for ``dialect``; with a ``layout`` it reads the
    promoted columns (``layout.py``) instead of extracting those paths from JSON.

    Raises:
        UnsupportedError: the definition uses a construct this dialect cannot compile yet.
    """
    compiler = compiler_for(
        COMPILERS[dialect],
        layout,
        now=now,
        definitions=definitions,
        include_anonymous=include_anonymous,
    )
    return compiler.sql(compiler.compile(definition), pretty=pretty)
