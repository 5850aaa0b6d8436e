"""The Spark engine beyond the corpus: dialect primitives against Python, the relations
directory, output Parquet, ``shoal eval --engine spark`` and a missing pyspark."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq
import pytest
import sqlglot.expressions as sge

from shoal import lang
from shoal.engines import Members, Request, Values
from shoal.engines.reference import ReferenceEngine
from shoal.engines.sql.dialects import SparkCompiler
from shoal.engines.sql.duckdb_engine import DuckDBEngine
from shoal.engines.sql.prepare import prepare
from shoal.engines.sql.spark_engine import spark_json
from shoal.engines.sql.values import DAY_PATTERN, TIMESTAMP_PATTERN, parse_date
from shoal.spec.message import Message
from tests.cases import STREAMS_DIR
from tests.engines_sql.conftest import MASTER

NOW = datetime(2024, 6, 30, 12, tzinfo=UTC)

FLOATS = [
    0.0,
    1.0,
    -1.0,
    2.5,
    0.1,
    0.30000000000000004,
    100.0,
    1e-4,
    1.5e-4,
    9.999e-5,
    1e-7,
    -1.5e-7,
    1e15,
    1234567890123456.8,
    1e16,
    1e20,
    1e23,
    1.7976931348623157e308,
    5e-324,
    2.2250738585072014e-308,
    123456.789,
    1 / 3,
    2 / 3,
    9007199254740993.0,
]

DATES = [
    "2024-06-29",
    "2024-06-30T11:00:00Z",
    "2024-06-30T11:00Z",
    "2024-07-01T00:00:00+02:00",
    "2024-07-01T00:00:00+0200",
    "2024-07-01T00:00+0200",
    "2024-06-30T11:00:00.5Z",
    "2024-06-30T11:00:00.123456-05:30",
    "2024-02-30",
    "2024-02-29T25:00:00Z",
    "2023-02-29",
]


def _spark_values(spark: Any, expressions: list[sge.Expr]) -> list[Any]:
    select = sge.select(*(sge.alias_(e, f"c{i}") for i, e in enumerate(expressions)))
    row = spark.sql(SparkCompiler.render(select)).collect()[0]
    return list(row)


@pytest.mark.spark
def test_double_text_is_python_repr(spark: Any) -> None:
    compiler = SparkCompiler(now=NOW)
    literals = [sge.cast(sge.Literal.string(repr(f)), sge.DataType.Type.DOUBLE) for f in FLOATS]
    got = _spark_values(spark, [compiler.double_text(x) for x in literals])
    assert got == [repr(f) for f in FLOATS]


@pytest.mark.spark
def test_dates_read_as_python_reads_them(spark: Any) -> None:
    compiler = SparkCompiler(now=NOW)
    texts = [d for d in DATES if re.fullmatch(DAY_PATTERN, d) or re.fullmatch(TIMESTAMP_PATTERN, d)]
    moments = [compiler.time_text(compiler.text_to_timestamp(sge.Literal.string(d))) for d in texts]
    got = _spark_values(spark, moments)
    want = []
    for d in texts:
        parsed = parse_date(d)
        want.append(None if parsed is None else _iso(parsed))
    assert got == want


def _iso(moment: datetime) -> str:
    text = moment.isoformat()
    return text + "Z"


def test_spark_json_keeps_floats_floats() -> None:
    assert spark_json('{"b": 1.0, "a": [1, 1e-07, "1.0"]}') == '{"a":[1,1e-07,"1.0"],"b":1.0e0}'
    assert json.loads(spark_json('{"x": 2.5}')) == {"x": 2.5}


def _event_times(engine: Any) -> None:
    """Whole seconds print without a fraction, fractions with six digits (as the reference)."""
    messages = [
        Message(
            type="track", message_id=f"m{i}", timestamp=at, received_at=at, user_id="u", event="X"
        )
        for i, at in enumerate(
            [
                datetime(2024, 6, 30, 10, 0, 5, tzinfo=UTC),
                datetime(2024, 6, 30, 10, 0, 5, 7, tzinfo=UTC),
            ]
        )
    ]
    requests = [
        Request(name=name, definition=lang.compile_definition(query, kind="trait"))
        for name, query in (
            ("first", "event('X').first(context('timestamp'))"),
            ("unique", "event('X').unique(context('timestamp'))"),
        )
    ]
    out = engine.evaluate(messages, requests, as_of=NOW)
    assert out["first"] == Values({"user_id:u": "2024-06-30T10:00:05Z"})
    assert out["unique"] == Values(
        {"user_id:u": ["2024-06-30T10:00:05.000007Z", "2024-06-30T10:00:05Z"]}
    )


@pytest.mark.spark
def test_event_time_values_print_as_iso_utc(spark_engine: Any) -> None:
    _event_times(spark_engine)


def test_event_time_values_print_as_iso_utc_on_duckdb() -> None:
    """DuckDB's MICROSECOND() counts the seconds too; a whole second still has no fraction."""
    _event_times(DuckDBEngine())


RECENT = "event('Order Completed').within(7 days).count() >= 1"
LEFT = "trait('recent') = 'false'"
SPEND = "event('Order Completed').sum(property('price'))"


def _requests() -> list[Request]:
    return [
        Request(name="recent", definition=lang.compile_definition(RECENT)),
        Request(name="left", definition=lang.compile_definition(LEFT)),
        Request(name="spend", definition=lang.compile_definition(SPEND, kind="trait")),
    ]


@pytest.mark.spark
def test_relations_directory_and_output(spark: Any, tmp_path: Path) -> None:
    """A cluster job's path: relations written by Shoal, former members seeded through
    ``shoal_values``, results written back as Parquet."""
    import pyarrow as pa

    from shoal.engines.sql.spark_engine import (
        MEMBERSHIPS,
        TRAIT_VALUES,
        SparkEngine,
        write_relations,
    )
    from tests.engines.support import load_stream

    prepared = prepare(load_stream(STREAMS_DIR / "shop.jsonl"), as_of=NOW)
    relations = write_relations(prepared, tmp_path / "relations")
    assert sorted(p.name for p in relations.iterdir()) == [
        "shoal_accounts",
        "shoal_events",
        "shoal_links",
        "shoal_profiles",
        "shoal_traits",
    ]
    cat = next(pid for pid, name in prepared.names.items() if name == "user_id:cat")
    seed = relations / "shoal_values"
    seed.mkdir()
    pq.write_table(
        pa.table({"target": ["users"], "entity_id": [cat], "key": ["recent"], "value": ["true"]}),
        seed / "part-0.parquet",
    )
    engine = SparkEngine(spark_master=MASTER, output=tmp_path / "out", cache=False)
    out = engine.evaluate_relations(relations, _requests(), as_of=NOW)
    assert out["recent"] == Members(("user_id:ann", "user_id:ben"))
    assert out["left"] == Members(("user_id:cat",))
    reference = ReferenceEngine().evaluate(
        load_stream(STREAMS_DIR / "shop.jsonl"), _requests(), as_of=NOW
    )
    assert out["spend"] == reference["spend"]
    assert isinstance(out["spend"], Values)
    members = pq.read_table(tmp_path / "out" / MEMBERSHIPS).to_pylist()
    assert sorted((m["key"], m["name"]) for m in members) == [
        ("left", "user_id:cat"),
        ("recent", "user_id:ann"),
        ("recent", "user_id:ben"),
    ]
    values = pq.read_table(tmp_path / "out" / TRAIT_VALUES).to_pylist()
    assert {v["name"]: json.loads(v["value"]) for v in values} == dict(out["spend"].values)
    assert {v["key"] for v in values} == {"spend"}


def _cli(*args: str) -> Any:
    from typer.testing import CliRunner

    from shoal.cli import app

    return CliRunner().invoke(app, ["eval", *args], catch_exceptions=False)


@pytest.mark.spark
def test_shoal_eval_engine_spark(spark: Any, tmp_path: Path) -> None:
    """`shoal eval --engine spark` prints what the reference engine prints, writes its
    relations and output where asked, and evaluates those relations again without messages."""
    events = str(STREAMS_DIR / "shop.jsonl")
    cases = tmp_path / "cases.json"
    cases.write_bytes(
        orjson.dumps(
            {
                "as_of": NOW.isoformat(),
                "cases": [
                    {"name": "recent", "query": RECENT},
                    {"name": "left", "query": LEFT},
                    {"name": "spend", "query": SPEND},
                    {"name": "bad", "query": "event('x').cout() > 1"},
                ],
            }
        )
    )
    want = _cli("--events", events, "--cases", str(cases))
    assert want.exit_code == 0, want.output
    relations, output = str(tmp_path / "relations"), str(tmp_path / "out")
    spark_args = ["--engine", "spark", "--spark-master", MASTER, "--relations", relations]
    got = _cli("--events", events, "--cases", str(cases), *spark_args, "--output", output)
    assert got.exit_code == 0, got.output
    assert orjson.loads(got.stdout) == orjson.loads(want.stdout)
    assert (Path(output) / "shoal_memberships").is_dir()
    again = _cli("--cases", str(cases), *spark_args)
    assert again.exit_code == 0, again.output
    # Over relations alone no history exists: `left` has no former members to find.
    expected = orjson.loads(want.stdout)
    expected["left"] = {"members": []}
    assert orjson.loads(again.stdout) == expected
    single = _cli("--events", events, "--as-of", NOW.isoformat(), *spark_args[:4], RECENT)
    assert single.exit_code == 0, single.output
    assert single.stdout.split() == ["user_id:ann", "user_id:ben"]


def test_spark_options_need_the_spark_engine(tmp_path: Path) -> None:
    result = _cli("--events", str(STREAMS_DIR / "shop.jsonl"), "--spark-master", "local", RECENT)
    assert result.exit_code == 2
    assert "--engine spark" in result.output


def test_missing_pyspark_is_a_clear_error() -> None:
    code = (
        "import sys\n"
        "sys.modules['pyspark'] = None\n"
        "from shoal.engines import get_engine\n"
        "from shoal.errors import UserError\n"
        "try:\n"
        "    get_engine('spark')\n"
        "except UserError as err:\n"
        "    print(err.code, err.message)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "missing_dependency" in result.stdout
    assert "pip install 'shoal[spark]'" in result.stdout


@pytest.mark.parametrize("name", ["shoal.engines.sql.dialects", "shoal.engines.sql.spark_engine"])
def test_doctests(name: str) -> None:
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(name))
    assert result.failed == 0 and result.attempted > 0
