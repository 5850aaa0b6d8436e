"""Per-dialect compilers: only the primitives that differ between engines live here.

:class:`DuckDBCompiler` is complete. :class:`SparkCompiler` is a skeleton: it documents the flags
and primitives a Spark port needs (DESIGN.md "Choices already measured": Spark silently differs
on ``array_agg ... ORDER BY``, ``mode`` ties and ``date_diff``, so none of those are used) and
raises :class:`~shoal.engines.sql.values.UnsupportedError` for the rest.
"""

from __future__ import annotations

from typing import ClassVar

import sqlglot.expressions as sge

from shoal.engines.sql.compiler import Compiler
from shoal.engines.sql.values import UnsupportedError

__all__ = ["COMPILERS", "DuckDBCompiler", "SparkCompiler"]

#: DuckDB ``json_type`` names of JSON numbers (big integers come back as DOUBLE or HUGEINT).
_DUCKDB_NUMBER_TYPES = ("BIGINT", "UBIGINT", "DOUBLE", "HUGEINT")
_DUCKDB_TYPES = {
    "integer": ("BIGINT", "UBIGINT", "HUGEINT"),
    "double": ("DOUBLE",),
    "string": ("VARCHAR",),
    "boolean": ("BOOLEAN",),
    "array": ("ARRAY",),
    "object": ("OBJECT",),
}


def _pointer(path: tuple[str, ...]) -> str:
    """An RFC 6901 JSON Pointer: keys may hold any character (``/`` and ``~`` are escaped), so a
    property name can never change the path's structure.

    >>> _pointer(("a/b", "c~d", "e.f"))
    '/a~1b/c~0d/e.f'
    """
    return "".join("/" + key.replace("~", "~0").replace("/", "~1") for key in path)


class DuckDBCompiler(Compiler):
    """DuckDB: JSON via the ``json`` extension (built in), lambdas for array elements."""

    DIALECT = "duckdb"

    def json_get(self, value: sge.Expr, path: tuple[str, ...]) -> sge.Expr:
        # A JSON Pointer step of digits also indexes arrays; SEMANTICS paths only walk objects,
        # so such a step is taken only when the value at that point is an object.
        expr, run = value, []
        for key in path:
            if not key.isdigit():
                run.append(key)
                continue
            if run:
                expr = self._extract(expr, tuple(run))
                run = []
            step = self._extract(expr, (key,))
            expr = sge.Case(ifs=[sge.If(this=self.json_is(expr, "object"), true=step)])
        return self._extract(expr, tuple(run)) if run else expr

    @staticmethod
    def _extract(value: sge.Expr, path: tuple[str, ...]) -> sge.Expr:
        return sge.Anonymous(
            this="JSON_EXTRACT", expressions=[value, sge.Literal.string(_pointer(path))]
        )

    def json_is(self, value: sge.Expr, kind: str) -> sge.Expr:
        json_type = sge.Anonymous(this="JSON_TYPE", expressions=[value])
        if kind == "null":
            return sge.EQ(this=json_type, expression=sge.Literal.string("NULL"))
        names = _DUCKDB_NUMBER_TYPES if kind == "number" else _DUCKDB_TYPES[kind]
        if len(names) == 1:
            return sge.EQ(this=json_type, expression=sge.Literal.string(names[0]))
        return sge.In(this=json_type, expressions=[sge.Literal.string(n) for n in names])

    def json_text(self, value: sge.Expr) -> sge.Expr:
        return sge.Anonymous(
            this="JSON_EXTRACT_STRING", expressions=[value, sge.Literal.string("$")]
        )

    def json_double(self, value: sge.Expr) -> sge.Expr:
        return sge.cast(value, sge.DataType.Type.DOUBLE)

    def json_any_element(self, value: sge.Expr, element: str, condition: sge.Expr) -> sge.Expr:
        elements = sge.Anonymous(
            this="JSON_EXTRACT", expressions=[value, sge.Literal.string("$[*]")]
        )
        keep = sge.Lambda(this=condition, expressions=[sge.to_identifier(element)])
        kept = sge.Anonymous(this="LIST_FILTER", expressions=[elements, keep])
        return sge.GT(
            this=sge.Anonymous(this="LEN", expressions=[kept]), expression=sge.Literal.number(0)
        )

    def regex_full_match(self, text: sge.Expr, pattern: str) -> sge.Expr:
        return sge.Anonymous(
            this="REGEXP_FULL_MATCH", expressions=[text, sge.Literal.string(pattern)]
        )

    def time_text(self, moment: sge.Expr) -> sge.Expr:
        def strftime(pattern: str) -> sge.Expr:
            return sge.Anonymous(this="STRFTIME", expressions=[moment, sge.Literal.string(pattern)])

        whole = sge.EQ(
            this=sge.Anonymous(this="MICROSECOND", expressions=[moment]),
            expression=sge.Literal.number(0),
        )
        return sge.Case(
            ifs=[sge.If(this=whole, true=strftime("%Y-%m-%dT%H:%M:%SZ"))],
            default=strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        )

    def text_to_timestamp(self, text: sge.Expr) -> sge.Expr:
        # A date-only text is midnight UTC; with the session zone pinned to UTC a TIMESTAMPTZ
        # cast of it is too, and TIMEZONE('UTC', ...) gives the naive UTC wall clock.
        return sge.Anonymous(
            this="TIMEZONE",
            expressions=[
                sge.Literal.string("UTC"),
                sge.TryCast(this=text, to=sge.DataType.build("TIMESTAMPTZ")),
            ],
        )

    def sorted_distinct(self, text: sge.Expr) -> sge.Expr:
        # LIST_SORT after LIST_DISTINCT: the order does not depend on the aggregate's input order.
        listed = sge.Anonymous(this="LIST", expressions=[text])
        distinct = sge.Anonymous(this="LIST_DISTINCT", expressions=[listed])
        return sge.Anonymous(this="LIST_SORT", expressions=[distinct])


class SparkCompiler(Compiler):
    """Spark SQL (skeleton; the differential tests will pin each primitive when it lands)."""

    DIALECT = "spark"

    SORTED_AGG_KEEPS_ORDER: ClassVar[bool] = False
    """``collect_list(x ORDER BY ...)`` loses its order on Spark: sort the collected array."""

    HAS_LAMBDAS: ClassVar[bool] = True
    """Higher-order functions (``exists(arr, x -> ...)``) are available for array elements."""

    JSON_NEEDS_SCHEMA: ClassVar[bool] = True
    """Spark reads JSON text with ``get_json_object`` (JSONPath, values come back as strings),
    so a JSON value's type must be recovered another way (e.g. ``schema_of_json`` per value or
    typed columns prepared by the loader)."""

    SESSION_TIME_ZONE: ClassVar[str] = "UTC"
    """``spark.sql.session.timeZone`` the loader must set; all relation times are naive UTC."""

    def json_get(self, value: sge.Expr, path: tuple[str, ...]) -> sge.Expr:
        raise UnsupportedError("JSON paths on Spark", "not implemented yet")

    def sorted_distinct(self, text: sge.Expr) -> sge.Expr:
        return sge.Anonymous(
            this="ARRAY_SORT",
            expressions=[sge.Anonymous(this="COLLECT_SET", expressions=[text])],
        )


COMPILERS: dict[str, type[Compiler]] = {"duckdb": DuckDBCompiler, "spark": SparkCompiler}
"""Compiler class per dialect name."""
