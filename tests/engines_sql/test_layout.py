"""Promoted columns (``layout.py``) never change an answer; without a layout nothing changes.

The corpus and the differential tests run again with every property and context path the
definitions read promoted (``DuckDBEngine(layout="auto")``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shoal import lang
from shoal.engines import Members, Request, compile_request, run
from shoal.engines.reference import ReferenceEngine
from shoal.engines.sql import compile_sql
from shoal.engines.sql.dialects import DuckDBCompiler
from shoal.engines.sql.duckdb_engine import DuckDBEngine
from shoal.engines.sql.layout import Layout, compiler_for, promotion
from shoal.spec.message import Message
from tests.cases import Case, load_cases
from tests.engines.support import matches, run_case
from tests.engines_sql import test_differential as diff
from tests.engines_sql import test_injection as injection

NOW = datetime(2024, 6, 30, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def promoting() -> DuckDBEngine:
    return DuckDBEngine(layout="auto")


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name) for c in load_cases()])
def test_corpus_with_promoted_columns(case: Case, promoting: DuckDBEngine) -> None:
    actual = run_case(promoting, case).to_json()
    assert matches(case.expect, actual), f"{case.query}\nexpected {case.expect}\ngot {actual}"


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    msgs=diff.messages(),
    query=st.one_of(diff._audience, diff._trait),
    include_anonymous=st.booleans(),
)
def test_promoted_matches_reference(
    msgs: list[Message], query: str, include_anonymous: bool
) -> None:
    want = diff._outcome(ReferenceEngine(), msgs, query, include_anonymous)
    got = diff._outcome(DuckDBEngine(layout="auto"), msgs, query, include_anonymous)
    assert diff._same(got, want), f"{query}\nreference: {want}\npromoted:  {got}"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(msgs=diff.account_messages(), query=st.one_of(diff._account_audience, diff._trait))
def test_promoted_accounts_match_reference(msgs: list[Message], query: str) -> None:
    defs = [("d", query, "accounts")]
    want = diff._outcomes(ReferenceEngine(), msgs, defs)
    got = diff._outcomes(DuckDBEngine(layout="auto"), msgs, defs)
    assert diff._same(got["d"], want["d"]), f"{query}\nreference: {want}\npromoted:  {got}"


# Without arrays among the values, promoted paths are measured array-free: the compiler then
# drops the per-element branches and joins equal values on their equality key.
SCALARS = [v for v in diff.VALUES if not isinstance(v, list)]


@st.composite
def scalar_messages(draw: st.DrawFn) -> list[Message]:
    out: list[Message] = []
    for i in range(draw(st.integers(0, 10))):
        user_id, anonymous_id = draw(st.sampled_from([("u1", None), ("u2", "a1"), (None, "a1")]))
        at = NOW - draw(st.sampled_from(diff.OFFSETS))
        common: dict[str, Any] = {
            "message_id": f"m{i:02d}",
            "timestamp": at,
            "received_at": at + timedelta(seconds=draw(st.integers(0, 2))),
            "user_id": user_id,
            "anonymous_id": anonymous_id,
        }
        if draw(st.integers(0, 3)) == 0:
            traits = {"t": draw(st.sampled_from(SCALARS))}
            out.append(Message(type="identify", traits=traits, **common))
        else:
            properties = {"p": draw(st.sampled_from(SCALARS)), "q": draw(st.sampled_from(SCALARS))}
            event = draw(st.sampled_from(["A", "B"]))
            out.append(Message(type="track", event=event, properties=properties, **common))
    return out


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(msgs=scalar_messages(), query=st.one_of(diff._audience, diff._trait))
def test_array_free_paths_match_reference(msgs: list[Message], query: str) -> None:
    want = diff._outcome(ReferenceEngine(), msgs, query, False)
    got = diff._outcome(DuckDBEngine(layout="auto"), msgs, query, False)
    assert diff._same(got, want), f"{query}\nreference: {want}\npromoted:  {got}"


# --- one property, every type ---------------------------------------------------------------------

PRICES: list[Any] = [150, 150.5, "150", "1.5e2", "abc", "", True, None, [150, "x"], {"a": 1}, 99]
QUERIES = [
    "event('V').where(property('price') > 100).count() >= 1",
    "event('V').where(property('price') = '150').count() >= 1",
    "event('V').where(property('price') = 'true').count() >= 1",
    "event('V').where(property('price').contains('5')).count() >= 1",
    "event('V').where(property('price').exists()).count() >= 2",
    "event('V').sum(property('price'))",
    "event('V').max(property('price'))",
    "event('V').min(property('price') as string)",
    "event('V').mode(property('price'), 1)",
    "event('V').unique(property('price')).count()",
    "event('V').last(property('price'))",
    "event('V').where(event('V').within(parent: 1 day).where("
    "property('price') = property(parent: 'price')).count() >= 1).count() >= 1",
]


def _mixed_stream() -> list[Message]:
    return [
        Message(
            type="track",
            message_id=f"{user}-{i}",
            timestamp=NOW - timedelta(hours=i),
            received_at=NOW - timedelta(hours=i),
            user_id=user,
            event="V",
            properties={} if price is None else {"price": price},
        )
        for i, price in enumerate(PRICES)
        for user in ("u1", f"u{i}")
    ]


@pytest.mark.parametrize("query", QUERIES)
def test_mixed_types_same_answer(query: str) -> None:
    request = compile_request("d", query)
    assert isinstance(request, Request)
    msgs = _mixed_stream()
    plain = run(DuckDBEngine(), msgs, [request], as_of=NOW)["d"].to_json()
    promoted = run(DuckDBEngine(layout="auto"), msgs, [request], as_of=NOW)["d"].to_json()
    want = run(ReferenceEngine(), msgs, [request], as_of=NOW)["d"].to_json()
    assert promoted == plain
    assert diff._same(promoted, want)


def test_promoted_sql_reads_typed_columns() -> None:
    d = lang.compile_definition(
        "event('V').where(property('price') > 100).sum(property('price'))", kind="trait"
    )
    layout = Layout.for_definitions([d])
    compiler = compiler_for(DuckDBCompiler, layout, now=NOW)
    sql = compiler.sql(compiler.compile(d))
    assert "e1.pp1_num > 100" in sql
    assert "SUM(e1.pp1_num)" in sql
    assert "JSON_EXTRACT(e1.properties" not in sql


def test_account_traits_are_promoted_at_the_account_level_only() -> None:
    d = lang.compile_definition(
        "trait('plan') = 'business' AND ANY trait('role') = 'admin'", target="accounts"
    )
    stream = lang.compile_definition(
        "event('V').where(trait('tier') = 'gold').count()", kind="trait", target="accounts"
    )
    layout = Layout.for_definitions([d, stream])
    # trait() inside ANY/ALL and inside a stream is a user's trait: not the account's.
    assert [(p.source, p.path) for p in layout.promoted] == [("traits", ("plan",))]
    assert layout.on("shoal_accounts").promoted == layout.promoted
    assert layout.on("shoal_events").promoted == ()
    compiler = compiler_for(DuckDBCompiler, layout, now=NOW)
    sql = compiler.sql(compiler.compile(d), pretty=False)
    assert "a.pp1_text = 'business'" in sql
    assert "JSON_EXTRACT(a.traits" not in sql


PLANS: list[Any] = [
    "business",
    "Business",
    "true",
    True,
    150,
    "150",
    ["business", 1],
    {"a": 1},
    None,
]
ACCOUNT_QUERIES = [
    "trait('plan') = 'business'",
    "trait('plan') = 'true'",
    "trait('plan') > 100",
    "trait('plan').contains('usi')",
    "trait('plan').exists() AND ALL NOT trait('plan') = 'business'",
    "trait('plan') = 'business' OR ANY event('V').count() >= 1",
]


@pytest.mark.parametrize("query", ACCOUNT_QUERIES)
def test_promoted_account_traits_same_answer(query: str) -> None:
    request = compile_request("d", query, target="accounts")
    assert isinstance(request, Request)
    msgs = []
    for i, plan in enumerate(PLANS):
        at = NOW - timedelta(hours=i)
        common: dict[str, Any] = {"timestamp": at, "received_at": at, "user_id": f"u{i}"}
        msgs.append(
            Message(
                type="group", message_id=f"g{i}", group_id=f"g{i}", traits={"plan": plan}, **common
            )
        )
        msgs.append(Message(type="track", message_id=f"t{i}", event="V", **common))
    plain = run(DuckDBEngine(), msgs, [request], as_of=NOW)["d"].to_json()
    promoted = run(DuckDBEngine(layout="auto"), msgs, [request], as_of=NOW)["d"].to_json()
    want = run(ReferenceEngine(), msgs, [request], as_of=NOW)["d"].to_json()
    assert promoted == plain == want
    assert promoted["members"], "every query matches some account"


def test_measured_paths_join_on_their_equality_key() -> None:
    d = lang.compile_definition(
        "event('V').where(event('W').within(parent: 1 day)"
        ".where(property('sku') = property(parent: 'sku')).count() = 0).count() >= 1"
    )
    measured = Layout.for_definitions([d]).with_shapes([False, False])
    compiler = compiler_for(DuckDBCompiler, measured, now=NOW)
    sql = compiler.sql(compiler.compile(d), pretty=False)
    assert "e2.pp1_eq = p2.pp1_eq AND (" in sql
    assert "_shape" not in sql  # CASE WHEN FALSE (an array?) folds away in the database
    unmeasured = compiler_for(DuckDBCompiler, Layout.for_definitions([d]), now=NOW)
    assert "_eq" not in unmeasured.sql(unmeasured.compile(d))


def test_no_layout_is_the_plain_compiler() -> None:
    d = lang.compile_definition("event('V').where(property('price') > 100).count() >= 1")
    assert type(compiler_for(DuckDBCompiler, None, now=NOW)) is DuckDBCompiler
    assert type(compiler_for(DuckDBCompiler, Layout(), now=NOW)) is DuckDBCompiler
    plain = compile_sql(d, now=NOW)
    unpromoted = compiler_for(DuckDBCompiler, Layout.of([("properties", ("other",))]), now=NOW)
    # A path the layout does not hold compiles as before; the result is just not sorted and
    # holds the members only.
    expected = DuckDBCompiler(now=NOW).compile(d).select
    expected.set("order", None)
    expected = expected.where(expected.expressions[1].this.copy())
    assert unpromoted.sql(unpromoted.compile(d)) == expected.sql(dialect="duckdb", pretty=True)
    assert plain != expected.sql(dialect="duckdb", pretty=True)


# --- invariant 4 with a layout: user text stays in literals, promoted columns too ---------------


@pytest.mark.parametrize("text", injection.NASTY)
def test_promoted_user_text_stays_in_literals(text: str) -> None:
    def shape(text: str) -> str:
        d = injection._definition(text)
        layout = Layout.for_definitions([d]).with_shapes([False, False])
        compiled = injection._shape(compile_sql(d, now=NOW, layout=layout))
        promoted = promotion(Layout.for_definitions([d]), DuckDBCompiler).sql(dialect="duckdb")
        return compiled + injection._shape(promoted)

    assert shape(text) == shape("benign")


@pytest.mark.parametrize("text", injection.NASTY)
def test_promoted_user_text_round_trips(text: str) -> None:
    message = Message(
        type="track",
        message_id="m1",
        timestamp=NOW,
        received_at=NOW,
        user_id=text,
        event=text,
        properties={text: {text: text}},
    )
    request = Request(name="a", definition=injection._definition(text))
    out = DuckDBEngine(layout="auto").evaluate([message], [request], as_of=NOW)
    assert out["a"] == Members((f"user_id:{text}",))


# --- folding what a FALSE shape decides -----------------------------------------------------------

_ATOMS = st.sampled_from(["FALSE", "TRUE", "NULL", "x", "NOT x"])
_BOOLEAN_SQL = st.recursive(
    _ATOMS,
    lambda inner: st.one_of(
        st.builds(lambda a, b: f"({a} AND {b})", inner, inner),
        st.builds(lambda a, b: f"({a} OR {b})", inner, inner),
        st.builds(lambda c, a, b: f"CASE WHEN {c} THEN {a} ELSE {b} END", inner, inner, inner),
        st.builds(lambda c, a: f"CASE WHEN {c} THEN {a} END", inner, inner),
    ),
    max_leaves=8,
)


@settings(max_examples=200, deadline=None)
@given(expression=_BOOLEAN_SQL)
def test_folding_false_keeps_every_answer(expression: str) -> None:
    import duckdb
    import sqlglot

    from shoal.engines.sql.layout import _fold

    query = f"SELECT x, {expression} AS v FROM t"
    folded = _fold(sqlglot.parse_one(query, read="duckdb")).sql(dialect="duckdb")
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT * FROM (VALUES (TRUE), (FALSE), (NULL)) AS t(x)")
    want = con.execute(f"SELECT * FROM ({query}) ORDER BY x NULLS LAST").fetchall()
    got = con.execute(f"SELECT * FROM ({folded}) ORDER BY x NULLS LAST").fetchall()
    assert got == want, folded
