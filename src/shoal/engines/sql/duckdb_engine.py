"""The DuckDB engine: load the input relations from messages, run compiled definitions.

The only module of ``engines/sql`` that imports duckdb (and pyarrow, to load rows in bulk). It
implements :class:`shoal.engines.Engine` through :class:`~shoal.engines.sql.runner.SQLEngine`;
``shoal eval --engine duckdb`` uses it.

>>> from datetime import datetime, UTC
>>> from shoal.engines import Request
>>> from shoal import lang
>>> d = lang.compile_definition("event('X').count() >= 1")
>>> at = datetime(2024, 1, 1, tzinfo=UTC)
>>> DuckDBEngine().evaluate([], [Request(name="a", definition=d)], as_of=at)
{'a': Members(names=())}
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

import duckdb
import pyarrow as pa

from shoal.engines import Outcome, Request
from shoal.engines.sql import relations as rel
from shoal.engines.sql.compiler import CompiledQuery, Compiler, Target
from shoal.engines.sql.dialects import DuckDBCompiler
from shoal.engines.sql.layout import Layout, compiler_for, promotion, shape_stats
from shoal.engines.sql.prepare import Prepared
from shoal.engines.sql.runner import SQLEngine, ValueRow
from shoal.spec.message import Message

__all__ = ["DuckDBEngine"]

_ARROW_TYPES = {"BIGINT": pa.int64(), "TIMESTAMP": pa.timestamp("us"), "BOOLEAN": pa.bool_()}


class DuckDBEngine(SQLEngine):
    """Evaluates definitions with DuckDB, in memory unless ``database`` names a file.

    One evaluation at a time per instance (the relations are replaced on every call).

    Args:
        layout: property paths to promote to typed columns (``layout.py``); ``"auto"``
            promotes every path the evaluated definitions read. Results never change.
    """

    name = "duckdb"
    compiler = DuckDBCompiler

    def __init__(
        self, database: str = ":memory:", *, layout: Layout | Literal["auto"] | None = None
    ) -> None:
        self.con = duckdb.connect(database)
        # Relations hold naive UTC; pin the zone so TIMESTAMPTZ casts of dates are UTC too.
        self.con.execute("SET TimeZone = 'UTC'")
        self.auto_layout = layout == "auto"
        self.layout: Layout | None = layout if isinstance(layout, Layout) else None

    def evaluate(
        self, messages: Sequence[Message], requests: Sequence[Request], *, as_of: datetime
    ) -> dict[str, Outcome]:
        if self.auto_layout:
            self.layout = Layout.for_definitions(r.definition for r in requests)
        return super().evaluate(messages, requests, as_of=as_of)

    def make_compiler(
        self, *, now: datetime, definitions: Mapping[str, Target], include_anonymous: bool
    ) -> Compiler:
        return compiler_for(
            DuckDBCompiler,
            self.layout,
            now=now,
            definitions=definitions,
            include_anonymous=include_anonymous,
        )

    def promote(self) -> None:
        """Add the layout's promoted columns to ``shoal_events`` and ``shoal_accounts`` and
        measure their shapes (nothing without a layout)."""
        if self.layout is not None and self.layout.promoted:
            for relation in (rel.EVENTS, rel.ACCOUNTS):
                if self.layout.on(relation).promoted:
                    select = promotion(self.layout, DuckDBCompiler, relation=relation)
                    self.con.execute(
                        f"CREATE OR REPLACE TABLE {relation} AS {select.sql(dialect='duckdb')}"
                    )
            shapes = self.con.execute(shape_stats(self.layout).sql(dialect="duckdb")).fetchone()
            assert shapes is not None
            self.layout = self.layout.with_shapes(shapes)

    # --- loading --------------------------------------------------------------------------------

    def load(self, prepared: Prepared) -> None:
        """Replace the input relations with ``prepared``'s rows (``shoal_values`` emptied)."""
        rows = {
            rel.EVENTS: prepared.events,
            rel.PROFILES: prepared.profiles,
            rel.TRAITS: prepared.traits,
            rel.ACCOUNTS: prepared.accounts,
            rel.LINKS: prepared.links,
            rel.VALUES: [],
        }
        for name, columns in rel.COLUMNS.items():
            names = [c for c, _ in columns]
            schema = pa.schema([(c, _ARROW_TYPES.get(t, pa.string())) for c, t in columns])
            data = pa.Table.from_pylist(
                [dict(zip(names, row, strict=True)) for row in rows[name]], schema=schema
            )
            self.con.register("shoal_input", data)
            # JSON travels as text and is cast on the way in; names come from relations.py only.
            casts = ", ".join(f"CAST({c} AS {t}) AS {c}" for c, t in columns)
            self.con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT {casts} FROM shoal_input")
            self.con.unregister("shoal_input")
        self.promote()

    def clear_values(self) -> None:
        self.con.execute(f"DELETE FROM {rel.VALUES}")

    def insert_values(self, rows: Sequence[ValueRow]) -> None:
        self.con.executemany(
            f"INSERT INTO {rel.VALUES} VALUES (?, ?, ?, CAST(? AS JSON))",
            [(target, entity, key, json.dumps(value)) for target, entity, key, value in rows],
        )

    # --- queries --------------------------------------------------------------------------------

    def fetch(self, compiler: Compiler, query: CompiledQuery) -> list[tuple[str, Any, Any]]:
        rows = self.con.execute(compiler.sql(query, pretty=False)).fetchall()
        if query.kind == "json":
            return [(e, None if v is None else json.loads(v), i) for e, v, i in rows]
        if query.kind == "list":
            return [(e, None if v is None else list(v), i) for e, v, i in rows]
        if query.kind == "time":
            # The reference's form of an event time: ISO-8601 UTC with Z.
            return [(e, None if v is None else v.isoformat() + "Z", i) for e, v, i in rows]
        return rows
