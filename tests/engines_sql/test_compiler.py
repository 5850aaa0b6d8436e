"""Compiler contracts beyond the corpus: purity, dialect skeletons, registration, time kinds."""

from __future__ import annotations

import importlib
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from shoal import lang
from shoal.engines import Failure, Members, Request, Values
from shoal.engines.sql import UnsupportedError, compile_sql
from shoal.engines.sql.dialects import DuckDBCompiler
from shoal.engines.sql.duckdb_engine import DuckDBEngine
from shoal.spec.message import Message

NOW = datetime(2024, 6, 30, 12, tzinfo=UTC)
REGISTRY_ENTRY = "shoal.engines.sql.duckdb_engine:DuckDBEngine"
"""What ``shoal.engines.ENGINES["duckdb"]`` should hold for ``shoal eval --engine duckdb``."""


def test_compiler_imports_no_engine() -> None:
    code = (
        "import sys\n"
        "for name in ('duckdb', 'pyarrow', 'pyspark'):\n"
        "    sys.modules[name] = None\n"
        "import shoal.engines.sql\n"
        "from shoal.engines.sql import compiler, dialects, predicates, prepare, reducers\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_registry_entry_resolves_to_the_engine() -> None:
    module, _, name = REGISTRY_ENTRY.partition(":")
    engine = getattr(importlib.import_module(module), name)()
    assert engine.name == "duckdb"
    assert engine.evaluate([], [], as_of=NOW) == {}


def test_spark_reads_json_as_variant() -> None:
    definition = lang.compile_definition("trait('plan') = 'pro'")
    sql = compile_sql(definition, now=NOW, dialect="spark")
    assert "SCHEMA_OF_VARIANT" in sql and "JSON_EXTRACT" not in sql


def test_unsupported_construct_is_a_failure_not_an_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(*args: object) -> None:
        raise UnsupportedError("mode()", "switched off for this test")

    monkeypatch.setattr(DuckDBCompiler, "_mode", refuse)
    definition = lang.compile_definition("event('X').mode(property('p'), 1) = 'a'")
    reader = lang.compile_definition("trait('a') = 'true'")
    out = DuckDBEngine().evaluate(
        [],
        [Request(name="a", definition=definition), Request(name="b", definition=reader)],
        as_of=NOW,
    )
    assert isinstance(out["a"], Failure)
    assert out["a"].code == "unsupported"
    assert isinstance(out["b"], Failure)
    assert out["b"].code == "invalid_reference"


def test_entity_streams_are_empty() -> None:
    definition = lang.compile_definition("entity('orders').count() = 0")
    message = Message(type="identify", message_id="m", timestamp=NOW, received_at=NOW, user_id="u")
    out = DuckDBEngine().evaluate([message], [Request(name="a", definition=definition)], as_of=NOW)
    assert out["a"] == Members(("user_id:u",))


def test_event_time_values_print_as_iso_utc() -> None:
    when = datetime(2024, 6, 30, 10, 0, 0, 5, tzinfo=UTC)
    message = Message(
        type="track", message_id="m", timestamp=when, received_at=when, user_id="u", event="X"
    )
    requests = [
        Request(
            name=name,
            definition=lang.compile_definition(query, kind="trait"),
        )
        for name, query in (
            ("last", "event('X').last(context('timestamp'))"),
            ("mode", "event('X').mode(context('timestamp'), 1)"),
            ("sum", "event('X').sum(context('timestamp'))"),
        )
    ]
    out = DuckDBEngine().evaluate([message], requests, as_of=NOW)
    assert out["last"] == Values({"user_id:u": "2024-06-30T10:00:00.000005Z"})
    assert out["mode"] == Values({"user_id:u": "2024-06-30T10:00:00.000005Z"})
    assert out["sum"] == Values({})


def test_shoal_compile_prints_sql_and_reports_errors() -> None:
    from typer.testing import CliRunner

    from shoal.cli import app

    runner = CliRunner()
    ok = runner.invoke(
        app,
        ["compile", "--as-of", "2026-01-08T00:00:00Z", "event('Signed Up').count() >= 1"],
    )
    assert ok.exit_code == 0, ok.output
    assert "shoal_events" in ok.stdout and "'Signed Up'" in ok.stdout
    bad = runner.invoke(app, ["compile", "event('x').cout() > 1"])
    assert bad.exit_code == 2
    assert "error[unknown_function] at 1:12" in bad.output
