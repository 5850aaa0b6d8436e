"""Type checker: spec examples pass; each typing rule fails with its code; references."""

from __future__ import annotations

import pytest

from shoal.errors import DefinitionTypeError
from shoal.lang import MAX_EXPRESSIONS, check, compile_definition, dependency_order, parse
from shoal.lang.check import is_date, references
from tests.lang.cases import SPEC_EXAMPLES, Kind, Target


@pytest.mark.parametrize(("kind", "target", "text"), SPEC_EXAMPLES)
def test_spec_examples_parse_and_check(kind: Kind, target: Target, text: str) -> None:
    definition = parse(text, kind=kind, target=target)
    assert check(definition) is definition


@pytest.mark.parametrize(
    ("kind", "target", "text", "code"),
    [
        ("audience", "users", "event('X').count()", "expected_boolean"),
        ("audience", "users", "trait('x')", "expected_boolean"),
        ("audience", "users", "literal(1)", "expected_boolean"),
        ("audience", "users", "trait('a') = 1 AND trait('b')", "expected_boolean"),
        ("audience", "users", "NOT trait('b')", "expected_boolean"),
        ("audience", "users", "event('X').where(property('a')).count() >= 1", "expected_boolean"),
        ("trait", "users", "trait('a') = 1", "expected_scalar"),
        ("trait", "users", "NOT event('X').count() >= 1", "expected_scalar"),
        ("trait", "users", "trait('a')", "expected_reducer"),
        ("trait", "users", "literal(3)", "expected_reducer"),
        ("audience", "users", "property('a') = 1", "property_outside_event"),
        ("audience", "users", "trait('a') = property('b')", "property_outside_event"),
        ("audience", "users", "context('a').exists()", "property_outside_event"),
        (
            "audience",
            "users",
            "event('X').where(property(parent: 'a') = 1).count() >= 1",
            "parent_outside_nested",
        ),
        ("audience", "users", "property(parent: 'a') = 1", "parent_outside_nested"),
        (
            "trait",
            "users",
            "event('X').max(property(parent: 'a'))",
            "parent_outside_nested",
        ),
        (
            "audience",
            "users",
            "event('X').between(parent: 1 day, 2 days).count() >= 1",
            "parent_outside_nested",
        ),
        ("audience", "users", "ALL trait('a') = 1", "quantifier_needs_accounts"),
        ("audience", "accounts", "event('X').count() >= 1", "event_outside_quantifier"),
        (
            "audience",
            "accounts",
            "trait('a') = event('X').count()",
            "event_outside_quantifier",
        ),
        ("audience", "accounts", "ANY ALL trait('a') = 1", "nested_quantifier"),
        (
            "audience",
            "accounts",
            "ANY event('X').where(ALL trait('a') = 1).count() >= 1",
            "nested_quantifier",
        ),
        ("audience", "users", "trait('d').before_date('soon')", "invalid_date"),
        ("audience", "users", "trait('d').after_date(5)", "invalid_date"),
        ("trait", "users", "event('X').mode(property('a'), 0)", "invalid_mode_count"),
    ],
)
def test_type_errors(kind: Kind, target: Target, text: str, code: str) -> None:
    with pytest.raises(DefinitionTypeError) as info:
        compile_definition(text, kind=kind, target=target)
    assert info.value.code == code


def test_accounts_allow_account_traits_outside_quantifiers() -> None:
    compile_definition(
        "trait('plan') = 'pro' AND ANY event('X').count() >= 1 OR ALL NOT trait('bad').exists()",
        target="accounts",
    )


def test_account_computed_traits_aggregate_without_quantifier() -> None:
    compile_definition("event('Login').within(30 days).count()", kind="trait", target="accounts")


def test_expression_limit_is_fifty_comparisons() -> None:
    ok = " OR ".join(f"trait('t{i}') = {i}" for i in range(MAX_EXPRESSIONS))
    compile_definition(ok)
    nested = f"event('X').where({ok}).count() >= 1"
    with pytest.raises(DefinitionTypeError) as info:
        compile_definition(nested)
    assert info.value.code == "too_many_expressions"


def test_error_positions_come_from_the_node() -> None:
    with pytest.raises(DefinitionTypeError) as info:
        compile_definition("trait('a') = 1 AND\n  property('b') = 2")
    assert (info.value.line, info.value.col, info.value.end_col) == (2, 3, 16)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-31", True),
        ("2024-01-31T10:00:00Z", True),
        ("2024-01-31T10:00:00+02:00", True),
        ("2024-01-31T10:00:00", False),
        ("2024-02-30", False),
        ("yesterday", False),
        ("", False),
    ],
)
def test_is_date(text: str, expected: bool) -> None:
    assert is_date(text) is expected


def test_references_collect_trait_keys_everywhere() -> None:
    d = parse(
        "trait('vip') = 'true' AND event('X').where(property('p') >= trait('avg.spend'))"
        ".count() >= trait('threshold')"
    )
    assert references(d) == {"vip", "avg", "threshold"}


def test_dependency_order_puts_references_first() -> None:
    defs = {
        "big_spenders": parse("trait('total') > 100 AND trait('active') = 'true'"),
        "total": parse("event('Order').sum(property('revenue'))", kind="trait"),
        "active": parse("event('Login').within(30 days).count() >= 1"),
    }
    order = dependency_order(defs)
    assert order.index("total") < order.index("big_spenders")
    assert order.index("active") < order.index("big_spenders")
    assert sorted(order) == sorted(defs)


def test_dependency_cycles_are_rejected() -> None:
    defs = {
        "a": parse("trait('b') = 'true'"),
        "b": parse("trait('c') = 'true'"),
        "c": parse("trait('a') = 'true'"),
    }
    with pytest.raises(DefinitionTypeError) as info:
        dependency_order(defs)
    assert info.value.code == "reference_cycle"
    assert "a → b → c → a" in info.value.message


def test_self_reference_is_a_cycle() -> None:
    with pytest.raises(DefinitionTypeError):
        dependency_order({"a": parse("trait('a') = 'true'")})
