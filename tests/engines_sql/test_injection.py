"""User text never changes the structure of the generated SQL (DESIGN.md invariant 4).

Event names, property and trait keys and compared values full of quotes, backslashes, comment
markers and statement breaks must only ever appear inside string literals: with every string
literal blanked, the SQL is identical to that of a harmless name, and it stays one statement.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlglot
import sqlglot.expressions as sge

from shoal.engines import Members, Request, Values
from shoal.engines.sql import compile_sql
from shoal.engines.sql.duckdb_engine import DuckDBEngine
from shoal.lang import ast
from shoal.spec.message import Message

NOW = datetime(2024, 6, 30, 12, tzinfo=UTC)

NASTY = [
    "'); DROP TABLE shoal_events; --",
    "a'b",
    "a''b",
    'a"b',
    "a\\b",
    "a\\'b",
    "/*",
    "$[*]",
    "a/b~1c.d",
    "x\ny",
    "é ☃ \u0000",
]


def _definition(text: str) -> ast.Definition:
    """An audience with ``text`` as event name, property key, trait key and value."""
    where = ast.Where(
        condition=ast.Or(
            operands=(
                ast.Comparator(
                    subject=ast.Property(path=(text, text)),
                    op="equals",
                    args=(ast.Literal(value=text),),
                ),
                ast.Comparator(
                    subject=ast.TraitRef(key=text, path=(text,)),
                    op="contains",
                    args=(ast.Literal(value=text),),
                ),
            )
        )
    )
    count = ast.Reducer(stream=ast.EventStream(name=text, filters=(where,)), kind="count")
    mode = ast.Reducer(
        stream=ast.EventStream(name=text),
        kind="mode",
        arg=ast.Property(path=(text, text)),
        min_count=1,
    )
    return ast.Definition(
        kind="audience",
        target="users",
        body=ast.And(
            operands=(
                ast.Comparator(subject=count, op="at_least", args=(ast.Literal(value=1),)),
                ast.Comparator(subject=mode, op="starts_with", args=(ast.Literal(value=text),)),
            )
        ),
    )


def _shape(sql: str) -> str:
    statements = sqlglot.parse(sql, dialect="duckdb")
    assert len(statements) == 1
    tree = statements[0]
    assert tree is not None
    for literal in list(tree.find_all(sge.Literal)):
        if literal.is_string:
            literal.replace(sge.Literal.string("?"))
    return tree.sql(dialect="duckdb")


@pytest.mark.parametrize("text", NASTY)
def test_user_text_stays_in_literals(text: str) -> None:
    benign = _shape(compile_sql(_definition("benign"), now=NOW))
    assert _shape(compile_sql(_definition(text), now=NOW)) == benign


@pytest.mark.parametrize("text", NASTY)
def test_user_text_round_trips_through_duckdb(text: str) -> None:
    """The same text matches itself on DuckDB, and every relation is still there afterwards."""
    message = Message(
        type="track",
        message_id="m1",
        timestamp=NOW,
        received_at=NOW,
        user_id=text,
        event=text,
        properties={text: {text: text}},
    )
    counted = ast.Definition(
        kind="trait",
        target="users",
        body=ast.Reducer(
            stream=ast.EventStream(
                name=text,
                filters=(
                    ast.Where(
                        condition=ast.Comparator(
                            subject=ast.Property(path=(text, text)),
                            op="equals",
                            args=(ast.Literal(value=text),),
                        )
                    ),
                ),
            ),
            kind="count",
        ),
    )
    engine = DuckDBEngine()
    out = engine.evaluate(
        [message],
        [Request(name="a", definition=_definition(text)), Request(name="c", definition=counted)],
        as_of=NOW,
    )
    assert out["a"] == Members((f"user_id:{text}",))
    assert out["c"] == Values({f"user_id:{text}": 1})
    tables = {row[0] for row in engine.con.execute("SHOW TABLES").fetchall()}
    assert "shoal_events" in tables
