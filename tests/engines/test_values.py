"""Coercion and comparison rules (SEMANTICS.md "Values and comparisons")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shoal.engines import values as V

NOW = datetime(2024, 6, 30, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "number"),
    [("7", 7), ("-7", -7), ("7.5", 7.5), (".20", 0.2), ("1e3", 1000.0), ("+3", 3)],
)
def test_decimal_strings_are_numbers(text: str, number: float) -> None:
    assert V.as_number(text) == number


@pytest.mark.parametrize("text", ["nan", "inf", "Infinity", " 7", "7 ", "1,5", "", "0x10", "1e999"])
def test_other_strings_are_not_numbers(text: str) -> None:
    assert V.as_number(text) is None


def test_booleans_are_not_numbers() -> None:
    assert V.as_number(True) is None
    assert not V.equals(True, 1)
    assert V.equals(True, "True")
    assert V.equals("false", False)
    assert not V.equals("yes", True)


def test_null_is_false_for_every_comparator() -> None:
    assert not V.equals(None, None)
    assert not V.differs(None, 1)
    assert not V.compare("at_most", None, 1)
    assert not V.contains(None, ["a"])
    assert not V.omits(None, ["a"])
    assert not V.none_of(None, ["a"])
    assert not V.date_test("within_last", None, timedelta(days=1), NOW)


def test_null_argument_is_false() -> None:
    assert not V.equals(1, None)
    assert not V.differs(1, None)
    assert not V.compare("greater_than", 1, None)


def test_dates() -> None:
    assert V.as_date("2024-06-30") == datetime(2024, 6, 30, tzinfo=UTC)
    assert V.as_date("2024-06-30T00:00:00+02:00") == datetime(2024, 6, 29, 22, tzinfo=UTC)
    assert V.as_date("2024-06-30T00:00:00") is None  # no zone
    assert V.as_date("June 30") is None
    assert V.as_date(20240630) is None


def test_string_forms() -> None:
    assert V.string_form(10) == "10"
    assert V.string_form(2.5) == "2.5"
    assert V.string_form(True) == "true"
    assert V.string_form({"b": 1, "a": [1]}) == '{"a":[1],"b":1}'
    assert V.string_form(datetime(2024, 6, 30, tzinfo=UTC)) == "2024-06-30T00:00:00Z"


def test_walk_path() -> None:
    assert V.walk_path({"a": {"b": 1}}, ("a", "b")) == 1
    assert V.walk_path({"a": 1}, ("a", "b")) is None
    assert V.walk_path({"a": [1]}, ("a", "0")) is None
