"""Value rules of SEMANTICS.md "Values and comparisons": coercion, comparison, string forms.

Every function takes plain JSON-like values (None, bool, int, float, str, list, dict) and, for
event times, ``datetime``. None is null: every comparator is false on it (``absent``/``exists``
are handled by the caller).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = [
    "apply_comparator",
    "as_date",
    "as_number",
    "compare",
    "contains",
    "date_test",
    "dates_in",
    "differs",
    "ends_with",
    "equals",
    "iso",
    "jsonable",
    "none_of",
    "omits",
    "one_of",
    "starts_with",
    "string_form",
    "walk_path",
]

Number = int | float

# A finite decimal number written as text: optional sign, digits with an optional fraction,
# optional exponent. No spaces, no "nan"/"inf" (float() would accept those).
_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_INTEGER = re.compile(r"[+-]?\d+")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def walk_path(value: Any, path: Sequence[str]) -> Any:
    """``value[p0][p1]...``; a missing key or a non-object anywhere on the way is null."""
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def as_number(value: Any) -> Number | None:
    """The number a value stands for: numbers, and strings that are finite decimals."""
    if isinstance(value, bool):
        return None  # SEMANTICS: no coercion of booleans besides 'true'/'false'
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str) and _DECIMAL.fullmatch(value):
        if _INTEGER.fullmatch(value):
            return int(value)
        parsed = float(value)
        return parsed if math.isfinite(parsed) else None
    return None


def as_date(value: Any) -> datetime | None:
    """An instant: an ISO-8601 timestamp with a zone, or ``YYYY-MM-DD`` (midnight UTC)."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        return None
    if _DAY.fullmatch(value):
        try:
            return datetime.fromisoformat(value).replace(tzinfo=UTC)
        except ValueError:
            return None
    if "T" not in value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def string_form(value: Any) -> str:
    """The text a value is grouped and sorted by (mode, unique, ``as string``, substrings)."""
    if isinstance(value, str):
        return value
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def apply_comparator(op: str, subject: Any, args: list[Any], now: datetime) -> bool:
    """A comparator with a value argument list on a non-null subject (SEMANTICS "Values and
    comparisons"); ``exists``/``absent`` and the duration forms are decided by the caller."""
    if op == "equals":
        return equals(subject, args[0])
    if op == "differs":
        return differs(subject, args[0])
    if op in ("greater_than", "at_least", "less_than", "at_most"):
        return compare(op, subject, args[0])
    if op == "contains":
        return contains(subject, args)
    if op == "omits":
        return omits(subject, args)
    if op == "starts_with":
        return starts_with(subject, args[0])
    if op == "ends_with":
        return ends_with(subject, args[0])
    if op == "one_of":
        return one_of(subject, args)
    if op == "none_of":
        return none_of(subject, args)
    return date_test(op, subject, args[0], now)  # before_date, after_date


def jsonable(value: Any) -> Any:
    """A result as engines print it: dates as ISO-8601 UTC text, lists element by element."""
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    return value


def iso(value: datetime) -> str:
    """An instant in UTC, ISO-8601 with a ``Z``."""
    text = value.astimezone(UTC).isoformat()
    return text.removesuffix("+00:00") + "Z"


def _any_element(value: Any, test: Callable[[Any], bool]) -> bool:
    """A comparator on an array holds when it holds for at least one element."""
    if value is None:
        return False
    if isinstance(value, list):
        return any(item is not None and test(item) for item in value)
    return test(value)


def _scalar_equals(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        if isinstance(a, bool) and isinstance(b, bool):
            return a == b
        flag, other = (a, b) if isinstance(a, bool) else (b, a)
        return isinstance(other, str) and other.lower() == ("true" if flag else "false")
    if isinstance(a, datetime) or isinstance(b, datetime):
        da, db = as_date(a), as_date(b)
        return da is not None and db is not None and da == db
    na, nb = as_number(a), as_number(b)
    if na is not None and nb is not None:
        return na == nb
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    if isinstance(a, dict | list) and isinstance(b, dict | list):
        return bool(a == b)
    return False


def equals(value: Any, arg: Any) -> bool:
    """``=``: numbers by value, numeric strings as numbers, booleans vs 'true'/'false'."""
    if arg is None:
        return False
    return _any_element(value, lambda v: _scalar_equals(v, arg))


def differs(value: Any, arg: Any) -> bool:
    """``!=``: false on null; on an array, true when some element differs."""
    if arg is None:
        return False
    return _any_element(value, lambda v: not _scalar_equals(v, arg))


_ORDER: dict[str, Callable[[Number, Number], bool]] = {
    "greater_than": lambda a, b: a > b,
    "at_least": lambda a, b: a >= b,
    "less_than": lambda a, b: a < b,
    "at_most": lambda a, b: a <= b,
}


def compare(op: str, value: Any, arg: Any) -> bool:
    """``> >= < <=``: numeric only; a side that is not a number makes it false."""
    right = as_number(arg)
    if right is None:
        return False
    test = _ORDER[op]

    def holds(v: Any) -> bool:
        left = as_number(v)
        return left is not None and test(left, right)

    return _any_element(value, holds)


def contains(value: Any, args: Sequence[Any]) -> bool:
    """True when the value's text contains any argument as a substring."""
    needles = [string_form(a) for a in args if a is not None]
    return _any_element(value, lambda v: any(n in string_form(v) for n in needles))


def omits(value: Any, args: Sequence[Any]) -> bool:
    """Not ``contains``; false on null; on an array, true when no element contains it."""
    if value is None:
        return False
    items = value if isinstance(value, list) else [value]
    return not any(item is not None and contains(item, args) for item in items)


def starts_with(value: Any, prefix: Any) -> bool:
    text = string_form(prefix)
    return _any_element(value, lambda v: string_form(v).startswith(text))


def ends_with(value: Any, suffix: Any) -> bool:
    text = string_form(suffix)
    return _any_element(value, lambda v: string_form(v).endswith(text))


def one_of(value: Any, args: Sequence[Any]) -> bool:
    return any(equals(value, a) for a in args)


def none_of(value: Any, args: Sequence[Any]) -> bool:
    """Equals none of ``args``; false on null; on an array, true when no element equals one."""
    if value is None:
        return False
    items = value if isinstance(value, list) else [value]
    return not any(item is not None and one_of(item, args) for item in items)


def date_test(op: str, value: Any, arg: Any, now: datetime) -> bool:
    """Date comparators; ``arg`` is a date literal or a ``timedelta``. Non-dates are false."""

    def holds(v: Any) -> bool:
        when = as_date(v)
        if when is None:
            return False
        if op in ("before_date", "after_date"):
            limit = as_date(arg)
            if limit is None:
                return False
            return when < limit if op == "before_date" else when > limit
        assert isinstance(arg, timedelta)
        if op == "within_last":
            return now - arg <= when <= now
        if op == "within_next":
            return now <= when <= now + arg
        if op == "before_last":
            return when <= now - arg
        return when >= now + arg  # after_next

    return _any_element(value, holds)


def dates_in(value: Any) -> Iterator[datetime]:
    """Every date value anywhere inside ``value`` (instants where a date comparator can flip)."""
    if isinstance(value, dict):
        for item in value.values():
            yield from dates_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from dates_in(item)
    else:
        when = as_date(value)
        if when is not None:
            yield when
