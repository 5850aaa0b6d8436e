"""Formatter: canonical spelling, minimal parentheses, and parse(format(x)) == x."""

from __future__ import annotations

import pytest

from shoal.lang import ast, format_definition, parse
from tests.lang.builders import cmp, lit, trait
from tests.lang.cases import SPEC_EXAMPLES, Kind, Target


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("trait('a')==1", "trait('a') = 1"),
        ("trait('a').gte(1)", "trait('a') >= 1"),
        ("trait('a').is_null()", "trait('a').absent()"),
        ("trait('a').contains_one(['x','y'])", "trait('a').contains('x', 'y')"),
        ('trait("it\'s") = "say \\"hi\\""', "trait('it\\'s') = 'say \"hi\"'"),
        ("trait('a\\.b.c') = 1", "trait('a\\\\.b.c') = 1"),
        ("trait('a') = .5", "trait('a') = 0.5"),
        ("trait('a') = 1e-7", "trait('a') = 1e-07"),
        ("trait('a').before_date(2024-01-01)", "trait('a').before_date('2024-01-01')"),
        (
            "event('A').within(1 days).between(2 hour, 3 hours).count()>=1",
            "event('A').within(1 day).between(2 hours, 3 hours).count() >= 1",
        ),
        (
            "event('A').sources({exclude: 'x', 'y'}).count() >= 1",
            "event('A').sources({exclude: ['x', 'y']}).count() >= 1",
        ),
        ("not (trait('a') = 1)", "NOT trait('a') = 1"),
        (
            "NOT (trait('a') = 1 and trait('b') = 2)",
            "NOT (trait('a') = 1 AND trait('b') = 2)",
        ),
        (
            "(trait('a') = 1 or trait('b') = 2) and trait('c') = 3",
            "(trait('a') = 1 OR trait('b') = 2) AND trait('c') = 3",
        ),
        (
            "trait('a') = 1 or (trait('b') = 2 and trait('c') = 3)",
            "trait('a') = 1 OR trait('b') = 2 AND trait('c') = 3",
        ),
        ("(trait('a')).absent()", "trait('a').absent()"),
        ("literal(5) = trait('a')", "literal(5) = trait('a')"),
        (
            "event('A').max(property('p')   as   string)",
            "event('A').max(property('p') as string)",
        ),
        (
            "event('A').mode(property('p') as array , 2)",
            "event('A').mode(property('p') as array, 2)",
        ),
        ("event('A').unique(property('p')).count()", "event('A').unique(property('p')).count()"),
    ],
)
def test_canonical_text(text: str, canonical: str) -> None:
    assert format_definition(parse(text)) == canonical
    assert format_definition(parse(canonical)) == canonical


@pytest.mark.parametrize(("kind", "target", "text"), SPEC_EXAMPLES)
def test_spec_examples_round_trip(kind: Kind, target: Target, text: str) -> None:
    definition = parse(text, kind=kind, target=target)
    assert parse(format_definition(definition), kind=kind, target=target) == definition


def test_explicit_grouping_of_the_same_junction_survives() -> None:
    a, b, c = (cmp(trait(k), "equals", lit(1)) for k in "abc")
    grouped = ast.And(operands=(ast.And(operands=(a, b)), c))
    text = format_definition(grouped)
    assert text == "(trait('a') = 1 AND trait('b') = 1) AND trait('c') = 1"
    assert parse(text).body == grouped


def test_formats_a_bare_expression_too() -> None:
    assert format_definition(cmp(trait("a"), "exists")) == "trait('a').exists()"
