"""The syntax tree of a Segment query-language definition.

Every node is a frozen, slotted, keyword-only dataclass with a ``span``. Spans never take part in
equality (``field(compare=False)``), so two trees parsed from differently spaced text compare
equal, and ``parse(format(tree)) == tree`` holds.

Shape of a tree::

    Definition(kind, target, body: Expr)
    Expr   = Bool | Value
    Bool   = Comparator | And | Or | Not | Any | All
    Value  = Literal | TraitRef | Property | ParentRef | ContextRef | Reducer
    Reducer(stream: EventStream, kind, arg, cast, min_count)
    EventStream(name, filters: tuple[Filter, ...], source)
    Filter = Where | Sources | Within | Between | ExpiresAfter

Sugar is gone by the time a tree exists: infix ``>=`` and the pre-2024 names (``gte``) both become
``Comparator(op="at_least")``; ``one_of(['a','b'])`` and ``one_of('a','b')`` are the same node;
``literal(5)`` and a bare ``5`` are both ``Literal(value=5)``; unquoted timestamps are string
literals; unit spellings are normalised (``day`` → ``days``).

Paths (``trait('a.b')``, ``property('a\\.b')``) are split on unescaped dots into tuples, so
``TraitRef(key="a", path=("b",))`` reads ``traits["a"]["b"]``.
"""

from __future__ import annotations

import dataclasses
import re
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

__all__ = [
    "ALIASES",
    "CASTS",
    "COMPARATORS",
    "INFIX",
    "NO_SPAN",
    "REDUCERS",
    "UNITS",
    "All",
    "And",
    "Any",
    "Between",
    "Bool",
    "Cast",
    "Comparator",
    "ComparatorOp",
    "ContextRef",
    "Definition",
    "Duration",
    "EventStream",
    "ExpiresAfter",
    "Expr",
    "Filter",
    "Literal",
    "Node",
    "Not",
    "Or",
    "ParentRef",
    "Property",
    "Reducer",
    "ReducerKind",
    "Sources",
    "Span",
    "TraitRef",
    "Unit",
    "Value",
    "Where",
    "Within",
    "children",
    "join_path",
    "split_path",
    "walk",
]

ComparatorOp = typing.Literal[
    "equals",
    "differs",
    "greater_than",
    "at_least",
    "less_than",
    "at_most",
    "exists",
    "absent",
    "contains",
    "omits",
    "starts_with",
    "ends_with",
    "one_of",
    "none_of",
    "before_date",
    "after_date",
    "within_last",
    "within_next",
    "before_last",
    "after_next",
]
COMPARATORS: tuple[ComparatorOp, ...] = typing.get_args(ComparatorOp)

#: Canonical comparator → infix spelling; the formatter prints these infix.
INFIX: dict[ComparatorOp, str] = {
    "equals": "=",
    "differs": "!=",
    "greater_than": ">",
    "at_least": ">=",
    "less_than": "<",
    "at_most": "<=",
}

#: Pre-April-2024 comparator names, accepted on input and never printed.
ALIASES: dict[str, ComparatorOp] = {
    "eq": "equals",
    "neq": "differs",
    "gt": "greater_than",
    "gte": "at_least",
    "lt": "less_than",
    "lte": "at_most",
    "is_set": "exists",
    "is_null": "absent",
    "contains_one": "contains",
}

ReducerKind = typing.Literal[
    "count", "sum", "avg", "min", "max", "mode", "first", "last", "unique", "unique_count"
]
REDUCERS: tuple[ReducerKind, ...] = typing.get_args(ReducerKind)

Unit = typing.Literal["seconds", "minutes", "hours", "days"]
UNITS: tuple[Unit, ...] = typing.get_args(Unit)

Cast = typing.Literal["number", "string", "array"]

#: The ``as`` types each reducer accepts; reducers not listed take none.
CASTS: dict[str, tuple[Cast, ...]] = {
    "min": ("number", "string"),
    "max": ("number", "string"),
    "mode": ("number", "string", "array"),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Span:
    """Where a node came from: 0-based offsets ``[start, end)`` and 1-based line/column."""

    start: int
    end: int
    line: int
    col: int
    end_line: int
    end_col: int


#: The span of nodes built in code rather than parsed.
NO_SPAN = Span(start=0, end=0, line=1, col=1, end_line=1, end_col=1)


@dataclass(frozen=True, slots=True, kw_only=True)
class Node:
    """Base of every syntax-tree node."""

    span: Span = field(default=NO_SPAN, compare=False, repr=False)


# --- values -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Literal(Node):
    """A constant: ``'text'``, ``5``, ``2.5``; dates and timestamps are strings."""

    value: str | int | float


@dataclass(frozen=True, slots=True, kw_only=True)
class TraitRef(Node):
    """``trait('key.sub')``: a profile trait, computed trait or audience membership (by key)."""

    key: str
    path: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Property(Node):
    """``property('a.b')``: a property of the innermost enclosing event."""

    path: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ParentRef(Node):
    """``property(parent: 'a.b')``: a property of the event enclosing the innermost one."""

    path: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ContextRef(Node):
    """``context('page.url')``: a field of the event's ``context``; ``timestamp`` is event time."""

    path: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Duration(Node):
    """``7 days``; the unit is always plural."""

    amount: int
    unit: Unit


# --- event streams ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Where(Node):
    """``.where(cond)``: keep events for which ``cond`` holds."""

    condition: Expr


@dataclass(frozen=True, slots=True, kw_only=True)
class Sources(Node):
    """``.sources({exclude: [...]})``: drop events from the listed source ids."""

    exclude: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Within(Node):
    """``.within(7 days)``, or with ``parent=True`` ``.within(parent: 7 days)``."""

    duration: Duration
    parent: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Between(Node):
    """``.between(A, B)`` as written (``start`` is A); engines take min/max of the two."""

    start: Duration
    end: Duration
    parent: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ExpiresAfter(Node):
    """``.expires_after(30 minutes)``: a session window for computed traits."""

    duration: Duration


@dataclass(frozen=True, slots=True, kw_only=True)
class EventStream(Node):
    """``event('Name')`` (or ``entity('slug')``) with its filters in source order."""

    name: str
    filters: tuple[Filter, ...] = ()
    source: typing.Literal["event", "entity"] = "event"


@dataclass(frozen=True, slots=True, kw_only=True)
class Reducer(Node):
    """A stream reduced to a scalar: ``.count()``, ``.max(property('p') as string)``, ...

    ``arg`` is None only for ``count``; ``cast`` is only set for min/max/mode when written;
    ``min_count`` is only set for ``mode``. ``unique(p).count()`` is ``kind="unique_count"``.
    """

    stream: EventStream
    kind: ReducerKind
    arg: Property | ParentRef | ContextRef | None = None
    cast: Cast | None = None
    min_count: int | None = None


# --- booleans -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Comparator(Node):
    """``subject.op(args...)``, or infix ``subject >= arg``.

    Arguments by op: equals…at_most take one Value (a literal or a dynamic reference);
    exists/absent none; contains/one_of/none_of one or more Literals; omits/starts_with/
    ends_with/before_date/after_date one Literal; within_last…after_next one Duration.
    """

    subject: Value
    op: ComparatorOp
    args: tuple[Value | Duration, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class And(Node):
    """Two or more operands, all true."""

    operands: tuple[Expr, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Or(Node):
    """Two or more operands, at least one true."""

    operands: tuple[Expr, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Not(Node):
    operand: Expr


@dataclass(frozen=True, slots=True, kw_only=True)
class Any(Node):
    """Accounts: ``operand`` holds for at least one linked user."""

    operand: Expr


@dataclass(frozen=True, slots=True, kw_only=True)
class All(Node):
    """Accounts: the account has a linked user and ``operand`` holds for every one."""

    operand: Expr


@dataclass(frozen=True, slots=True, kw_only=True)
class Definition(Node):
    """A whole audience (boolean body) or computed-trait (scalar body) definition."""

    kind: typing.Literal["audience", "trait"]
    target: typing.Literal["users", "accounts"]
    body: Expr


Value = Literal | TraitRef | Property | ParentRef | ContextRef | Reducer
Bool = Comparator | And | Or | Not | Any | All
Expr = Bool | Value
Filter = Where | Sources | Within | Between | ExpiresAfter


# --- walking ------------------------------------------------------------------------------------


def children(node: Node) -> Iterator[Node]:
    """The direct child nodes of ``node`` in field order (spans are not nodes)."""
    for f in dataclasses.fields(node):
        if f.name == "span":
            continue
        value = getattr(node, f.name)
        if isinstance(value, Node):
            yield value
        elif isinstance(value, tuple):
            for item in value:
                if isinstance(item, Node):
                    yield item


def walk(node: Node, *, into: Callable[[Node], bool] | None = None) -> Iterator[Node]:
    """Every node of the tree, parents before children.

    ``into(n)`` returning False skips the children of ``n`` (``n`` itself is still yielded).
    """
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        if into is None or into(current):
            stack.extend(reversed(list(children(current))))


# --- dotted paths -------------------------------------------------------------------------------

_UNESCAPED_DOT = re.compile(r"(?<!\\)\.")


def split_path(text: str) -> tuple[str, ...]:
    r"""Split a key on dots that are not escaped; ``\.`` is a literal dot.

    >>> split_path("a.b")
    ('a', 'b')
    >>> split_path("a\\.b.c")
    ('a.b', 'c')
    """
    return tuple(part.replace("\\.", ".") for part in _UNESCAPED_DOT.split(text))


def join_path(path: tuple[str, ...]) -> str:
    r"""Inverse of :func:`split_path`.

    >>> join_path(("a.b", "c"))
    'a\\.b.c'
    """
    return ".".join(part.replace(".", "\\.") for part in path)
