"""Per-dialect compilers: only the primitives that differ between engines live here.

:class:`DuckDBCompiler` reads JSON with the built-in ``json`` extension; :class:`SparkCompiler`
reads it as Spark 4 ``VARIANT`` (the Spark loader parses the JSON text columns with
``PARSE_JSON``), which keeps JSON types. Spark silently differs from DuckDB on
``array_agg ... ORDER BY``, ``mode`` ties and ``date_diff`` (DESIGN.md "Choices already
measured"); the base compiler uses none of them, and the few primitives below are where the two
dialects part.
"""

from __future__ import annotations

from typing import ClassVar

import sqlglot.expressions as sge

from shoal.engines.sql.compiler import CompiledQuery, Compiler

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

        # MICROSECOND() counts the seconds too (sub-minute microseconds): keep the fraction.
        whole = sge.EQ(
            this=sge.Mod(
                this=sge.Anonymous(this="MICROSECOND", expressions=[moment]),
                expression=sge.Literal.number(1_000_000),
            ),
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

    def double_text(self, number: sge.Expr) -> sge.Expr:
        # DuckDB casts a DOUBLE to the shortest text that reads back, in Python's notation.
        return sge.cast(number, sge.DataType.Type.VARCHAR)

    def sorted_distinct(self, text: sge.Expr) -> sge.Expr:
        # LIST_SORT after LIST_DISTINCT: the order does not depend on the aggregate's input order.
        listed = sge.Anonymous(this="LIST", expressions=[text])
        distinct = sge.Anonymous(this="LIST_DISTINCT", expressions=[listed])
        return sge.Anonymous(this="LIST_SORT", expressions=[distinct])


#: ``SCHEMA_OF_VARIANT`` names of JSON numbers. ``PARSE_JSON`` stores an integer as BIGINT (as
#: DECIMAL(p,0) beyond 64 bits), a number written with a fraction as DECIMAL(p,s) and one written
#: with an exponent as DOUBLE; the Spark loader writes every float with an exponent (see
#: ``spark_engine.spark_json``), so that ``1.0`` stays a float.
_SPARK_INTEGERS = ("BIGINT", "INT", "SMALLINT", "TINYINT")
_SPARK_FLOATS = ("DOUBLE", "FLOAT")
_SPARK_KINDS = {
    "integer": (_SPARK_INTEGERS, r"DECIMAL\([0-9]+,0\)"),
    "double": (_SPARK_FLOATS, r"DECIMAL\([0-9]+,[1-9][0-9]*\)"),
    "number": (_SPARK_INTEGERS + _SPARK_FLOATS, r"DECIMAL\(.*"),
}


def _variant_path(keys: list[str]) -> str:
    """A Spark variant path selecting ``keys`` in turn; no key may hold both quote characters.

    The path syntax has no escapes: ``["k"]`` takes any text without ``"`` and ``['k']`` any
    text without ``'``, so a key can never change the path's structure.

    >>> _variant_path(["a.b", 'say "hi"', "$[*]"])
    '$["a.b"][\\'say "hi"\\']["$[*]"]'
    """
    steps = []
    for key in keys:
        assert not ('"' in key and "'" in key), key
        steps.append(f'["{key}"]' if '"' not in key else f"['{key}']")
    return "$" + "".join(steps)


def _string(text: str) -> sge.Literal:
    return sge.Literal.string(text)


def _call(name: str, *args: sge.Expr) -> sge.Expr:
    return sge.Anonymous(this=name, expressions=list(args))


def _let(value: sge.Expr, name: str, body: sge.Expr) -> sge.Expr:
    """``body`` with ``name`` bound to ``value``: ``TRANSFORM(ARRAY(value), name -> body)[0]``."""
    mapped = _call(
        "TRANSFORM",
        _call("ARRAY", value),
        sge.Lambda(this=body, expressions=[sge.to_identifier(name)]),
    )
    return sge.Bracket(this=mapped, expressions=[sge.Literal.number(0)])


def _try_cast(value: sge.Expr, to: str) -> sge.Expr:
    # ``safe``: sqlglot prints a plain CAST for Spark otherwise, which fails under ANSI mode.
    return sge.TryCast(this=value, to=sge.DataType.build(to, dialect="spark"), safe=True)


class SparkCompiler(Compiler):
    """Spark SQL over the relations as Spark 4 ``VARIANT`` JSON (see ``spark_engine.py``).

    Spark-specific traps, each avoided here or in the base compiler:

    - ``collect_list(x ORDER BY ...)`` loses its order and ``mode()`` breaks ties arbitrarily:
      the base compiler ranks with explicit window ``ORDER BY`` keys and sorts ``unique()``.
    - ``date_diff`` counts calendar days: windows compare timestamps with intervals instead.
    - ANSI mode (on by default in Spark 4) makes a failed ``CAST`` an error: every cast that may
      fail is a ``TRY_CAST`` (:meth:`sql` keeps the base compiler's ones so).
    - ``RLIKE`` searches and Java's ``$`` also matches before a final newline: full matches
      are anchored with ``\\A`` and ``\\z``.
    - A DOUBLE casts to Java's text (``1.0E-7``): :meth:`double_text` rebuilds Python's.
    - Variant paths have no escapes: :meth:`json_get` quotes each key with the quote character
      it lacks, and reads a key holding both through a map.
    """

    DIALECT = "spark"

    SESSION_TIME_ZONE: ClassVar[str] = "UTC"
    """``spark.sql.session.timeZone`` the loader must set: relation times are UTC, and dates
    without a zone (``YYYY-MM-DD``) are read as midnight in the session zone."""

    # --- JSON as VARIANT ----------------------------------------------------------------------

    def json_get(self, value: sge.Expr, path: tuple[str, ...]) -> sge.Expr:
        # A variant path step ``["0"]`` is an object key, never an array index, as SEMANTICS
        # paths only walk objects.
        expr, run = value, list[str]()
        for key in path:
            if '"' in key and "'" in key:
                if run:
                    expr, run = self._variant_get(expr, run), []
                fields = _call(
                    "TRY_VARIANT_GET", expr, _string("$"), _string("map<string,variant>")
                )
                expr = _call("TRY_ELEMENT_AT", fields, _string(key))
            else:
                run.append(key)
        return self._variant_get(expr, run) if run else expr

    @staticmethod
    def _variant_get(value: sge.Expr, keys: list[str]) -> sge.Expr:
        return _call("VARIANT_GET", value, _string(_variant_path(keys)), _string("variant"))

    def json_is(self, value: sge.Expr, kind: str) -> sge.Expr:
        if kind == "null":
            return _call("IS_VARIANT_NULL", value)
        schema = _call("SCHEMA_OF_VARIANT", value)
        if kind in ("array", "object"):
            return _call("STARTSWITH", schema, _string(f"{kind.upper()}<"))
        if kind in ("string", "boolean"):
            return sge.EQ(this=schema, expression=_string(kind.upper()))
        names, decimal = _SPARK_KINDS[kind]
        return sge.or_(
            sge.In(this=schema, expressions=[_string(n) for n in names]),
            sge.RegexpLike(this=schema.copy(), expression=_string(rf"\A{decimal}\z")),
        )

    def json_text(self, value: sge.Expr) -> sge.Expr:
        # A variant string casts to its content; anything else to its JSON text (keys sorted).
        return sge.cast(value, sge.DataType.Type.VARCHAR)

    def json_double(self, value: sge.Expr) -> sge.Expr:
        return _try_cast(value, "DOUBLE")

    def json_any_element(self, value: sge.Expr, element: str, condition: sge.Expr) -> sge.Expr:
        elements = _call("TRY_VARIANT_GET", value, _string("$"), _string("array<variant>"))
        test = sge.Lambda(this=condition, expressions=[sge.to_identifier(element)])
        return _call("EXISTS", elements, test)

    # --- text, numbers and times ---------------------------------------------------------------

    def regex_full_match(self, text: sge.Expr, pattern: str) -> sge.Expr:
        return sge.RegexpLike(this=text, expression=_string(rf"\A(?:{pattern})\z"))

    def time_text(self, moment: sge.Expr) -> sge.Expr:
        def formatted(pattern: str) -> sge.Expr:
            return _call("DATE_FORMAT", moment.copy(), _string(pattern))

        whole = sge.EQ(this=formatted("SSSSSS"), expression=_string("000000"))
        return sge.Case(
            ifs=[sge.If(this=whole, true=formatted("yyyy-MM-dd'T'HH:mm:ss'Z'"))],
            default=formatted("yyyy-MM-dd'T'HH:mm:ss.SSSSSS'Z'"),
        )

    def text_to_timestamp(self, text: sge.Expr) -> sge.Expr:
        # Spark's cast reads ``YYYY-MM-DD`` (midnight in the session zone, UTC) and ISO times
        # with seconds; add missing seconds and the colon of a ``+hhmm`` offset first.
        seconds = _call(
            "REGEXP_REPLACE",
            text,
            _string(r"\A([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2})(?=[Z+-])"),
            _string("$1:00"),
        )
        offset = _call(
            "REGEXP_REPLACE", seconds, _string(r"([+-][0-9]{2})([0-9]{2})\z"), _string("$1:$2")
        )
        return _try_cast(offset, "TIMESTAMP")

    def double_text(self, number: sge.Expr) -> sge.Expr:
        # The shortest ``%.{p}e`` text that reads back as the same DOUBLE has Python's digits
        # and, outside [1e-4, 1e16), Python's form (``1e-07``, ``1.5e+20``); inside, Python
        # writes the same digits plainly with at least one decimal (``2.5``, ``100.0``).
        # Each value is named once by a one-element TRANSFORM (``num``, ``sci``), so that the
        # SQL stays small however long the expression of the number is.
        num = sge.column("num")

        def scientific(digits: int) -> sge.Expr:
            return _call("FORMAT_STRING", _string(f"%.{digits}e"), num.copy())

        shortest = sge.Case(
            ifs=[
                sge.If(
                    this=sge.EQ(this=_try_cast(scientific(p), "DOUBLE"), expression=num.copy()),
                    true=scientific(p),
                )
                for p in range(16)
            ],
            default=scientific(16),  # 17 significant digits always read back
        )
        sci = sge.column("sci")
        plain = sge.cast(_try_cast(sci, "DECIMAL(38, 20)"), sge.DataType.Type.VARCHAR)
        trimmed = _call("REGEXP_REPLACE", plain, _string("0+$"), _string(""))
        plain_form = _call("REGEXP_REPLACE", trimmed, _string(r"[.]$"), _string(".0"))
        magnitude = sge.Abs(this=num.copy())
        in_plain_range = sge.and_(
            sge.GTE(this=magnitude, expression=sge.Literal.number("1e-4")),
            sge.LT(this=magnitude.copy(), expression=sge.Literal.number("1e16")),
        )
        form = sge.Case(
            ifs=[
                sge.If(
                    this=sge.EQ(this=num.copy(), expression=sge.Literal.number(0)),
                    true=_string("0.0"),
                ),
                sge.If(this=in_plain_range, true=plain_form),
            ],
            default=sci.copy(),
        )
        return _let(number, "num", _let(shortest, "sci", form))

    def sorted_distinct(self, text: sge.Expr) -> sge.Expr:
        # COLLECT_SET has no order; ARRAY_SORT orders strings by code point, like DuckDB.
        return _call("ARRAY_SORT", _call("COLLECT_SET", text))

    # --- printing -------------------------------------------------------------------------------

    def sql(self, query: CompiledQuery, *, pretty: bool = True) -> str:
        return self.render(query.select, pretty=pretty)

    @classmethod
    def render(cls, tree: sge.Expr, *, pretty: bool = False) -> str:
        """Spark SQL of any tree built from compiled queries (TRY_CAST kept, see above)."""

        def keep_try(node: sge.Expr) -> sge.Expr:
            if isinstance(node, sge.TryCast) and not node.args.get("safe"):
                node.set("safe", True)
            return node

        return tree.transform(keep_try).sql(dialect=cls.DIALECT, pretty=pretty)

    def collectable(self, query: CompiledQuery) -> CompiledQuery:
        """``query`` with ``value`` in a form that reaches Python intact: a VARIANT as its JSON
        text, an event time as ISO-8601 text (pyspark would read it in the local zone). Rows
        come unordered: a global ORDER BY costs Spark a sampling job, and callers sort."""
        select = query.select.copy()
        select.set("order", None)
        if query.kind not in ("json", "time"):
            return CompiledQuery(select, query.kind)
        value = select.expressions[1]
        assert isinstance(value, sge.Alias) and value.alias == "value"
        inner = value.this
        converted = _call("TO_JSON", inner) if query.kind == "json" else self.time_text(inner)
        value.set("this", converted)
        return CompiledQuery(select, "string")


COMPILERS: dict[str, type[Compiler]] = {"duckdb": DuckDBCompiler, "spark": SparkCompiler}
"""Compiler class per dialect name."""
