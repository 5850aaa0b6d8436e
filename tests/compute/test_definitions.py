"""Definitions files: every entry checked before any is applied, errors with their location."""

from __future__ import annotations

from pathlib import Path

import pytest

from shoal.compute.definitions import DefinitionFileError, load_definitions, parse_definitions

GOOD_YAML = """
definitions:
  - key: big_spenders
    name: Big spenders
    type: audience
    query: trait('ltv') >= 500
  - key: ltv
    type: trait
    query: event('Order Completed').sum(property('revenue'))
  - key: at_risk
    target: accounts
    query: ALL NOT (event('Logged In').within(30 days).count() >= 1)
    include_historical_data: false
  - key: recent
    space: other
    query: event('Page Viewed').within(1 hour).count() >= 1
    backfill_event_data_days: 7
"""

GOOD_TOML = """
[[definitions]]
key = "ltv"
type = "trait"
query = "event('Order Completed').sum(property('revenue'))"

[[definitions]]
key = "big_spenders"
query = "trait('ltv') >= 500"
"""


def test_yaml_file_loads_in_dependency_order(tmp_path: Path) -> None:
    path = tmp_path / "defs.yaml"
    path.write_text(GOOD_YAML)
    loaded = load_definitions(path)
    assert loaded.spaces() == ["default", "other"]
    assert [d.key for d in loaded.of("default")] == ["at_risk", "ltv", "big_spenders"]
    at_risk = next(d for d in loaded.definitions if d.key == "at_risk")
    assert (at_risk.target, at_risk.include_historical_data) == ("accounts", False)
    assert next(d for d in loaded.definitions if d.key == "recent").backfill_event_data_days == 7


def test_toml_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "defs.toml"
    path.write_text(GOOD_TOML)
    assert [d.key for d in load_definitions(path).of("default")] == ["ltv", "big_spenders"]


def test_fingerprint_ignores_the_display_name_only() -> None:
    a = parse_definitions(GOOD_YAML, fmt="yaml", location="x").definitions[0]
    renamed = parse_definitions(
        GOOD_YAML.replace("Big spenders", "Whales"), fmt="yaml", location="x"
    ).definitions[0]
    changed = parse_definitions(
        GOOD_YAML.replace(">= 500", ">= 600"), fmt="yaml", location="x"
    ).definitions[0]
    assert a.fingerprint == renamed.fingerprint != changed.fingerprint


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("definitions: [", "not valid YAML"),
        ("defs: []", "unknown top-level key `defs`"),
        ("definitions: {a: 1}", "a list named `definitions`"),
        ("definitions: [3]", "definitions[0]: expected a table"),
        ("definitions: [{query: 'trait(\"a\") = 1'}]", "definitions[0].key"),
        ("definitions: [{key: a, query: 'x', colour: red}]", "unknown field `colour`"),
        ("definitions: [{key: a, type: segment, query: q}]", "definitions[0].type"),
        ("definitions: [{key: a, target: people, query: q}]", "definitions[0].target"),
        ("definitions: [{key: a, query: q, include_anonymous: 'yes'}]", "include_anonymous"),
        ("definitions: [{key: a, query: q, backfill_event_data_days: -1}]", "backfill_event"),
        (
            "definitions: [{key: a, query: \"event('X').withn(1 day).count() > 1\"}]",
            "definitions[0].query (`a`): error[unknown_function] at 1:",
        ),
        (
            "definitions: [{key: a, query: 'trait(\"b\") = 1'},"
            " {key: b, query: 'trait(\"a\") = 1'}]",
            "would create a cycle",
        ),
        (
            "definitions: [{key: a, query: 'trait(\"x\") = 1'},"
            " {key: a, query: 'trait(\"y\") = 1'}]",
            "defined twice",
        ),
    ],
)
def test_bad_files_are_rejected_whole_with_the_place(text: str, fragment: str) -> None:
    with pytest.raises(DefinitionFileError) as info:
        parse_definitions(text, fmt="yaml", location="defs.yaml")
    assert fragment in info.value.message
    assert info.value.location == "defs.yaml"
    assert info.value.code == "invalid_definitions"


def test_every_problem_is_listed_not_just_the_first() -> None:
    text = "definitions: [{key: a, query: 'x'}, {key: b, query: 'y'}]"
    with pytest.raises(DefinitionFileError) as info:
        parse_definitions(text, fmt="yaml", location="defs.yaml")
    assert len(info.value.problems) == 2


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DefinitionFileError, match="cannot read"):
        load_definitions(tmp_path / "nope.yaml")
