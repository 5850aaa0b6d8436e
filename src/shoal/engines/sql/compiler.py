"""Definition → one set-based SQL query (a sqlglot tree) over the relations of ``relations.py``.

The query has one row per entity of the universe (profiles for USERS, accounts for ACCOUNTS)
and three columns: ``entity_id``; ``value``, a BOOLEAN (never NULL) for an audience and the
reducer's result for a computed trait (NULL = the trait is absent); and ``integral``, whether a
numeric sum/min/max is an integer (so that it prints ``180`` like the reference, not ``180.0``).

Shape: every reducer becomes CTEs grouped by the key of its *scope* and is LEFT JOINed back to
that scope by key, so nothing is evaluated row by row:

- top level of a USERS definition: scope = ``shoal_profiles`` (key ``profile_id``);
- top level of an ACCOUNTS definition: scope = ``shoal_accounts`` (key ``group_id``); a reducer
  there ranges over the events of every linked user;
- inside ``ANY``/``ALL``: scope = ``shoal_links`` rows (one per linked user, key ``profile_id``),
  aggregated per account with ``BOOL_OR`` / ``BOOL_AND``;
- inside ``where(...)``: scope = one event (key ``event_id``). A nested event chain joins the
  events of the same profile to that parent event, which makes funnels (``within(parent: ...)``)
  and "then did not" (``NOT ... count() >= 1``) plain joins.

Trait lookups are LEFT JOINs on ``(profile_id, key)``, which is unique, so no join multiplies
rows. Ties in ``first``/``last``/``mode`` are broken by explicit ``ORDER BY`` keys in window
functions, never by an engine's aggregate order. User text only ever becomes sqlglot literals.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

import sqlglot.expressions as sge

from shoal.engines.sql import relations as rel
from shoal.engines.sql.predicates import Args
from shoal.engines.sql.reducers import Reducers
from shoal.engines.sql.shapes import Source, col, inner_join, left_join, string, table
from shoal.engines.sql.values import (
    Kind,
    UnsupportedError,
    Val,
    duration_of,
    literal_val,
    timestamp_literal,
)
from shoal.lang import ast

__all__ = ["CompiledQuery", "Compiler", "Target"]

Target = Literal["users", "accounts"]


@dataclass(frozen=True, slots=True)
class CompiledQuery:
    """A compiled definition: ``select`` yields ``(entity_id, value)``; ``kind`` types ``value``."""

    select: sge.Select
    kind: Kind


@dataclass(slots=True)
class _Frame:
    """The SELECT being built for one scope, and how its scope row is reached."""

    scope: Literal["users", "accounts", "event"]
    key: sge.Expr
    """Column identifying the scope row; reducer CTEs are joined back on it."""
    profile: sge.Expr | None = None
    """Profile owning the scope row (user traits are read for it)."""
    account_traits: sge.Expr | None = None
    event: str | None = None
    """Table alias of the current event (``property()``), in event scopes."""
    event_name: str | None = None
    parent: str | None = None
    """Table alias of the enclosing event (``property(parent: ...)``)."""
    joins: list[sge.Join] = field(default_factory=list)
    lookups: dict[tuple[str, str], str] = field(default_factory=dict)
    """Trait joins already made in this frame, by (relation, key) → alias."""


class Compiler(Reducers):
    """The dialect-neutral compiler; subclasses provide the primitives and print the SQL.

    Args:
        now: the as-of instant (aware, or naive UTC).
        definitions: target of every definition that ``trait('<key>')`` may name; those keys
            are read from ``shoal_values`` instead of custom traits.
        include_anonymous: USERS universe includes profiles known only by ``anonymous_id``.
    """

    DIALECT: str = ""
    """sqlglot dialect used by :meth:`sql`."""

    def __init__(
        self,
        *,
        now: datetime,
        definitions: Mapping[str, Target] | None = None,
        include_anonymous: bool = False,
    ) -> None:
        self.now = now.astimezone(UTC).replace(tzinfo=None) if now.tzinfo else now
        self.definitions = dict(definitions or {})
        self.include_anonymous = include_anonymous
        self.now_sql = timestamp_literal(self.now)
        self._ctes: list[tuple[str, sge.Select]] = []
        self._ids = itertools.count(1)

    # --- dialect primitives not used by predicates -------------------------------------------

    def json_get(self, value: sge.Expr, path: tuple[str, ...]) -> sge.Expr:
        """The JSON value at ``path`` under JSON ``value`` (SQL NULL when a key is missing)."""
        raise UnsupportedError("JSON paths", type(self).__name__)

    # --- entry points ---------------------------------------------------------------------------

    def compile(self, definition: ast.Definition) -> CompiledQuery:
        """Compile a checked definition (see module docstring for the result's shape)."""
        self._ctes = []
        self._ids = itertools.count(1)
        if definition.target == "users":
            frame = _Frame(scope="users", key=col("u", "profile_id"))
            frame.profile = frame.key
            source = table(rel.PROFILES, "u")
            universe: sge.Expr | None = col("u", "is_user")
            if self.include_anonymous:
                universe = sge.or_(col("u", "is_user"), col("u", "is_anonymous"))
        else:
            frame = _Frame(scope="accounts", key=col("a", "group_id"))
            frame.account_traits = col("a", "traits")
            source = table(rel.ACCOUNTS, "a")
            universe = None
        if definition.kind == "audience":
            val = Val(self.condition(definition.body, frame), "bool")
        else:
            val = self.value(definition.body, frame)
        integral = val.integral if val.integral is not None else sge.false()
        select = sge.select(
            sge.alias_(frame.key, "entity_id"),
            sge.alias_(val.expr, "value"),
            sge.alias_(integral, "integral"),
        ).from_(source)
        for join in frame.joins:
            select = select.join(join)
        if universe is not None:
            select = select.where(universe)
        # Rows come in no particular order: every reader keys them by entity (the runner sorts
        # names), and sorting every entity of the universe is not free.
        for name, cte in self._ctes:
            select = select.with_(name, as_=cte)
        return CompiledQuery(select, val.kind)

    def sql(self, query: CompiledQuery, *, pretty: bool = True) -> str:
        return query.select.sql(dialect=self.DIALECT, pretty=pretty)

    # --- conditions -----------------------------------------------------------------------------

    def condition(self, node: ast.Expr, frame: _Frame) -> sge.Expr:
        """A boolean expression that is never NULL."""
        if isinstance(node, ast.Comparator):
            subject = self.value(node.subject, frame)
            args: Args = tuple(
                a if isinstance(a, ast.Duration) else self.value(a, frame) for a in node.args
            )
            return self.compare(subject, node.op, args)
        if isinstance(node, ast.And):
            return sge.and_(*(sge.paren(self.condition(o, frame)) for o in node.operands))
        if isinstance(node, ast.Or):
            return sge.or_(*(sge.paren(self.condition(o, frame)) for o in node.operands))
        if isinstance(node, ast.Not):
            return sge.not_(sge.paren(self.condition(node.operand, frame)))
        if isinstance(node, ast.Any | ast.All):
            return self.quantified(node, frame)
        raise UnsupportedError(f"{type(node).__name__} as a condition")

    def quantified(self, node: ast.Any | ast.All, frame: _Frame) -> sge.Expr:
        """``ANY``/``ALL``: the operand per linked user, folded per account."""
        if frame.scope != "accounts":
            raise UnsupportedError("ANY/ALL outside an ACCOUNTS definition")
        n = next(self._ids)
        link = f"l{n}"
        users = _Frame(scope="users", key=col(link, "profile_id"))
        users.profile = users.key
        cond = self.condition(node.operand, users)
        # Per linked user first, so the condition is written once, then folded per account.
        rows = sge.select(sge.alias_(col(link, "group_id"), "k"), sge.alias_(cond, "ok")).from_(
            table(rel.LINKS, link)
        )
        for join in users.joins:
            rows = rows.join(join)
        per_user = self._add_cte(f"users_{n}", rows)
        column, fold = ("any_v", "BOOL_OR") if isinstance(node, ast.Any) else ("all_v", "BOOL_AND")
        folded = (
            sge.select(
                sge.alias_(col(per_user, "k"), "k"),
                sge.alias_(sge.func(fold, col(per_user, "ok")), column),
            )
            .from_(table(per_user, per_user))
            .group_by(col(per_user, "k"))
        )
        name = self._add_cte(f"quantified_{n}", folded)
        frame.joins.append(
            left_join(table(name, name), sge.EQ(this=col(name, "k"), expression=frame.key))
        )
        # No row = no linked user: ANY is false and so is ALL (it needs a linked user).
        return sge.func("COALESCE", col(name, column), sge.false())

    # --- values ---------------------------------------------------------------------------------

    def value(self, node: ast.Expr, frame: _Frame) -> Val:
        if isinstance(node, ast.Literal):
            return literal_val(node)
        if isinstance(node, ast.TraitRef):
            return self.trait(node, frame)
        if isinstance(node, ast.Property):
            if frame.event is None:
                raise UnsupportedError("property() outside an event")
            return Val(self.json_get(col(frame.event, "properties"), node.path), "json")
        if isinstance(node, ast.ParentRef):
            if frame.parent is None:
                raise UnsupportedError("property(parent: ...) outside a nested event")
            return Val(self.json_get(col(frame.parent, "properties"), node.path), "json")
        if isinstance(node, ast.ContextRef):
            if frame.event is None:
                raise UnsupportedError("context() outside an event")
            if node.path == ("timestamp",):
                return Val(col(frame.event, "ts"), "time")
            return Val(self.json_get(col(frame.event, "context"), node.path), "json")
        if isinstance(node, ast.Reducer):
            return self.reducer(node, frame)
        raise UnsupportedError(f"{type(node).__name__} as a value")

    def trait(self, node: ast.TraitRef, frame: _Frame) -> Val:
        target: Target = "accounts" if frame.scope == "accounts" else "users"
        if self.definitions.get(node.key) == target:
            entity = frame.key if target == "accounts" else frame.profile
            assert entity is not None
            alias = self._lookup(frame, rel.VALUES, node.key, entity, target)
            column = col(alias, "value")
            return Val(self.json_get(column, node.path) if node.path else column, "json")
        if target == "accounts":
            assert frame.account_traits is not None
            return Val(self.json_get(frame.account_traits, (node.key, *node.path)), "json")
        assert frame.profile is not None
        alias = self._lookup(frame, rel.TRAITS, node.key, frame.profile, target)
        column = col(alias, "value")
        return Val(self.json_get(column, node.path) if node.path else column, "json")

    def _lookup(
        self, frame: _Frame, relation: str, key: str, entity: sge.Expr, target: Target
    ) -> str:
        """LEFT JOIN the row of ``relation`` for ``(entity, key)`` once per frame."""
        found = frame.lookups.get((relation, key))
        if found is not None:
            return found
        alias = f"t{next(self._ids)}"
        if relation == rel.VALUES:
            on = sge.and_(
                sge.EQ(this=col(alias, "target"), expression=string(target)),
                sge.EQ(this=col(alias, "entity_id"), expression=entity),
                sge.EQ(this=col(alias, "key"), expression=string(key)),
            )
        else:
            on = sge.and_(
                sge.EQ(this=col(alias, "profile_id"), expression=entity),
                sge.EQ(this=col(alias, "key"), expression=string(key)),
            )
        frame.joins.append(left_join(table(relation, alias), on))
        frame.lookups[(relation, key)] = alias
        return alias

    # --- reducers -------------------------------------------------------------------------------

    def reducer(self, node: ast.Reducer, frame: _Frame) -> Val:
        """Build the reducer's CTEs, join them to ``frame`` and return the joined value."""
        stream = node.stream
        if stream.source != "event":
            # entity() streams come from a warehouse (Linked Audiences); messages hold none, so
            # the stream is empty everywhere, as in the reference engine.
            if node.kind in ("count", "unique_count"):
                return Val(sge.Literal.number(0), "number")
            return Val(sge.cast(sge.null(), sge.DataType.Type.DOUBLE), "number")
        n = next(self._ids)
        source = self._source(frame, stream, n)
        e = f"e{n}"
        child = _Frame(
            scope="event",
            key=col(e, "event_id"),
            profile=col(e, "profile_id"),
            event=e,
            event_name=stream.name,
            parent=f"p{n}" if frame.scope == "event" else None,
        )
        self._filters(stream, child, source, n)
        arg = None if node.arg is None else self.value(node.arg, child)
        source.joins.extend(child.joins)
        name, column, kind = self._aggregate(node, n, source, arg)
        frame.joins.append(
            left_join(table(name, name), sge.EQ(this=col(name, "k"), expression=frame.key))
        )
        result: sge.Expr = col(name, column)
        if node.kind in ("count", "unique_count"):
            result = sge.func("COALESCE", result, sge.Literal.number(0))
        integral = None
        if node.kind in ("sum", "min", "max") and kind == "number":
            integral = col(name, "integral")
        return Val(result, kind, integral=integral)

    def _source(self, frame: _Frame, stream: ast.EventStream, n: int) -> Source:
        """FROM, joins and WHERE pairing each scope row (by ``key``) with the stream's events."""
        e = f"e{n}"
        where: list[sge.Expr] = [
            sge.EQ(this=col(e, "event_name"), expression=string(stream.name)),
            sge.LTE(this=col(e, "ts"), expression=self.now_sql),
        ]
        events = table(rel.EVENTS, e)
        if frame.scope == "users":
            return Source(events, [], where, col(e, "profile_id"))
        if frame.scope == "accounts":
            # An ACCOUNTS reducer outside ANY/ALL ranges over the events of all linked users.
            link = f"l{n}"
            on = sge.EQ(this=col(e, "profile_id"), expression=col(link, "profile_id"))
            return Source(
                table(rel.LINKS, link), [inner_join(events, on)], where, col(link, "group_id")
            )
        # A nested stream: pair each parent event with the events of the profile owning it
        # (also in an ACCOUNTS computed trait: the chain reads the event owner's history).
        p = f"p{n}"
        assert frame.event_name is not None
        pair: sge.Expr = sge.EQ(this=col(e, "profile_id"), expression=col(p, "profile_id"))
        if any(isinstance(f, ast.Within | ast.Between) and f.parent for f in stream.filters):
            # SEMANTICS: with a parent: window the parent never counts as its own child (without
            # one the stream is the whole history, the parent included).
            pair = sge.and_(pair, sge.NEQ(this=col(e, "event_id"), expression=col(p, "event_id")))
        where[:0] = [
            sge.EQ(this=col(p, "event_name"), expression=string(frame.event_name)),
            sge.LTE(this=col(p, "ts"), expression=self.now_sql),
        ]
        return Source(table(rel.EVENTS, p), [inner_join(events, pair)], where, col(p, "event_id"))

    def _filters(self, stream: ast.EventStream, child: _Frame, source: Source, n: int) -> None:
        """Add the stream's filters to ``source``, in source order.

        Every filter but ``expires_after`` keeps or drops each event on its own, so order does
        not matter for them; a session window depends on the events that passed the filters
        before it, so it closes a stage (see :meth:`_session`).
        """
        assert child.event is not None
        ts = col(child.event, "ts")
        for index, flt in enumerate(stream.filters):
            if isinstance(flt, ast.Where):
                source.where.append(sge.paren(self.condition(flt.condition, child)))
            elif isinstance(flt, ast.Within | ast.Between):
                if isinstance(flt, ast.Within):
                    lo, hi = timedelta(0), duration_of(flt.duration)
                else:
                    a, b = duration_of(flt.start), duration_of(flt.end)
                    lo, hi = min(a, b), max(a, b)
                if flt.parent:
                    assert child.parent is not None
                    parent_ts = col(child.parent, "ts")
                    source.where.append(sge.GTE(this=ts, expression=self.shift(parent_ts, lo)))
                    source.where.append(sge.LTE(this=ts, expression=self.shift(parent_ts, hi)))
                else:
                    source.where.append(
                        sge.GTE(this=ts, expression=timestamp_literal(self.now - hi))
                    )
                    if lo:
                        source.where.append(
                            sge.LTE(this=ts, expression=timestamp_literal(self.now - lo))
                        )
            elif isinstance(flt, ast.ExpiresAfter):
                self._session(flt, child.event, child.joins, source, f"{n}_{index}")
            # sources(): Shoal records no source id per message yet, so nothing is excluded
            # (as in the reference engine).
