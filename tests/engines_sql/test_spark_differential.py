"""Differential test on Spark: random streams and definitions, Spark against the reference.

The strategies are those of ``test_differential.py`` (DuckDB against the reference). A Spark
query costs a tenth of a second or more, so the sample is smaller and each example evaluates
several definitions at once: users audiences and traits, accounts definitions, and an audience
read by key (which runs the audience history).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shoal.engines import Failure, Request, compile_request, run
from shoal.engines.reference import ReferenceEngine
from shoal.spec.message import Message
from tests.engines_sql.conftest import MASTER
from tests.engines_sql.test_differential import (
    NOW,
    _account_audience,
    _audience,
    _reader,
    _same,
    _trait,
    account_messages,
    messages,
)

pytestmark = pytest.mark.spark

Def = tuple[str, str, str, bool]
"""(name, query, target, include_anonymous)."""


def _outcomes(engine: Any, msgs: list[Message], defs: list[Def]) -> dict[str, Any]:
    compiled: list[Request | tuple[str, Failure]] = []
    for name, query, target, anonymous in defs:
        request = compile_request(name, query, target=target, include_anonymous=anonymous)  # type: ignore[arg-type]
        assert not isinstance(request, Failure), (query, request)
        compiled.append(request)
    return {k: v.to_json() for k, v in run(engine, msgs, compiled, as_of=NOW).items()}


def _engine() -> Any:
    from shoal.engines.sql.spark_engine import SparkEngine

    return SparkEngine(spark_master=MASTER, cache=False)


@st.composite
def _definitions(draw: st.DrawFn) -> list[Def]:
    users = draw(st.lists(st.one_of(_audience, _trait), min_size=3, max_size=5))
    accounts = draw(st.lists(st.one_of(_account_audience, _trait), min_size=1, max_size=2))
    defs: list[Def] = [(f"u{i}", q, "users", draw(st.booleans())) for i, q in enumerate(users)]
    defs += [(f"a{i}", q, "accounts", False) for i, q in enumerate(accounts)]
    return defs


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(msgs=account_messages(), defs=_definitions())
def test_spark_matches_reference(spark: Any, msgs: list[Message], defs: list[Def]) -> None:
    want = _outcomes(ReferenceEngine(), msgs, defs)
    got = _outcomes(_engine(), msgs, defs)
    for name, query, _, _ in defs:
        assert _same(got[name], want[name]), (
            f"{query}\nreference: {want[name]}\nspark:     {got[name]}"
        )


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(msgs=messages(), referenced=_audience, reader=_reader)
def test_spark_audience_history_matches_reference(
    spark: Any, msgs: list[Message], referenced: str, reader: str
) -> None:
    """``trait('<audience>')``: true for members, false for former members, else absent."""
    defs: list[Def] = [("r", referenced, "users", False), ("d", reader, "users", False)]
    want = _outcomes(ReferenceEngine(), msgs, defs)
    got = _outcomes(_engine(), msgs, defs)
    assert got == want, f"{referenced} / {reader}\nreference: {want}\nspark:     {got}"
