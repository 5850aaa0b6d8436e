"""Property tests: round trips for generated trees; the parser never fails with a stray error."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shoal import lang
from shoal.errors import DefinitionError, DefinitionSyntaxError
from shoal.lang import ast
from tests.lang.strategies import definitions, token_soup

SETTINGS = settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@SETTINGS
@given(definitions)
def test_format_then_parse_gives_the_same_tree(definition: ast.Definition) -> None:
    text = lang.format_definition(definition)
    assert lang.parse(text, kind=definition.kind, target=definition.target) == definition


@SETTINGS
@given(definitions)
def test_json_form_round_trips_through_json_text(definition: ast.Definition) -> None:
    data = lang.to_json(definition)
    assert lang.from_json(json.loads(json.dumps(data))) == definition


@SETTINGS
@given(definitions)
def test_checker_raises_only_type_errors(definition: ast.Definition) -> None:
    try:
        lang.check(definition)
    except DefinitionError as exc:
        assert exc.code


def _parse_or_definition_error(text: str) -> None:
    try:
        definition = lang.compile_definition(text)
    except DefinitionError as exc:
        assert exc.code
        assert exc.line >= 1
        assert exc.col >= 1
        assert exc.end_col > exc.col
        assert lang.render_error(text, exc).startswith(f"error[{exc.code}]")
        return
    again = lang.parse(lang.format_definition(definition))
    assert again == definition


@SETTINGS
@given(st.text())
def test_arbitrary_text_only_raises_definition_errors(text: str) -> None:
    _parse_or_definition_error(text)


@SETTINGS
@given(token_soup)
def test_token_soup_only_raises_definition_errors(text: str) -> None:
    _parse_or_definition_error(text)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=10,
)


@SETTINGS
@given(json_values)
def test_from_json_rejects_junk_cleanly(data: object) -> None:
    try:
        lang.from_json(data)
    except DefinitionSyntaxError as exc:
        assert exc.code == "invalid_json_form"


def _mutate(data: Any, draw: Callable[[st.SearchStrategy[Any]], Any]) -> Any:
    """Replace one randomly chosen member of a JSON tree with junk."""
    if isinstance(data, dict) and data:
        key = draw(st.sampled_from(sorted(data)))
        if draw(st.booleans()):
            return {**data, key: draw(json_values)}
        return {**data, key: _mutate(data[key], draw)}
    if isinstance(data, list) and data:
        index = draw(st.integers(0, len(data) - 1))
        return [*data[:index], _mutate(data[index], draw), *data[index + 1 :]]
    return draw(json_values)


@SETTINGS
@given(definitions, st.data())
def test_from_json_on_damaged_trees_fails_cleanly_or_round_trips(
    definition: ast.Definition, data: st.DataObject
) -> None:
    damaged = _mutate(lang.to_json(definition), data.draw)
    try:
        rebuilt = lang.from_json(damaged)
    except DefinitionSyntaxError as exc:
        assert exc.code == "invalid_json_form"
        return
    text = lang.format_definition(rebuilt)
    assert lang.parse(text, kind=rebuilt.kind, target=rebuilt.target) == rebuilt
