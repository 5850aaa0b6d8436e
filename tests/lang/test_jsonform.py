"""JSON form: documented shape, round trip, and clean rejection of malformed input."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from shoal import lang
from shoal.errors import DefinitionSyntaxError
from shoal.lang.jsonform import NODE_TYPES
from tests.lang.cases import SPEC_EXAMPLES, Kind, Target

SIGNED_UP = {
    "type": "definition",
    "kind": "audience",
    "target": "users",
    "body": {
        "type": "comparator",
        "subject": {
            "type": "reducer",
            "stream": {
                "type": "event_stream",
                "name": "Signed Up",
                "filters": [
                    {
                        "type": "within",
                        "duration": {"type": "duration", "amount": 7, "unit": "days"},
                        "parent": False,
                    }
                ],
                "source": "event",
            },
            "kind": "count",
            "arg": None,
            "cast": None,
            "min_count": None,
        },
        "op": "at_least",
        "args": [{"type": "literal", "value": 1}],
    },
}


def test_documented_shape() -> None:
    definition = lang.parse("event('Signed Up').within(7 days).count() >= 1")
    assert lang.to_json(definition) == SIGNED_UP
    assert lang.from_json(SIGNED_UP) == definition


def test_fields_with_defaults_may_be_omitted() -> None:
    data = copy.deepcopy(SIGNED_UP)
    stream = data["body"]["subject"]["stream"]  # type: ignore[index]
    del stream["source"], stream["filters"]
    del data["body"]["subject"]["arg"]  # type: ignore[index]
    assert lang.format_definition(lang.from_json(data)) == "event('Signed Up').count() >= 1"


def test_every_node_type_has_a_tag() -> None:
    assert sorted(NODE_TYPES) == sorted(
        [
            "definition", "literal", "trait_ref", "property", "parent_ref", "context_ref",
            "duration", "where", "sources", "within", "between", "expires_after", "event_stream",
            "reducer", "comparator", "and", "or", "not", "any", "all",
        ]
    )  # fmt: skip


@pytest.mark.parametrize(("kind", "target", "text"), SPEC_EXAMPLES)
def test_spec_examples_round_trip(kind: Kind, target: Target, text: str) -> None:
    definition = lang.parse(text, kind=kind, target=target)
    assert lang.from_json(lang.to_json(definition)) == definition


def _with(path: list[Any], value: Any) -> dict[str, Any]:
    data: Any = copy.deepcopy(SIGNED_UP)
    target = data
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return data  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("data", "where"),
    [
        ([], "$"),
        ({"type": "comparator"}, "$"),
        (_with(["type"], "audience"), "$"),
        (_with(["kind"], "segment"), "$.kind"),
        (_with(["body"], KeyError), "$"),
        (_with(["extra"], 1), "$"),
        (_with(["body", "op"], "bigger"), "$.body.op"),
        (_with(["body", "args"], []), "$.body"),
        (_with(["body", "args"], {"type": "literal", "value": 1}), "$.body.args"),
        (_with(["body", "args", 0, "value"], True), "$.body.args[0].value"),
        (_with(["body", "args", 0, "value"], None), "$.body.args[0].value"),
        (_with(["body", "args", 0, "value"], float("nan")), "$.body.args[0].value"),
        (_with(["body", "args", 0], {"type": "duration", "amount": 1, "unit": "days"}), "$.body"),
        (_with(["body", "subject", "kind"], "median"), "$.body.subject.kind"),
        (_with(["body", "subject", "cast"], "string"), "$.body.subject"),
        (_with(["body", "subject", "min_count"], 2), "$.body.subject"),
        (_with(["body", "subject", "stream", "name"], ""), "$.body.subject.stream"),
        (_with(["body", "subject", "stream", "filters", 0, "parent"], 1), "filters[0].parent"),
        (_with(["body", "subject", "stream", "filters", 0, "duration", "amount"], -1), "duration"),
        (_with(["body", "subject", "stream", "filters", 0, "duration", "amount"], 1.5), "amount"),
        (_with(["body", "subject", "stream", "filters", 0, "duration", "unit"], "weeks"), "unit"),
        (_with(["body", "subject", "stream"], {"type": "literal", "value": 1}), "stream"),
        (_with(["body"], {"type": "and", "operands": [{"type": "literal", "value": 1}]}), "body"),
        (_with(["body"], {"type": "trait_ref", "key": "a", "path": [""]}), "body"),
    ],
)
def test_invalid_json_form(data: Any, where: str) -> None:
    with pytest.raises(DefinitionSyntaxError) as info:
        lang.from_json(data)
    assert info.value.code == "invalid_json_form"
    assert where in info.value.message


def test_a_bare_expression_is_not_a_definition() -> None:
    with pytest.raises(DefinitionSyntaxError, match="expected a definition"):
        lang.from_json(SIGNED_UP["body"])
