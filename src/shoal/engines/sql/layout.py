"""Promoted property paths: typed columns beside the JSON, so compiled queries skip JSON parsing.

Reading ``property('price')`` from the ``properties`` JSON costs a JSON parse per row and per
use, and SEMANTICS coercions (a number may arrive as ``129.99`` in one event and ``"129.99"`` in
the next) turn each comparison into a ``CASE`` over the value's JSON type: about 5-12x slower
than a typed column (``docs/storage.md``). A :class:`Layout` names the paths to *promote*:

- the loader adds, per promoted path, one column per *view* the compiler reads, computed by the
  compiler's own expressions (:func:`promotion`): the value itself (``json``), its numeric view
  (``num``), string view (``text``), boolean view (``bool``), whether it is an integer
  (``int``), its string form (``form``, what ``mode``/``unique``/``as string`` group by),
  whether it is non-null (``present``) and whether it is an array or an object (``shape``);
- a compiler built with the same layout (:func:`compiler_for`) reads those columns wherever it
  would have computed the view from JSON.

Because every stored view is the very expression the plain compiler evaluates inline, results
cannot change, whatever the types in the data; a path that is not promoted compiles as before,
and without a layout the compiler is the plain one, byte for byte. Column names are
``pp<N>_<view>`` (no user text reaches an identifier).

Two more columns let queries join and reduce like hand-written SQL:

- ``eq``, an *equality key*: two values SEMANTICS calls equal always have the same key (numbers
  and numeric strings by their number, booleans and ``'true'``/``'false'`` texts alike, other
  texts as they are, objects and arrays by their JSON text). A comparison of two promoted values
  adds ``a.eq = b.eq`` in front of the exact test, so a funnel's "same product" becomes a hash
  join key; the exact test still decides.
- *shapes*: after loading, the loader records whether a path ever holds an array or an object
  (:func:`shape_stats`, :meth:`Layout.with_shapes`). For a path that never does, the compiler
  answers "is it an array/object?" with FALSE, which drops the per-element branches. This is
  the only fact a layout holds about the data, so a layout measured on one load must not be
  used with another (the loaders measure it on every load).

With a layout the compiler also writes a few plans closer to what one would write by hand (same
answers, exactly): ``first``/``last`` with ``ARG_MIN``/``ARG_MAX`` over the SEMANTICS event
order instead of ranking every event (the order is total, so the same row wins); a nested
stream pairs only the parent events that the parent's own windows and plain ``where``
conjuncts keep (the others are dropped by the enclosing stream anyway), with the implied time
bounds on the paired events; the result is not sorted, and an audience returns its members
only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal, cast

import sqlglot.expressions as sge

from shoal.engines.sql import relations as rel
from shoal.engines.sql.compiler import CompiledQuery, Compiler, _Frame
from shoal.engines.sql.predicates import Args
from shoal.engines.sql.shapes import EVENT_ORDER, col, string, table
from shoal.engines.sql.shapes import Source as RowSource
from shoal.engines.sql.values import Kind, Val, duration_of, timestamp_literal
from shoal.lang import ast

__all__ = [
    "VIEWS",
    "Layout",
    "Promoted",
    "Promotions",
    "compiler_for",
    "promotion",
]

Source = Literal["properties", "context", "traits"]
"""Where a promoted path lives: ``shoal_events.properties``/``.context``, or
``shoal_accounts.traits`` (an account's own traits, read by ACCOUNTS definitions)."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

VIEWS: Final[dict[str, str]] = {
    "json": "JSON",
    "num": "DOUBLE",
    "text": "VARCHAR",
    "bool": "VARCHAR",
    "int": "BOOLEAN",
    "form": "VARCHAR",
    "present": "BOOLEAN",
    "shape": "VARCHAR",
    "eq": "VARCHAR",
}
"""The columns of a promoted path and their SQL types, in order."""


@dataclass(frozen=True, slots=True)
class Promoted:
    """One promoted path of ``shoal_events.<source>``, stored in columns ``<prefix>_<view>``."""

    source: Source
    path: tuple[str, ...]
    prefix: str
    arrays: bool = True
    """Whether some row may hold an array here (True until measured)."""
    objects: bool = True
    """Whether some row may hold an object here (True until measured)."""

    def column(self, view: str) -> str:
        return f"{self.prefix}_{view}"

    @property
    def relation(self) -> str:
        """The relation holding its columns."""
        return rel.ACCOUNTS if self.source == "traits" else rel.EVENTS


@dataclass(frozen=True, slots=True)
class Layout:
    """The promoted paths of the events relation."""

    promoted: tuple[Promoted, ...] = ()

    @classmethod
    def of(cls, paths: Iterable[tuple[Source, tuple[str, ...]]]) -> Layout:
        """A layout promoting ``(source, path)`` pairs (order-free, duplicates ignored).

        >>> Layout.of([("properties", ("price",))]).promoted[0].column("num")
        'pp1_num'
        """
        unique = sorted(set(paths))
        return cls(tuple(Promoted(s, p, f"pp{i}") for i, (s, p) in enumerate(unique, start=1)))

    @classmethod
    def for_definitions(cls, definitions: Iterable[ast.Definition]) -> Layout:
        """Every property and context path the definitions read, and every account trait the
        ACCOUNTS definitions read at the account's own level (all promoted)."""
        paths: list[tuple[Source, tuple[str, ...]]] = []
        for definition in definitions:
            for node in ast.walk(definition):
                if isinstance(node, ast.Property | ast.ParentRef):
                    paths.append(("properties", node.path))
                elif isinstance(node, ast.ContextRef) and node.path != ("timestamp",):
                    paths.append(("context", node.path))
            if definition.target == "accounts":
                # Inside ANY/ALL and inside a stream, trait() is a user's: not the account's.
                paths.extend(
                    ("traits", (node.key, *node.path))
                    for node in ast.walk(definition, into=_account_level)
                    if isinstance(node, ast.TraitRef)
                )
        return cls.of(paths)

    def on(self, relation: str) -> Layout:
        """The paths promoted on ``relation`` (``shoal_events`` or ``shoal_accounts``)."""
        return Layout(tuple(p for p in self.promoted if p.relation == relation))

    def find(self, source: Source, path: tuple[str, ...]) -> Promoted | None:
        for promoted in self.promoted:
            if promoted.source == source and promoted.path == path:
                return promoted
        return None

    def columns(self) -> list[tuple[str, str]]:
        """Names and SQL types of every promoted column."""
        return [(p.column(v), t) for p in self.promoted for v, t in VIEWS.items()]

    def with_shapes(self, row: Sequence[bool | None]) -> Layout:
        """This layout with the shapes measured by :func:`shape_stats` (its one row)."""
        shapes = iter(row)
        return Layout(
            tuple(
                replace(p, arrays=bool(next(shapes)), objects=bool(next(shapes)))
                for p in self.promoted
            )
        )


def shape_stats(layout: Layout) -> sge.Select:
    """``SELECT`` whether each promoted path holds an array, an object, over the relation
    holding it (two columns per path, in layout order; see :meth:`Layout.with_shapes`)."""
    parts: dict[str, sge.Select] = {}
    for relation in (rel.EVENTS, rel.ACCOUNTS):
        columns: list[sge.Expr] = []
        for p in layout.on(relation).promoted:
            for kind in ("array", "object"):
                seen = sge.func(
                    "BOOL_OR", sge.EQ(this=sge.column(p.column("shape")), expression=string(kind))
                )
                columns.append(
                    sge.alias_(sge.func("COALESCE", seen, sge.false()), f"{p.prefix}_{kind}")
                )
        if columns:
            parts[relation] = sge.select(*columns).from_(table(relation, relation))
    picked = [
        col(f"s_{p.relation}", f"{p.prefix}_{kind}")
        for p in layout.promoted
        for kind in ("array", "object")
    ]
    select = sge.select(*picked)
    for i, (relation, part) in enumerate(parts.items()):
        source = part.subquery(f"s_{relation}")
        select = select.from_(source) if i == 0 else select.join(source, join_type="CROSS")
    return select


def promotion(
    layout: Layout,
    dialect: type[Compiler],
    source: sge.Expr | None = None,
    relation: str = rel.EVENTS,
) -> sge.Select:
    """``SELECT *, <promoted columns> FROM source`` (default: the table ``relation``), for the
    paths promoted on ``relation``.

    Each value is extracted once (``pp<N>_json``, by ``dialect``'s ``json_get``); its views are
    ``dialect``'s own view expressions of that value (those the plain compiler evaluates inline
    on the same extraction); the equality key is built from the views.
    """
    compiler = dialect(now=_EPOCH)  # views do not depend on the as-of instant
    extracted: list[sge.Expr] = [sge.Star()]
    viewed: list[sge.Expr] = [sge.Star()]
    keyed: list[sge.Expr] = [sge.Star()]
    for p in layout.on(relation).promoted:
        value = compiler.json_get(sge.column(p.source), p.path)
        extracted.append(sge.alias_(sge.cast(value, sge.DataType.build("JSON")), p.column("json")))
        v = Val(sge.column(p.column("json")), "json")
        shape = sge.Case(
            ifs=[
                sge.If(this=compiler.json_is(v.expr, kind), true=sge.Literal.string(kind))
                for kind in ("array", "object")
            ]
        )
        views: dict[str, sge.Expr | None] = {
            "num": compiler.num(v),
            "text": compiler.text(v),
            "bool": compiler.boolean(v),
            "int": compiler.integer(v),
            "form": compiler.string_form(v),
            "present": compiler.not_null(v),
            "shape": shape,
        }
        for view, expr in views.items():
            typed = sge.cast(sge.null() if expr is None else expr, sge.DataType.build(VIEWS[view]))
            viewed.append(sge.alias_(typed, p.column(view)))
        key = sge.cast(_equality_key(compiler, p), sge.DataType.build(VIEWS["eq"]))
        keyed.append(sge.alias_(key, p.column("eq")))
    inner = sge.select(*extracted).from_(source or table(relation, relation))
    middle = sge.select(*viewed).from_(inner.subquery("promoted_json"))
    return sge.select(*keyed).from_(middle.subquery("promoted_views"))


def _equality_key(compiler: Compiler, p: Promoted) -> sge.Expr:
    """Equal values (SEMANTICS, ``Predicates.equal``) get equal keys (see the module
    docstring), from the views of ``p`` computed in the layer below."""
    number, text, boolean = (sge.column(p.column(v)) for v in ("num", "text", "bool"))
    varchar = sge.DataType.build("VARCHAR")
    # + 0.0 turns -0.0 into 0.0: they are equal numbers.
    numeric = sge.cast(sge.Add(this=number, expression=sge.Literal.number("0.0")), varchar)
    lowered = sge.Lower(this=text)
    truth = sge.In(this=lowered.copy(), expressions=[string("true"), string("false")])

    def tagged(tag: str, expr: sge.Expr) -> sge.Expr:
        return sge.DPipe(this=string(tag), expression=expr, safe=True)

    def known(expr: sge.Expr) -> sge.Expr:
        return sge.not_(sge.Is(this=expr.copy(), expression=sge.null()))

    return sge.Case(
        ifs=[
            sge.If(this=known(number), true=tagged("n", numeric)),
            sge.If(this=known(boolean), true=tagged("b", boolean.copy())),
            sge.If(this=sge.and_(known(text), truth), true=tagged("b", lowered)),
            sge.If(this=known(text), true=tagged("t", text.copy())),
            sge.If(
                this=sge.column(p.column("present")),
                true=tagged("j", compiler.json_text(sge.column(p.column("json")))),
            ),
        ]
    )


class Promotions(Compiler):
    """Compiler mixin reading promoted columns; put it before a dialect compiler
    (:func:`compiler_for`). Paths not in the layout compile as in the plain compiler."""

    def __init__(self, *, layout: Layout, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.layout = layout
        self._columns: dict[tuple[str, str], Promoted] = {}
        """``(table alias, json column)`` of the promoted values handed out → their path."""
        self._streams: dict[str, ast.EventStream] = {}
        """Event alias → the stream it ranges over (for nested streams' parents)."""

    def compile(self, definition: ast.Definition) -> CompiledQuery:
        # An audience returns its members only (the runner drops the others), so the database
        # can drop non-members as early as it likes.
        query = super().compile(definition)
        # Measured shapes answer "is it an array/object?" with FALSE; fold the branches that
        # leaves dead, or the database parses and plans them on every run (a third of the
        # bench.batch funnel's planning time).
        select = _fold(query.select)
        assert isinstance(select, sge.Select)
        if definition.kind == "audience":
            value = select.expressions[1]
            assert isinstance(value, sge.Alias) and value.alias == "value"
            select = select.where(value.this.copy())
        return CompiledQuery(select, query.kind)

    def trait(self, node: ast.TraitRef, frame: _Frame) -> Val:
        # An account's own trait (not a computed trait read by key) from its promoted column.
        held = frame.account_traits
        if (
            frame.scope == "accounts"
            and self.definitions.get(node.key) != "accounts"
            and isinstance(held, sge.Column)
        ):
            promoted = self.layout.find("traits", (node.key, *node.path))
            if promoted is not None:
                self._columns[(held.table, promoted.column("json"))] = promoted
                return Val(col(held.table, promoted.column("json")), "json")
        return super().trait(node, frame)

    def value(self, node: ast.Expr, frame: _Frame) -> Val:
        source: Source = "properties"
        alias: str | None = None
        path: tuple[str, ...] = ()
        if isinstance(node, ast.Property):
            alias, path = frame.event, node.path
        elif isinstance(node, ast.ParentRef):
            alias, path = frame.parent, node.path
        elif isinstance(node, ast.ContextRef) and node.path != ("timestamp",):
            source, alias, path = "context", frame.event, node.path
        promoted = None if alias is None else self.layout.find(source, path)
        if alias is None or promoted is None:
            return super().value(node, frame)
        self._columns[(alias, promoted.column("json"))] = promoted
        return Val(col(alias, promoted.column("json")), "json")

    def _path(self, expr: sge.Expr) -> Promoted | None:
        """The promoted path whose value ``expr`` is, if it is one."""
        if not isinstance(expr, sge.Column):
            return None
        return self._columns.get((expr.table, expr.name))

    @staticmethod
    def _column(expr: sge.Expr, promoted: Promoted, view: str) -> sge.Expr:
        assert isinstance(expr, sge.Column)
        return col(expr.table, promoted.column(view))

    def _view(self, expr: sge.Expr, view: str) -> sge.Expr | None:
        """The column holding ``view`` of a promoted value, or None for any other value."""
        promoted = self._path(expr)
        return None if promoted is None else self._column(expr, promoted, view)

    def _promoted(self, v: Val, view: str) -> sge.Expr | None:
        if v.kind != "json" or v.is_literal:
            return None
        return self._view(v.expr, view)

    def num(self, v: Val) -> sge.Expr | None:
        found = self._promoted(v, "num")
        return found if found is not None else super().num(v)

    def integer(self, v: Val) -> sge.Expr | None:
        found = self._promoted(v, "int")
        return found if found is not None else super().integer(v)

    def text(self, v: Val) -> sge.Expr | None:
        found = self._promoted(v, "text")
        return found if found is not None else super().text(v)

    def boolean(self, v: Val) -> sge.Expr | None:
        found = self._promoted(v, "bool")
        return found if found is not None else super().boolean(v)

    def not_null(self, v: Val) -> sge.Expr:
        found = self._promoted(v, "present")
        return found if found is not None else super().not_null(v)

    def string_form(self, v: Val) -> sge.Expr:
        found = self._promoted(v, "form")
        return found if found is not None else super().string_form(v)

    def json_is(self, value: sge.Expr, kind: str) -> sge.Expr:
        # Arrays (comparators apply to each element) and objects (compared by their text) are
        # asked about the whole value; the shape column answers without parsing it, and a path
        # measured never to hold that shape answers FALSE (the branch folds away).
        promoted = self._path(value) if kind in ("array", "object") else None
        if promoted is None:
            return super().json_is(value, kind)
        if not (promoted.arrays if kind == "array" else promoted.objects):
            return sge.false()
        return sge.EQ(this=self._column(value, promoted, "shape"), expression=string(kind))

    def compare(self, subject: Val, op: ast.ComparatorOp, args: Args) -> sge.Expr:
        exact = super().compare(subject, op, args)
        other = args[0] if args else None
        if op != "equals" or not isinstance(other, Val):
            return exact
        mine = self._promoted(subject, "eq")
        theirs = self._promoted(other, "eq")
        promoted = self._path(subject.expr)
        # An array subject matches by element, which no key of the whole value captures.
        if mine is None or theirs is None or promoted is None or promoted.arrays:
            return exact
        return sge.and_(sge.EQ(this=mine, expression=theirs), sge.paren(exact))

    # --- nested streams: pair only the parents that can be kept ----------------------------

    def _filters(self, stream: ast.EventStream, child: _Frame, source: RowSource, n: int) -> None:
        assert child.event is not None
        self._streams[child.event] = stream
        super()._filters(stream, child, source, n)

    def _source(self, frame: _Frame, stream: ast.EventStream, n: int) -> RowSource:
        """A nested stream pairs each parent event with the profile's events. The parent
        event's own per-event filters (its windows and the plain conjuncts of its ``where``)
        are added for the paired parents too: a parent they reject is dropped by the
        enclosing stream anyway, so its pairs could never be read. The parent's time range
        shifted by the stream's ``parent:`` windows bounds the paired events' times as well
        (implied, but it lets the scan skip what is out of range)."""
        source = super()._source(frame, stream, n)
        parent_stream = None if frame.event is None else self._streams.get(frame.event)
        if frame.scope != "event" or parent_stream is None:
            return source
        parent = f"p{n}"
        earliest, latest = self._add_windows(parent_stream, col(parent, "ts"), source.where)
        for flt in parent_stream.filters:
            if not isinstance(flt, ast.Where):
                continue
            for conjunct in _conjuncts(flt.condition):
                if not _plain(conjunct):
                    continue
                scope = _Frame(
                    scope="event",
                    key=col(parent, "event_id"),
                    profile=col(parent, "profile_id"),
                    event=parent,
                    event_name=parent_stream.name,
                )
                condition = self.condition(conjunct, scope)
                if not scope.joins:
                    source.where.append(sge.paren(condition))
        child_ts = col(f"e{n}", "ts")
        for flt in stream.filters:
            if isinstance(flt, ast.Within | ast.Between) and flt.parent:
                lo, hi = _window(flt)
                if earliest is not None:
                    bound = timestamp_literal(earliest + lo)
                    source.where.append(sge.GTE(this=child_ts, expression=bound))
                source.where.append(
                    sge.LTE(this=child_ts, expression=timestamp_literal(latest + hi))
                )
        return source

    def _add_windows(
        self, stream: ast.EventStream, ts: sge.Expr, where: list[sge.Expr]
    ) -> tuple[datetime | None, datetime]:
        """Add ``stream``'s own (not ``parent:``) windows on ``ts`` to ``where``; returns the
        range they leave (``None``: no lower bound)."""
        earliest: datetime | None = None
        latest = self.now
        for flt in stream.filters:
            if isinstance(flt, ast.Within | ast.Between) and not flt.parent:
                lo, hi = _window(flt)
                where.append(sge.GTE(this=ts, expression=timestamp_literal(self.now - hi)))
                earliest = max(earliest or self.now - hi, self.now - hi)
                if lo:
                    where.append(sge.LTE(this=ts, expression=timestamp_literal(self.now - lo)))
                    latest = min(latest, self.now - lo)
        return earliest, latest

    def _first_last(
        self, node: ast.Reducer, n: int, source: RowSource, arg: Val, present: sge.Expr
    ) -> tuple[str, str, Kind]:
        """The value on the earliest/latest qualifying event, as ``ARG_MIN``/``ARG_MAX`` over
        the SEMANTICS order (total: ``event_id`` ends it), grouped like any reducer."""
        e = f"e{n}"
        last = node.kind == "last"
        value: sge.Expr
        if isinstance(arg.expr, sge.Column) and (arg.expr.table, arg.expr.name) == (e, "ts"):
            # first/last(context('timestamp')): the value is the order's first key itself.
            value = sge.Max(this=arg.expr) if last else sge.Min(this=arg.expr)
        else:
            order = sge.Struct(expressions=[col(e, c) for c in EVENT_ORDER])
            func = sge.ArgMax if last else sge.ArgMin
            value = func(this=arg.expr, expression=order)
        picked = source.select(sge.alias_(source.key, "k"), sge.alias_(value, "v"))
        select = picked.where(present).group_by(source.key)
        return self._add_cte(f"reduce_{n}", select), "v", arg.kind


def _window(flt: ast.Within | ast.Between) -> tuple[timedelta, timedelta]:
    """``(lo, hi)`` of a window: it spans ``[anchor - hi, anchor - lo]`` (or ``+`` after a
    parent), as ``Compiler._filters`` reads it."""
    if isinstance(flt, ast.Within):
        return timedelta(0), duration_of(flt.duration)
    a, b = duration_of(flt.start), duration_of(flt.end)
    return min(a, b), max(a, b)


def _false(node: sge.Expr) -> bool:
    return isinstance(node, sge.Boolean) and node.this is False


def _fold(node: sge.Expr) -> sge.Expr:
    """``node`` with the branches a literal FALSE decides removed, children first. Each rule
    holds in SQL's three-valued logic: ``FALSE AND x`` is FALSE and ``FALSE OR x`` is ``x``
    whatever ``x`` is, NULL included; a ``CASE`` branch whose condition is FALSE is never
    taken."""
    for key, child in list(node.args.items()):
        if isinstance(child, sge.Expr):
            node.set(key, _fold(child))
        elif isinstance(child, list):
            node.set(key, [_fold(c) if isinstance(c, sge.Expr) else c for c in child])
    if isinstance(node, sge.Paren) and _false(node.this):
        return sge.false()
    if isinstance(node, sge.And) and (_false(node.this) or _false(node.expression)):
        return sge.false()
    if isinstance(node, sge.Or):
        left: sge.Expr = node.this
        right: sge.Expr = node.expression
        if _false(left):
            return right
        if _false(right):
            return left
    if isinstance(node, sge.Case) and not node.this:
        ifs = [branch for branch in node.args.get("ifs") or [] if not _false(branch.this)]
        if not ifs:
            default = node.args.get("default")
            return default if isinstance(default, sge.Expr) else sge.null()
        node.set("ifs", ifs)
    return node


def _account_level(node: ast.Node) -> bool:
    """Whether ``trait()`` below ``node`` still means the account's trait."""
    return not isinstance(node, ast.Any | ast.All | ast.EventStream)


def _conjuncts(node: ast.Expr) -> list[ast.Expr]:
    if isinstance(node, ast.And):
        return [c for operand in node.operands for c in _conjuncts(operand)]
    return [node]


_PLAIN = (
    ast.Comparator,
    ast.Property,
    ast.ContextRef,
    ast.Literal,
    ast.Duration,
    ast.And,
    ast.Or,
    ast.Not,
)


def _plain(node: ast.Expr) -> bool:
    """A condition on the event alone: no nested stream, parent, trait or quantifier."""
    return all(isinstance(n, _PLAIN) for n in ast.walk(node))


_PROMOTING: dict[type[Compiler], type[Promotions]] = {}


def _promoting(dialect: type[Compiler]) -> type[Promotions]:
    """``Promoted<Dialect>``: the mixin in front of a dialect compiler (made once per class)."""
    made = _PROMOTING.get(dialect)
    if made is None:
        name = f"Promoted{dialect.__name__}"
        made = _PROMOTING[dialect] = cast(type[Promotions], type(name, (Promotions, dialect), {}))
    return made


def compiler_for(dialect: type[Compiler], layout: Layout | None, **kwargs: Any) -> Compiler:
    """A compiler of ``dialect`` (a class of ``COMPILERS``) reading ``layout``'s columns; the
    plain dialect compiler when there is no layout or it promotes nothing."""
    if layout is None or not layout.promoted:
        return dialect(**kwargs)
    return _promoting(dialect)(layout=layout, **kwargs)
