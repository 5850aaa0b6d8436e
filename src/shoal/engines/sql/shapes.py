"""Small sqlglot builders shared by the compiler modules: columns, tables, joins, sources."""

from __future__ import annotations

from dataclasses import dataclass

import sqlglot.expressions as sge

__all__ = ["EVENT_ORDER", "Source", "col", "inner_join", "left_join", "string", "table"]

EVENT_ORDER = ("ts", "received_at", "message_id", "event_id")
"""SEMANTICS order of events with equal ``ts``: ``receivedAt``, then ``messageId``; ``event_id``
makes it total."""


def col(table_alias: str, name: str) -> sge.Column:
    return sge.column(name, table=table_alias)


def table(name: str, alias: str) -> sge.Table:
    return sge.table_(name, alias=alias)


def left_join(source: sge.Expr, on: sge.Expr) -> sge.Join:
    return sge.Join(this=source, kind="LEFT", on=on)


def inner_join(source: sge.Expr, on: sge.Expr) -> sge.Join:
    return sge.Join(this=source, on=on)


def string(text: str) -> sge.Literal:
    """A string literal: the only way user text enters the SQL."""
    return sge.Literal.string(text)


@dataclass(slots=True)
class Source:
    """Rows pairing scope keys with stream events: ``FROM table JOIN joins WHERE where``."""

    table: sge.Expr
    joins: list[sge.Join]
    where: list[sge.Expr]
    key: sge.Expr

    def select(self, *columns: sge.Expr) -> sge.Select:
        select = sge.select(*columns).from_(self.table)
        for join in self.joins:
            select = select.join(join)
        return select.where(sge.and_(*self.where)) if self.where else select
