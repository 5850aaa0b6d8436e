"""Reducers and session windows: the CTEs that turn an event stream into one value per key.

:class:`Reducers` is a mixin of :class:`~shoal.engines.sql.compiler.Compiler`. Each reducer reads
a :class:`~shoal.engines.sql.shapes.Source` (scope key paired with the stream's events, already
filtered) and adds CTEs grouped by that key; ties (``first``/``last``/``mode``) are broken by
explicit window ``ORDER BY`` keys, never by an engine's aggregate order.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlglot.expressions as sge

from shoal.engines.sql.predicates import Predicates
from shoal.engines.sql.shapes import EVENT_ORDER, Source, col, inner_join, string, table
from shoal.engines.sql.values import Kind, UnsupportedError, Val, duration_of, timestamp_literal
from shoal.lang import ast

__all__ = ["Reducers"]


class Reducers(Predicates):
    """Reducer CTEs; the compiler provides the frames and scopes they are joined back to."""

    now: datetime
    _ctes: list[tuple[str, sge.Select]]

    def sorted_distinct(self, text: sge.Expr) -> sge.Expr:
        """Aggregate: the distinct non-null texts, sorted ascending by code point."""
        raise UnsupportedError("unique()", type(self).__name__)

    def _session(
        self, flt: ast.ExpiresAfter, e: str, joins: list[sge.Join], source: Source, tag: str
    ) -> None:
        """``expires_after(gap)``: keep the current session of the events so far, i.e. the
        trailing run whose gaps are at most ``gap``, and only while the last event is at most
        ``gap`` before now. Written with window functions over the SEMANTICS event order."""
        gap = duration_of(flt.duration)
        staged = Source(source.table, [*source.joins, *joins], list(source.where), source.key)
        order = sge.Order(expressions=[sge.Ordered(this=col(e, c)) for c in EVENT_ORDER])
        following = sge.Window(
            this=sge.Anonymous(this="LEAD", expressions=[col(e, "ts")]),
            partition_by=[source.key],
            order=order,
        )
        breaks = sge.Case(
            ifs=[
                sge.If(
                    this=sge.GT(this=following, expression=self.shift(col(e, "ts"), gap)),
                    true=sge.Literal.number(1),
                )
            ],
            default=sge.Literal.number(0),
        )
        last = sge.Window(this=sge.Max(this=col(e, "ts")), partition_by=[source.key])
        gaps = self._add_cte(
            f"gaps_{tag}",
            staged.select(
                sge.alias_(source.key, "k"),
                sge.alias_(col(e, "event_id"), "event_id"),
                sge.alias_(col(e, "ts"), "ts"),
                sge.alias_(col(e, "received_at"), "received_at"),
                sge.alias_(col(e, "message_id"), "message_id"),
                sge.alias_(breaks, "brk"),
                sge.alias_(last, "last_ts"),
            ),
        )
        # An event is in the session when no break follows it (its own included).
        later = sge.Window(
            this=sge.Sum(this=col(gaps, "brk")),
            partition_by=[col(gaps, "k")],
            order=sge.Order(expressions=[sge.Ordered(this=col(gaps, c)) for c in EVENT_ORDER]),
            spec=sge.WindowSpec(
                kind="ROWS", start="CURRENT ROW", end="UNBOUNDED", end_side="FOLLOWING"
            ),
        )
        ranked = self._add_cte(
            f"breaks_{tag}",
            sge.select(
                col(gaps, "k"),
                col(gaps, "event_id"),
                col(gaps, "last_ts"),
                sge.alias_(later, "later_breaks"),
            ).from_(table(gaps, gaps)),
        )
        keep = self._add_cte(
            f"session_{tag}",
            sge.select(col(ranked, "k"), col(ranked, "event_id"))
            .from_(table(ranked, ranked))
            .where(
                sge.and_(
                    sge.EQ(this=col(ranked, "later_breaks"), expression=sge.Literal.number(0)),
                    sge.GTE(
                        this=col(ranked, "last_ts"),
                        expression=timestamp_literal(self.now - gap),
                    ),
                )
            ),
        )
        on = sge.and_(
            sge.EQ(this=col(keep, "k"), expression=source.key),
            sge.EQ(this=col(keep, "event_id"), expression=col(e, "event_id")),
        )
        source.joins.append(inner_join(table(keep, keep), on))

    def shift(self, moment: sge.Expr, delta: timedelta) -> sge.Expr:
        """``moment + delta`` for a TIMESTAMP column (whole seconds)."""
        if not delta:
            return moment
        seconds = int(delta.total_seconds())
        for unit, size in (("DAY", 86400), ("HOUR", 3600), ("MINUTE", 60), ("SECOND", 1)):
            if seconds % size == 0:
                interval = sge.Interval(this=string(str(seconds // size)), unit=sge.Var(this=unit))
                return sge.Add(this=moment, expression=interval)
        raise AssertionError("unreachable: SECOND divides every whole number")

    def _aggregate(
        self, node: ast.Reducer, n: int, source: Source, arg: Val | None
    ) -> tuple[str, str, Kind]:
        """Add the reducer's CTE(s); returns (CTE name, value column, value kind)."""
        kind = node.kind
        if kind == "count":
            return self._grouped(n, source, sge.Count(this=sge.Star()), "number")
        assert arg is not None
        present = self.not_null(arg)
        if kind in ("sum", "avg") or (kind in ("min", "max") and node.cast != "string"):
            # Never numeric (an event time): the reducer has nothing to reduce and is null.
            number = self.num(arg)
            if number is None:
                number = sge.cast(sge.null(), sge.DataType.Type.DOUBLE)
            func = {"sum": sge.Sum, "avg": sge.Avg, "min": sge.Min, "max": sge.Max}[kind]
            return self._grouped(
                n, source, func(this=number), "number", self._integral(kind, arg, number)
            )
        text = self.string_form(arg)
        if kind in ("min", "max"):
            func = sge.Min if kind == "min" else sge.Max
            return self._grouped(n, source, func(this=text), "string")
        if kind == "unique_count":
            count = sge.Count(this=sge.Distinct(expressions=[text]))
            return self._grouped(n, source, count, "number")
        if kind == "unique":
            # NULL, not an empty list, when no value qualifies (SEMANTICS "unique").
            some = sge.GT(this=sge.Count(this=text), expression=sge.Literal.number(0))
            listed = sge.Case(ifs=[sge.If(this=some, true=self.sorted_distinct(text))])
            return self._grouped(n, source, listed, "list")
        if kind in ("first", "last"):
            return self._first_last(node, n, source, arg, present)
        if kind == "mode":
            # Every cast groups by the whole value's string form (an array is one string), as
            # the reference engine does; Segment's per-element `$` operator does not exist here.
            return self._mode(node, n, source, text)
        raise UnsupportedError(f"the reducer {kind}()")

    def _grouped(
        self,
        n: int,
        source: Source,
        aggregate: sge.Expr,
        kind: Kind,
        integral: sge.Expr | None = None,
    ) -> tuple[str, str, Kind]:
        columns = [sge.alias_(source.key, "k"), sge.alias_(aggregate, "v")]
        if kind == "number":
            columns.append(sge.alias_(sge.false() if integral is None else integral, "integral"))
        select = source.select(*columns).group_by(source.key)
        return self._add_cte(f"reduce_{n}", select), "v", kind

    def _integral(self, kind: str, arg: Val, number: sge.Expr) -> sge.Expr | None:
        """Whether a numeric result is an integer in the reference's sense: a sum of integers
        only, or a min/max attained by an integer (``180``, not ``180.0``). Avg never is."""
        is_int = self.integer(arg)
        if is_int is None or kind == "avg":
            return None
        int_number = sge.Case(ifs=[sge.If(this=is_int, true=number)])
        if kind == "sum":
            return sge.EQ(this=sge.Count(this=number), expression=sge.Count(this=int_number.copy()))
        func = sge.Min if kind == "min" else sge.Max
        return sge.EQ(this=func(this=int_number), expression=func(this=number.copy()))

    def _first_last(
        self, node: ast.Reducer, n: int, source: Source, arg: Val, present: sge.Expr
    ) -> tuple[str, str, Kind]:
        """Value on the earliest/latest event where it is non-null; ties by SEMANTICS order."""
        e = f"e{n}"
        descending = node.kind == "last"
        order = [sge.Ordered(this=col(e, c), desc=descending) for c in EVENT_ORDER]
        rank = sge.Window(
            this=sge.RowNumber(), partition_by=[source.key], order=sge.Order(expressions=order)
        )
        ranked = source.select(
            sge.alias_(source.key, "k"), sge.alias_(arg.expr, "v"), sge.alias_(rank, "rn")
        ).where(present)
        rows = self._add_cte(f"ranked_{n}", ranked)
        pick = (
            sge.select(col(rows, "k"), col(rows, "v"))
            .from_(table(rows, rows))
            .where(sge.EQ(this=col(rows, "rn"), expression=sge.Literal.number(1)))
        )
        return self._add_cte(f"reduce_{n}", pick), "v", arg.kind

    def _mode(
        self, node: ast.Reducer, n: int, source: Source, text: sge.Expr
    ) -> tuple[str, str, Kind]:
        """Most frequent text seen at least ``min_count`` times; ties go to the smallest text."""
        counted = (
            source.select(
                sge.alias_(source.key, "k"),
                sge.alias_(text, "v"),
                sge.alias_(sge.Count(this=sge.Star()), "c"),
            )
            .where(sge.not_(sge.Is(this=text, expression=sge.null())))
            .group_by(source.key, text)
            .having(
                sge.GTE(
                    this=sge.Count(this=sge.Star()),
                    expression=sge.Literal.number(node.min_count or 1),
                )
            )
        )
        counts = self._add_cte(f"counted_{n}", counted)
        order = sge.Order(
            expressions=[
                sge.Ordered(this=col(counts, "c"), desc=True),
                sge.Ordered(this=col(counts, "v"), desc=False),
            ]
        )
        rank = sge.Window(this=sge.RowNumber(), partition_by=[col(counts, "k")], order=order)
        ranked = sge.select(col(counts, "k"), col(counts, "v"), sge.alias_(rank, "rn")).from_(
            table(counts, counts)
        )
        rows = self._add_cte(f"ranked_{n}", ranked)
        pick = (
            sge.select(col(rows, "k"), col(rows, "v"))
            .from_(table(rows, rows))
            .where(sge.EQ(this=col(rows, "rn"), expression=sge.Literal.number(1)))
        )
        return self._add_cte(f"reduce_{n}", pick), "v", "string"

    def _add_cte(self, name: str, select: sge.Select) -> str:
        self._ctes.append((name, select))
        return name
