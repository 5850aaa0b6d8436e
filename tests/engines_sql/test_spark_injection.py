"""User text never changes the structure of the Spark SQL (DESIGN.md invariant 4).

The same nasty names as ``test_injection.py``: with every string literal blanked, the Spark SQL
of a definition full of them equals that of a harmless name. Variant paths have no escapes, so a
key is quoted with the quote character it lacks; a key holding both is read through a map, and
the round trip through Spark checks that every such key still finds its own value.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlglot
import sqlglot.expressions as sge

from shoal.engines import Members, Request, Values
from shoal.engines.sql import compile_sql
from shoal.lang import ast
from shoal.spec.message import Message
from tests.engines_sql.test_injection import NASTY, NOW, _definition

#: Both quote characters: no variant path can name this key.
BOTH_QUOTES = ["a'b\"c", "'\"", "x\"]['y"]


def _shape(sql: str) -> str:
    statements = sqlglot.parse(sql, dialect="spark")
    assert len(statements) == 1
    tree = statements[0]
    assert tree is not None
    for literal in list(tree.find_all(sge.Literal)):
        if literal.is_string:
            literal.replace(sge.Literal.string("?"))
    return tree.sql(dialect="spark")


@pytest.mark.parametrize("text", NASTY)
def test_user_text_stays_in_literals(text: str) -> None:
    benign = _shape(compile_sql(_definition("benign"), now=NOW, dialect="spark"))
    assert _shape(compile_sql(_definition(text), now=NOW, dialect="spark")) == benign


@pytest.mark.parametrize("text", BOTH_QUOTES)
def test_keys_with_both_quotes_stay_in_literals(text: str) -> None:
    benign = _shape(compile_sql(_definition("a'b\"c"), now=NOW, dialect="spark"))
    assert _shape(compile_sql(_definition(text), now=NOW, dialect="spark")) == benign


def _counted(text: str) -> ast.Definition:
    return ast.Definition(
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


@pytest.mark.spark
def test_user_text_round_trips_through_spark(spark_engine: Any) -> None:
    """Each text matches itself (and nothing else) on Spark, and the relations survive."""
    texts = [*NASTY, *BOTH_QUOTES]
    messages = [
        Message(
            type="track",
            message_id=f"m{i}",
            timestamp=NOW,
            received_at=NOW,
            user_id=text,
            event=text,
            properties={text: {text: text}},
        )
        for i, text in enumerate(texts)
    ]
    requests: list[Request] = []
    for i, text in enumerate(texts):
        requests.append(Request(name=f"a{i}", definition=_definition(text)))
        requests.append(Request(name=f"c{i}", definition=_counted(text)))
    out = spark_engine.evaluate(messages, requests, as_of=NOW)
    for i, text in enumerate(texts):
        assert out[f"a{i}"] == Members((f"user_id:{text}",)), text
        counts = {f"user_id:{t}": int(t == text) for t in texts}
        assert out[f"c{i}"] == Values(counts), text
    assert spark_engine.spark.catalog.tableExists("shoal_events")
