"""Tokenizer: kinds, decoded values, positions."""

from __future__ import annotations

import pytest

from shoal.errors import DefinitionSyntaxError
from shoal.lang.tokens import tokenize


def kinds(text: str) -> list[tuple[str, object]]:
    return [(t.kind, t.value) for t in tokenize(text)[:-1]]


def test_positions_are_one_based_and_track_lines() -> None:
    tokens = tokenize("event('A')\n  .count()")
    count = next(t for t in tokens if t.text == "count")
    assert (count.line, count.col, count.end_col) == (2, 4, 9)
    assert (count.start, count.end) == (14, 19)
    assert tokens[-1].kind == "eof"


def test_crlf_counts_as_one_line_break() -> None:
    tokens = tokenize("trait('a')\r\n= 1")
    assert tokens[-2].line == 2


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("'plain'", "plain"),
        ('"double"', "double"),
        (r"'it\'s'", "it's"),
        (r'"say \"hi\""', 'say "hi"'),
        (r"'back\\slash'", "back\\slash"),
        (r"'a\.b'", r"a\.b"),  # kept for path splitting
        ("'multi\nline'", "multi\nline"),
    ],
)
def test_strings_decode_escapes(text: str, value: str) -> None:
    assert kinds(text) == [("string", value)]


@pytest.mark.parametrize(
    ("text", "value"),
    [("5", 5), ("-5", -5), ("2.5", 2.5), (".20", 0.2), ("-.5", -0.5), ("1e3", 1000.0)],
)
def test_numbers(text: str, value: float) -> None:
    (kind, parsed) = kinds(text)[0]
    assert kind == "number"
    assert parsed == value
    assert type(parsed) is type(value)


@pytest.mark.parametrize(
    "text", ["2023-12-07", "2023-12-07T18:50:00Z", "2023-08-25T02:00:00-07:00", "2022-10-17T00:00"]
)
def test_unquoted_dates(text: str) -> None:
    assert kinds(text) == [("date", text)]


def test_keywords_are_case_insensitive() -> None:
    assert kinds("and Or NOT any aLL") == [
        ("keyword", "AND"),
        ("keyword", "OR"),
        ("keyword", "NOT"),
        ("keyword", "ANY"),
        ("keyword", "ALL"),
    ]


def test_dot_after_value_is_a_call_not_a_fraction() -> None:
    assert [t.text for t in tokenize("x(1).5")[:-1]] == ["x", "(", "1", ")", ".", "5"]


def test_operators_take_the_longest_match() -> None:
    assert [t.text for t in tokenize("== != >= <= = > <")[:-1]] == [
        "==",
        "!=",
        ">=",
        "<=",
        "=",
        ">",
        "<",
    ]


def test_number_glued_to_unit() -> None:
    assert kinds("7days") == [("number", 7), ("ident", "days")]


@pytest.mark.parametrize(
    ("text", "code", "col"),
    [
        ("'open", "unterminated_string", 1),
        ("a & b", "unexpected_character", 3),
        ("x - y", "unexpected_character", 3),
        ("1e999", "invalid_number", 1),
        ("12abc3", "invalid_number", 1),
        ("é", "unexpected_character", 1),
    ],
)
def test_bad_text(text: str, code: str, col: int) -> None:
    with pytest.raises(DefinitionSyntaxError) as info:
        tokenize(text)
    assert (info.value.code, info.value.col) == (code, col)
