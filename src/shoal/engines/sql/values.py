"""Typed SQL values and the SEMANTICS.md comparison rules, built as sqlglot expressions.

A compiled value is a :class:`Val`: an expression plus what the compiler knows about its type.
Properties, context fields, traits and ``first``/``last`` results are ``json`` (their type is only
known per row); reducers give ``number``, ``string`` or ``list``; ``context('timestamp')`` is
``time``; literals are known at compile time, so their views are computed in Python and comparisons
against them stay small.

Every comparison goes through three *views* of a value, each NULL when it does not apply:

- ``num``: a JSON number, or a string that is a finite decimal number, as DOUBLE;
- ``str``: a JSON string's text;
- ``bool``: a JSON boolean as the text ``'true'`` / ``'false'``.

``a = b`` is then ``num(a) = num(b) OR str(a) = str(b) OR bool(a) = lower(str(b)) OR ...``;
because the views of one value never disagree, the disjunction is exactly SEMANTICS' rule, and
``COALESCE(..., FALSE)`` makes null (missing) values false for every comparator.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import sqlglot.expressions as sge

from shoal.lang import ast

__all__ = [
    "INTEGER_PATTERN",
    "NUMBER_PATTERN",
    "Kind",
    "UnsupportedError",
    "Val",
    "as_number",
    "duration_of",
    "literal_val",
    "parse_date",
    "timestamp_literal",
]

Kind = Literal["json", "number", "string", "time", "list", "bool"]

#: SEMANTICS "a string that parses as a finite decimal number": optional sign, digits with an
#: optional fraction (or a bare fraction), optional exponent; no spaces, no ``inf``/``nan``/hex.
NUMBER_PATTERN = r"[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?"
#: A numeric string that the reference engine reads as an int (``'42'``, not ``'42.0'``).
INTEGER_PATTERN = r"[+-]?[0-9]+"
_NUMBER_RE = re.compile(NUMBER_PATTERN)

#: A date is ``YYYY-MM-DD`` or an ISO-8601 timestamp with a zone (``Z`` or ``±hh:mm``).
DAY_PATTERN = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
TIMESTAMP_PATTERN = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?"
    + r"(Z|[+-][0-9]{2}:?[0-9]{2})"
)


class UnsupportedError(NotImplementedError):
    """The SQL compiler has no rule for this construct (yet); never a wrong answer instead.

    ``construct`` names the construct (``expires_after``, ``sources``, ...) so that tests can list
    the gaps.
    """

    def __init__(self, construct: str, detail: str = "") -> None:
        message = f"the SQL engine does not support {construct}"
        super().__init__(f"{message}: {detail}" if detail else message)
        self.construct = construct


@dataclass(frozen=True, slots=True)
class Val:
    """A compiled value: ``expr`` of kind ``kind``; ``literal`` when known at compile time."""

    expr: sge.Expr
    kind: Kind
    literal: str | int | float | None = None
    integral: sge.Expr | None = None
    """For numeric reducer results: whether the value is an integer (printed without ``.0``)."""

    @property
    def is_literal(self) -> bool:
        return self.literal is not None


def as_number(value: str | int | float) -> float | None:
    """The SEMANTICS number a literal stands for, or None.

    >>> as_number("12.50"), as_number("1e3"), as_number("12a"), as_number(True)
    (12.5, 1000.0, None, None)
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if not _NUMBER_RE.fullmatch(value):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def literal_val(node: ast.Literal) -> Val:
    """A literal as a :class:`Val` (its SQL form is only used where a column is compared to it)."""
    value = node.value
    if isinstance(value, str):
        return Val(sge.Literal.string(value), "string", value)
    return Val(
        sge.Literal.number(repr(value) if isinstance(value, float) else value), "number", value
    )


def parse_date(text: str) -> datetime | None:
    """A SEMANTICS date as a naive UTC datetime, or None when ``text`` is not one.

    >>> parse_date("2024-01-31"), parse_date("2024-01-31T02:00:00+02:00")
    (datetime.datetime(2024, 1, 31, 0, 0), datetime.datetime(2024, 1, 31, 0, 0))
    >>> parse_date("2024-01-31T02:00:00") is None
    True
    """
    if re.fullmatch(DAY_PATTERN, text):
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            return None
    if not re.fullmatch(TIMESTAMP_PATTERN, text):
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed.astimezone(UTC).replace(tzinfo=None)


def timestamp_literal(moment: datetime) -> sge.Expr:
    """``CAST('YYYY-MM-DD HH:MM:SS.ffffff' AS TIMESTAMP)`` for a naive-UTC or aware datetime."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    text = moment.isoformat(sep=" ", timespec="microseconds")
    return sge.cast(sge.Literal.string(text), sge.DataType.Type.TIMESTAMP)


_UNIT_SECONDS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}


def duration_of(duration: ast.Duration) -> timedelta:
    """A duration as a timedelta (``day`` = 24 h, SEMANTICS "Time")."""
    return timedelta(seconds=duration.amount * _UNIT_SECONDS[duration.unit])
