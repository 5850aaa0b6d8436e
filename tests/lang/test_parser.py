"""Parser: every construct of spec §1.3 and the sugar of §1.2 produce the expected tree."""

from __future__ import annotations

import pytest

from shoal.errors import DefinitionSyntaxError
from shoal.lang import ast, parse
from tests.lang.builders import at_least, cmp, count, ctx, dur, event, lit, parent, prop, trait


def body(text: str) -> ast.Expr:
    return parse(text).body


X1 = at_least(count(event("X")), 1)


# --- extractors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("trait('plan') = 'pro'", cmp(trait("plan"), "equals", lit("pro"))),
        ("trait('address.city') = 'Paris'", cmp(trait("address", "city"), "equals", lit("Paris"))),
        (r"trait('a\.b.c').exists()", cmp(trait("a.b", "c"), "exists")),
        ('trait("double") = "x"', cmp(trait("double"), "equals", lit("x"))),
        ("literal(5) = trait('n')", cmp(lit(5), "equals", trait("n"))),
        ("literal('s').exists()", cmp(lit("s"), "exists")),
        (
            "literal(2022-10-17T00:00:00) = trait('d')",
            cmp(lit("2022-10-17T00:00:00"), "equals", trait("d")),
        ),
        ("property('price') > 100", cmp(prop("price"), "greater_than", lit(100))),
        ("property(parent: 'sku') = 'a'", cmp(parent("sku"), "equals", lit("a"))),
        ("context('page.url').exists()", cmp(ctx("page", "url"), "exists")),
    ],
)
def test_scalar_extractors(text: str, expected: ast.Expr) -> None:
    assert body(text) == expected


def test_entity_is_a_stream_from_another_source() -> None:
    node = body("entity('orders').count() >= 1")
    assert node == at_least(count(ast.EventStream(name="orders", source="entity")), 1)


# --- filters ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "flt"),
    [
        ("within(7 days)", ast.Within(duration=dur(7))),
        ("within(1 day)", ast.Within(duration=dur(1))),
        ("within(12 hours)", ast.Within(duration=dur(12, "hours"))),
        ("within(1 hour)", ast.Within(duration=dur(1, "hours"))),
        ("within(30 minutes)", ast.Within(duration=dur(30, "minutes"))),
        ("within(45 second)", ast.Within(duration=dur(45, "seconds"))),
        ("between(7 days, 10 days)", ast.Between(start=dur(7), end=dur(10))),
        ("between(10 days, 7 days)", ast.Between(start=dur(10), end=dur(7))),
        ("expires_after(30 minutes)", ast.ExpiresAfter(duration=dur(30, "minutes"))),
        ("sources({exclude: ['a', 'b']})", ast.Sources(exclude=("a", "b"))),
        ("sources({exclude: 'a', 'b'})", ast.Sources(exclude=("a", "b"))),
        ("sources({'exclude': ['a']})", ast.Sources(exclude=("a",))),
        ("where(property('a') = 1)", ast.Where(condition=cmp(prop("a"), "equals", lit(1)))),
    ],
)
def test_filters(call: str, flt: ast.Filter) -> None:
    assert body(f"event('X').{call}.count() >= 1") == at_least(count(event("X", flt)), 1)


def test_filters_chain_in_any_order_and_repeat() -> None:
    node = body("event('X').within(7 days).where(property('a') = 1).within(3 days).count() >= 1")
    where = ast.Where(condition=cmp(prop("a"), "equals", lit(1)))
    expected = event("X", ast.Within(duration=dur(7)), where, ast.Within(duration=dur(3)))
    assert node == at_least(count(expected), 1)


def test_parent_windows_in_a_nested_event() -> None:
    node = body(
        "event('A').where(event('B').within(parent: 5 days).between(parent: 1 hour, 2 hours)"
        ".count() >= 1).count() >= 1"
    )
    inner = event(
        "B",
        ast.Within(duration=dur(5), parent=True),
        ast.Between(start=dur(1, "hours"), end=dur(2, "hours"), parent=True),
    )
    assert node == at_least(count(event("A", ast.Where(condition=at_least(count(inner), 1)))), 1)


# --- reducers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "kind", "arg", "cast", "min_count"),
    [
        ("count()", "count", None, None, None),
        ("sum(property('spend'))", "sum", prop("spend"), None, None),
        ("avg(property('spend'))", "avg", prop("spend"), None, None),
        ("min(property('spend'))", "min", prop("spend"), None, None),
        ("min(property('spend') as number)", "min", prop("spend"), "number", None),
        ("max(property('spend') as string)", "max", prop("spend"), "string", None),
        ("mode(property('c'), 2)", "mode", prop("c"), None, 2),
        ("mode(property('c') as array, 3)", "mode", prop("c"), "array", 3),
        ("first(property('spend'))", "first", prop("spend"), None, None),
        ("last(context('campaign.name'))", "last", ctx("campaign", "name"), None, None),
        ("unique(property('c'))", "unique", prop("c"), None, None),
        ("unique(property('c')).count()", "unique_count", prop("c"), None, None),
    ],
)
def test_reducers(
    call: str,
    kind: ast.ReducerKind,
    arg: ast.Property | None,
    cast: ast.Cast | None,
    min_count: int | None,
) -> None:
    node = parse(f"event('X').{call}", kind="trait").body
    assert node == ast.Reducer(
        stream=event("X"),
        kind=kind,
        arg=arg,
        cast=cast,
        min_count=min_count,
    )


def test_reducer_over_parent_property() -> None:
    node = body("event('A').where(event('B').max(property(parent: 'n')) > 1).count() >= 1")
    inner = ast.Reducer(stream=event("B"), kind="max", arg=parent("n"))
    where = ast.Where(condition=cmp(inner, "greater_than", lit(1)))
    assert node == at_least(count(event("A", where)), 1)


# --- comparators --------------------------------------------------------------------------------

T = trait("t")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("trait('t') = 1", cmp(T, "equals", lit(1))),
        ("trait('t') == 1", cmp(T, "equals", lit(1))),
        ("trait('t') != 1", cmp(T, "differs", lit(1))),
        ("trait('t') > 1", cmp(T, "greater_than", lit(1))),
        ("trait('t') >= 1", cmp(T, "at_least", lit(1))),
        ("trait('t') < 1", cmp(T, "less_than", lit(1))),
        ("trait('t') <= -1.5", cmp(T, "at_most", lit(-1.5))),
        ("trait('t').equals('a')", cmp(T, "equals", lit("a"))),
        ("trait('t').differs('a')", cmp(T, "differs", lit("a"))),
        ("trait('t').greater_than(2)", cmp(T, "greater_than", lit(2))),
        ("trait('t').at_least(2)", cmp(T, "at_least", lit(2))),
        ("trait('t').less_than(2)", cmp(T, "less_than", lit(2))),
        ("trait('t').at_most(2)", cmp(T, "at_most", lit(2))),
        ("trait('t').exists()", cmp(T, "exists")),
        ("trait('t').absent()", cmp(T, "absent")),
        ("trait('t').contains('a', 'b')", cmp(T, "contains", lit("a"), lit("b"))),
        ("trait('t').contains(['a', 'b'])", cmp(T, "contains", lit("a"), lit("b"))),
        ("trait('t').omits('a')", cmp(T, "omits", lit("a"))),
        ("trait('t').starts_with('a')", cmp(T, "starts_with", lit("a"))),
        ("trait('t').ends_with('a')", cmp(T, "ends_with", lit("a"))),
        ("trait('t').one_of('a', 2)", cmp(T, "one_of", lit("a"), lit(2))),
        ("trait('t').none_of(['a'])", cmp(T, "none_of", lit("a"))),
        ("trait('t').before_date('2024-01-01')", cmp(T, "before_date", lit("2024-01-01"))),
        (
            "trait('t').after_date(2023-12-07T18:50:00Z)",
            cmp(T, "after_date", lit("2023-12-07T18:50:00Z")),
        ),
        ("trait('t').within_last(7 days)", cmp(T, "within_last", dur(7))),
        ("trait('t').within_next(7 day)", cmp(T, "within_next", dur(7))),
        ("trait('t').before_last(2 hours)", cmp(T, "before_last", dur(2, "hours"))),
        ("trait('t').after_next(2 hours)", cmp(T, "after_next", dur(2, "hours"))),
        # pre-2024 names
        ("trait('t').eq(1)", cmp(T, "equals", lit(1))),
        ("trait('t').neq(1)", cmp(T, "differs", lit(1))),
        ("trait('t').gt(1)", cmp(T, "greater_than", lit(1))),
        ("trait('t').gte(1)", cmp(T, "at_least", lit(1))),
        ("trait('t').lt(1)", cmp(T, "less_than", lit(1))),
        ("trait('t').lte(1)", cmp(T, "at_most", lit(1))),
        ("trait('t').is_set()", cmp(T, "exists")),
        ("trait('t').is_null()", cmp(T, "absent")),
        ("trait('t').contains_one(['a', 'b'])", cmp(T, "contains", lit("a"), lit("b"))),
        # dynamic operands
        ("trait('t') >= trait('u')", cmp(T, "at_least", trait("u"))),
        ("trait('t').equals(trait('u'))", cmp(T, "equals", trait("u"))),
        ("trait('t') < event('X').count()", cmp(T, "less_than", count(event("X")))),
        ("trait('t') = literal(3)", cmp(T, "equals", lit(3))),
        ("trait('t') = .20", cmp(T, "equals", lit(0.2))),
    ],
)
def test_comparators(text: str, expected: ast.Expr) -> None:
    assert body(text) == expected


# --- junctions ----------------------------------------------------------------------------------

A = cmp(trait("a"), "equals", lit(1))
B = cmp(trait("b"), "equals", lit(2))
C = cmp(trait("c"), "equals", lit(3))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("trait('a') = 1 AND trait('b') = 2", ast.And(operands=(A, B))),
        ("trait('a') = 1 and trait('b') = 2", ast.And(operands=(A, B))),
        ("trait('a') = 1 OR trait('b') = 2 or trait('c') = 3", ast.Or(operands=(A, B, C))),
        (
            "trait('a') = 1 OR trait('b') = 2 AND trait('c') = 3",
            ast.Or(operands=(A, ast.And(operands=(B, C)))),
        ),
        (
            "trait('a') = 1 AND trait('b') = 2 OR trait('c') = 3",
            ast.Or(operands=(ast.And(operands=(A, B)), C)),
        ),
        (
            "(trait('a') = 1 OR trait('b') = 2) AND trait('c') = 3",
            ast.And(operands=(ast.Or(operands=(A, B)), C)),
        ),
        (
            "(trait('a') = 1 AND trait('b') = 2) AND trait('c') = 3",
            ast.And(operands=(ast.And(operands=(A, B)), C)),
        ),
        ("NOT trait('a') = 1", ast.Not(operand=A)),
        ("not (trait('a') = 1)", ast.Not(operand=A)),
        ("NOT trait('a') = 1 AND trait('b') = 2", ast.And(operands=(ast.Not(operand=A), B))),
        ("NOT NOT trait('a') = 1", ast.Not(operand=ast.Not(operand=A))),
        ("ANY trait('a') = 1", ast.Any(operand=A)),
        ("ALL (trait('a') = 1)", ast.All(operand=A)),
        ("ALL NOT trait('a') = 1", ast.All(operand=ast.Not(operand=A))),
        ("ANY(trait('a') = 1 OR trait('b') = 2)", ast.Any(operand=ast.Or(operands=(A, B)))),
        ("(trait('a')) = 1", A),
        ("(trait('a')).equals(1)", A),
        ("((trait('a') = 1))", A),
    ],
)
def test_junctions(text: str, expected: ast.Expr) -> None:
    assert body(text) == expected


def test_kind_and_target_are_recorded() -> None:
    d = parse("event('X').count()", kind="trait", target="accounts")
    assert (d.kind, d.target) == ("trait", "accounts")


# --- spans --------------------------------------------------------------------------------------


def test_spans_cover_the_source_text() -> None:
    text = "event('X').where(property('a') = 1)\n  .count() >= 1 AND trait('b').exists()"
    d = parse(text)
    assert isinstance(d.body, ast.And)
    first, second = d.body.operands
    assert text[first.span.start : first.span.end] == text[: text.index(" AND")]
    assert (second.span.line, second.span.col) == (2, 21)
    assert text[second.span.start : second.span.end] == "trait('b').exists()"
    assert d.span.end == len(text)


def test_spans_do_not_affect_equality() -> None:
    assert parse("trait('a')=1") == parse("  trait( 'a' )  =  1  ")


# --- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "empty_definition"),
        ("event('X').within(7 days)", "missing_reducer"),
        ("event('X') = 1", "missing_reducer"),
        ("trait('x') = event('X')", "missing_reducer"),
        ("event('X').exists()", "missing_reducer"),
        ("trait('x').within(7 days)", "call_not_allowed"),
        ("event('X').unique(property('a')).exists()", "call_not_allowed"),
        ("trait('a') = trait('b').exists()", "call_not_allowed"),
        ("(trait('a') = 1).exists()", "call_not_allowed"),
        ("(trait('a') = 1) = 1", "call_not_allowed"),
        ("trait('a').trait('b')", "call_not_allowed"),
        ("event('X').count", "unexpected_end"),
        ("event('X').", "unexpected_end"),
        ("event('X').7", "unexpected_token"),
        ("event('').count() >= 1", "invalid_argument"),
        ("trait('') = 1", "invalid_path"),
        ("trait('a.') = 1", "invalid_path"),
        ("event('X').within(-1 days).count() >= 1", "invalid_duration"),
        ("event('X').between(1 day).count() >= 1", "unexpected_token"),
        ("event('X').mode(property('a'), 'two')", "unexpected_token"),
        ("event('X').min(property('a') as)", "invalid_cast"),
        ("event('X').sources({exclude: [1]}).count() >= 1", "invalid_argument"),
        ("event('X').sources(['a']).count() >= 1", "unexpected_token"),
        ("trait('t').within_last('7 days')", "invalid_duration"),
        ("trait('t').one_of(['a'", "unexpected_end"),
        ("NOT", "unexpected_end"),
        ("trait('a') = 1 OR", "unexpected_end"),
        ("(" * 100 + "trait('a') = 1" + ")" * 100, "too_deep"),
        ("NOT " * 100 + "trait('a') = 1", "too_deep"),
        ("event('X').count() >= 1 trait", "unexpected_token"),
        ("property(parent 'a') = 1", "invalid_argument"),
    ],
)
def test_syntax_errors(text: str, code: str) -> None:
    with pytest.raises(DefinitionSyntaxError) as info:
        parse(text)
    assert info.value.code == code


def test_error_positions_point_at_the_offending_text() -> None:
    text = "event('X')\n  .withn(7 days).count() >= 1"
    with pytest.raises(DefinitionSyntaxError) as info:
        parse(text)
    err = info.value
    assert (err.line, err.col, err.end_col) == (2, 4, 9)
    assert err.hint == "did you mean `within`?"
