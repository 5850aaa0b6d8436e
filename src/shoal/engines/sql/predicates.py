"""Comparators over compiled values (SEMANTICS "Values and comparisons"), dialect-neutral.

:class:`Predicates` turns ``subject.op(args)`` into a boolean expression that is never NULL. It
relies on a handful of dialect primitives (how to read a JSON value's type, text and elements,
match a regular expression, parse a timestamp) that :class:`~shoal.engines.sql.compiler.Compiler`
subclasses provide.
"""

from __future__ import annotations

import json
from datetime import datetime

import sqlglot.expressions as sge

from shoal.engines.sql.values import (
    DAY_PATTERN,
    INTEGER_PATTERN,
    NUMBER_PATTERN,
    TIMESTAMP_PATTERN,
    UnsupportedError,
    Val,
    as_number,
    duration_of,
    parse_date,
    timestamp_literal,
)
from shoal.lang import ast

__all__ = ["Predicates"]

_FALSE = sge.false()

#: Ordering comparators and the sqlglot node each one builds.
_ORDER: dict[str, type[sge.Binary]] = {
    "greater_than": sge.GT,
    "at_least": sge.GTE,
    "less_than": sge.LT,
    "at_most": sge.LTE,
}

_RELATIVE = ("within_last", "within_next", "before_last", "after_next")

Args = tuple[Val | ast.Duration, ...]
"""Comparator arguments: values, or one duration for the relative-date comparators."""

_ELEMENT = "el"
"""Lambda parameter naming one array element (no input relation has a column of that name)."""


def _val(arg: Val | ast.Duration) -> Val:
    if isinstance(arg, ast.Duration):
        raise UnsupportedError("a duration where a value is expected")
    return arg


def _number(number: float) -> sge.Expr:
    """A numeric literal; integral values print without ``.0`` (the SQL reads as written)."""
    if number.is_integer() and abs(number) < 2**53:
        return sge.Literal.number(int(number))
    return sge.Literal.number(repr(number))


def _str(text: str) -> sge.Expr:
    return sge.Literal.string(text)


def _or(parts: list[sge.Expr]) -> sge.Expr:
    if not parts:
        return _FALSE
    return parts[0] if len(parts) == 1 else sge.or_(*parts)


def _true_or_false(cond: sge.Expr) -> sge.Expr:
    """``COALESCE(cond, FALSE)``: null operands make a comparator false, never unknown."""
    return sge.func("COALESCE", cond, _FALSE) if cond is not _FALSE else _FALSE


class Predicates:
    """Comparator compilation; subclasses supply the ``json_*`` and other primitives."""

    now: datetime
    """The as-of instant, naive UTC."""

    # --- dialect primitives (see DuckDBCompiler) --------------------------------------------

    def json_is(self, value: sge.Expr, kind: str) -> sge.Expr:
        """Whether JSON ``value`` is of ``kind``: number (of which integer or double), string,
        boolean, array, object, null."""
        raise UnsupportedError("JSON values", f"{type(self).__name__} has no json_is")

    def json_text(self, value: sge.Expr) -> sge.Expr:
        """A JSON string's content; the JSON text of any other value."""
        raise UnsupportedError("JSON values", f"{type(self).__name__} has no json_text")

    def json_double(self, value: sge.Expr) -> sge.Expr:
        """A JSON number as DOUBLE."""
        raise UnsupportedError("JSON values", f"{type(self).__name__} has no json_double")

    def json_any_element(self, value: sge.Expr, element: str, condition: sge.Expr) -> sge.Expr:
        """Whether some element (named ``element`` in ``condition``) of JSON array ``value``
        satisfies ``condition``."""
        raise UnsupportedError("arrays", f"{type(self).__name__} has no json_any_element")

    def time_text(self, moment: sge.Expr) -> sge.Expr:
        """A TIMESTAMP as ISO-8601 UTC text with ``Z``, microseconds only when non-zero (the
        reference's form of an event time)."""
        raise UnsupportedError("event times as text", type(self).__name__)

    def regex_full_match(self, text: sge.Expr, pattern: str) -> sge.Expr:
        raise UnsupportedError("regular expressions", type(self).__name__)

    def text_to_timestamp(self, text: sge.Expr) -> sge.Expr:
        """A text already matching a date pattern as a naive-UTC TIMESTAMP."""
        raise UnsupportedError("dates", type(self).__name__)

    def double_text(self, number: sge.Expr) -> sge.Expr:
        """A DOUBLE as Python's ``repr`` prints it (``2.5``, ``1.0``, ``1e-07``, ``1e+20``): the
        string form of a JSON float."""
        raise UnsupportedError("the string form of a float", type(self).__name__)

    # --- views --------------------------------------------------------------------------------

    def num(self, v: Val) -> sge.Expr | None:
        """The numeric view (None when statically never a number)."""
        if v.is_literal:
            assert v.literal is not None
            number = as_number(v.literal)
            return None if number is None else _number(number)
        if v.kind == "number":
            return v.expr
        if v.kind == "string":
            return self._numeric_text(v.expr)
        if v.kind == "json":
            text = self.json_text(v.expr)
            return sge.Case(
                ifs=[
                    sge.If(this=self.json_is(v.expr, "number"), true=self.json_double(v.expr)),
                    sge.If(
                        this=sge.and_(
                            self.json_is(v.expr, "string"),
                            self.regex_full_match(text, NUMBER_PATTERN),
                        ),
                        true=sge.TryCast(this=text, to=sge.DataType.build("DOUBLE")),
                    ),
                ]
            )
        return None

    def _numeric_text(self, text: sge.Expr) -> sge.Expr:
        return sge.Case(
            ifs=[
                sge.If(
                    this=self.regex_full_match(text, NUMBER_PATTERN),
                    true=sge.TryCast(this=text, to=sge.DataType.build("DOUBLE")),
                )
            ]
        )

    def integer(self, v: Val) -> sge.Expr | None:
        """Whether a value that is numeric is an integer (a JSON integer or an integer text)."""
        if v.kind == "json" and not v.is_literal:
            return sge.or_(
                self.json_is(v.expr, "integer"),
                sge.and_(
                    self.json_is(v.expr, "string"),
                    self.regex_full_match(self.json_text(v.expr), INTEGER_PATTERN),
                ),
            )
        if v.kind == "string" and not v.is_literal:
            return self.regex_full_match(v.expr, INTEGER_PATTERN)
        return None

    def text(self, v: Val) -> sge.Expr | None:
        """The string view: the text of a string value (None when statically never a string)."""
        if v.is_literal:
            return _str(v.literal) if isinstance(v.literal, str) else None
        if v.kind == "string":
            return v.expr
        if v.kind == "json":
            return sge.Case(
                ifs=[sge.If(this=self.json_is(v.expr, "string"), true=self.json_text(v.expr))]
            )
        return None

    def boolean(self, v: Val) -> sge.Expr | None:
        """The boolean view as ``'true'``/``'false'`` (literals are never booleans)."""
        if v.kind == "json" and not v.is_literal:
            return sge.Case(
                ifs=[sge.If(this=self.json_is(v.expr, "boolean"), true=self.json_text(v.expr))]
            )
        if v.kind == "bool":
            return sge.Case(ifs=[sge.If(this=v.expr, true=_str("true"))], default=_str("false"))
        return None

    def date(self, v: Val) -> sge.Expr | None:
        """The date view as a naive-UTC TIMESTAMP (None when statically never a date)."""
        if v.is_literal:
            parsed = parse_date(v.literal) if isinstance(v.literal, str) else None
            return None if parsed is None else timestamp_literal(parsed)
        if v.kind == "time":
            return v.expr
        text = self.text(v)
        if text is None:
            return None
        is_date = sge.or_(
            self.regex_full_match(text, DAY_PATTERN),
            self.regex_full_match(text, TIMESTAMP_PATTERN),
        )
        return sge.Case(ifs=[sge.If(this=is_date, true=self.text_to_timestamp(text))])

    def not_null(self, v: Val) -> sge.Expr:
        if v.is_literal:
            return sge.true()
        if v.kind == "json":
            return sge.and_(
                sge.not_(sge.Is(this=v.expr, expression=sge.null())),
                sge.not_(self.json_is(v.expr, "null")),
            )
        return sge.not_(sge.Is(this=v.expr, expression=sge.null()))

    # --- comparators -------------------------------------------------------------------------

    def equal(self, a: Val, b: Val) -> sge.Expr:
        """SEMANTICS equality (possibly NULL when a side is null; callers coalesce)."""
        if a.kind == "time" or b.kind == "time":
            # An event time equals a value only as a date (the reference compares instants).
            date_a, date_b = self.date(a), self.date(b)
            if date_a is None or date_b is None:
                return _FALSE
            return sge.EQ(this=date_a, expression=date_b)
        parts: list[sge.Expr] = []
        num_a, num_b = self.num(a), self.num(b)
        if num_a is not None and num_b is not None:
            parts.append(sge.EQ(this=num_a, expression=num_b))
        text_a, text_b = self.text(a), self.text(b)
        if text_a is not None and text_b is not None:
            parts.append(sge.EQ(this=text_a, expression=text_b))
        bool_a, bool_b = self.boolean(a), self.boolean(b)
        if bool_a is not None and text_b is not None:
            parts.append(sge.EQ(this=bool_a, expression=sge.Lower(this=text_b)))
        if text_a is not None and bool_b is not None:
            parts.append(sge.EQ(this=sge.Lower(this=text_a), expression=bool_b))
        if bool_a is not None and bool_b is not None:
            parts.append(sge.EQ(this=bool_a, expression=bool_b))
        if a.kind == b.kind == "json" and not (a.is_literal or b.is_literal):
            # Two objects (or arrays) are equal when their compact JSON texts are: keys are
            # stored sorted, so equal structures print alike (though 1 and 1.0 inside differ).
            same_text = sge.EQ(this=self.json_text(a.expr), expression=self.json_text(b.expr))
            parts.extend(
                sge.and_(self.json_is(a.expr, kind), self.json_is(b.expr, kind), same_text)
                for kind in ("object", "array")
            )
        return _or(parts)

    def compare(self, subject: Val, op: ast.ComparatorOp, args: Args) -> sge.Expr:
        """``subject.op(args)`` as a boolean that is never NULL."""
        if subject.kind == "list":
            raise UnsupportedError("comparing a unique() list", "only .count() may follow it")
        if op == "exists":
            return self.not_null(subject)
        if op == "absent":
            return sge.not_(sge.paren(self.not_null(subject)))
        if op in ("omits", "none_of"):
            positive = "contains" if op == "omits" else "one_of"
            return sge.and_(
                self.not_null(subject),
                sge.not_(sge.paren(self._each(subject, positive, args))),
            )
        return self._each(subject, op, args)

    def _each(self, subject: Val, op: str, args: Args) -> sge.Expr:
        """``op`` on the subject, or on any of its elements when it is a JSON array."""
        if subject.kind != "json" or subject.is_literal:
            return _true_or_false(self._scalar(subject, op, args))
        element = Val(sge.column(_ELEMENT), "json")
        whole = _true_or_false(self._scalar(subject, op, args))
        some = _true_or_false(
            self.json_any_element(subject.expr, _ELEMENT, self._scalar(element, op, args))
        )
        return sge.Case(
            ifs=[sge.If(this=self.json_is(subject.expr, "array"), true=some)], default=whole
        )

    def _scalar(self, a: Val, op: str, args: Args) -> sge.Expr:
        """``op`` on one (non-array) value; may be NULL."""
        if op == "equals":
            return self.equal(a, _val(args[0]))
        if op == "differs":
            b = _val(args[0])
            return sge.and_(
                self.not_null(a),
                self.not_null(b),
                sge.not_(sge.paren(_true_or_false(self.equal(a, b)))),
            )
        if op in _ORDER:
            num_a, num_b = self.num(a), self.num(_val(args[0]))
            if num_a is None or num_b is None:
                return _FALSE
            return _ORDER[op](this=num_a, expression=num_b)
        if op == "one_of":
            return _or([_true_or_false(self.equal(a, _val(b))) for b in args])
        if op in ("contains", "starts_with", "ends_with"):
            return self._substring(a, op, args)
        if op in ("before_date", "after_date"):
            return self._date_compare(a, op, _val(args[0]))
        if op in _RELATIVE:
            duration = args[0]
            assert isinstance(duration, ast.Duration)
            return self._relative_date(a, op, duration)
        raise UnsupportedError(f"the comparator {op}()")

    def string_form(self, v: Val) -> sge.Expr:
        """The text SEMANTICS groups, sorts and searches by (mode, unique, ``as string``,
        substrings): a string as is, anything else as compact JSON (``true``, ``12.5``)."""
        if v.kind == "json" and not v.is_literal:
            # A float prints as Python's repr does (``1e-07``, ``1e+20``); the JSON text itself
            # may read ``1e-7``.
            double = self.double_text(self.json_double(v.expr))
            return sge.Case(
                ifs=[
                    sge.If(this=self.json_is(v.expr, "double"), true=double),
                    sge.If(this=self.not_null(v), true=self.json_text(v.expr)),
                ]
            )
        if v.kind == "string":
            return v.expr
        if v.kind == "time":
            return self.time_text(v.expr)
        # A DOUBLE reducer result prints differently from the reference's int/float (180 vs
        # 180.0), so rather than risk a wrong answer these are not compiled.
        raise UnsupportedError(f"the string form of a {v.kind} value")

    def _substring(self, a: Val, op: str, args: Args) -> sge.Expr:
        text = self.string_form(a)
        parts: list[sge.Expr] = []
        for b in args:
            literal = _val(b).literal
            if literal is None:
                raise UnsupportedError(f"{op}() with a dynamic argument")
            # A number argument is matched by its text, as a string literal would be.
            needle = literal if isinstance(literal, str) else json.dumps(literal)
            if op == "contains":
                parts.append(sge.func("STRPOS", text, _str(needle)) > 0)
            elif op == "starts_with":
                parts.append(sge.func("STARTS_WITH", text, _str(needle)))
            else:
                parts.append(sge.func("ENDS_WITH", text, _str(needle)))
        return _or(parts)

    def _date_compare(self, a: Val, op: str, b: Val) -> sge.Expr:
        date_a, date_b = self.date(a), self.date(b)
        if date_a is None or date_b is None:
            return _FALSE
        if op == "before_date":
            return sge.LT(this=date_a, expression=date_b)
        return sge.GT(this=date_a, expression=date_b)

    def _relative_date(self, a: Val, op: str, duration: ast.Duration) -> sge.Expr:
        """``within_last`` / ``within_next`` / ``before_last`` / ``after_next``, inclusive."""
        date = self.date(a)
        if date is None:
            return _FALSE
        span = duration_of(duration)
        lo, hi = {
            "within_last": (self.now - span, self.now),
            "within_next": (self.now, self.now + span),
            "before_last": (None, self.now - span),
            "after_next": (self.now + span, None),
        }[op]
        bounds: list[sge.Expr] = []
        if lo is not None:
            bounds.append(sge.GTE(this=date, expression=timestamp_literal(lo)))
        if hi is not None:
            bounds.append(sge.LTE(this=date, expression=timestamp_literal(hi)))
        return sge.and_(*bounds)
