"""Hypothesis strategies: well-shaped syntax trees (not necessarily well-typed) and token soup."""

from __future__ import annotations

from hypothesis import strategies as st

from shoal.lang import ast

_OPS_BY_ARGS: dict[str, tuple[ast.ComparatorOp, ...]] = {
    "value": ("equals", "differs", "greater_than", "at_least", "less_than", "at_most"),
    "none": ("exists", "absent"),
    "list": ("contains", "one_of", "none_of"),
    "one": ("omits", "starts_with", "ends_with", "before_date", "after_date"),
    "duration": ("within_last", "within_next", "before_last", "after_next"),
}

# Any text, including quotes, backslashes, newlines and non-ASCII; surrogates cannot be encoded.
texts = st.text(st.characters(codec="utf-8"), max_size=12)
names = texts.filter(bool)
# Path keys may hold dots (escaped on output) but no backslash: a key ending in one would
# escape the next dot, which the JSON form rejects as ambiguous.
keys = st.text(st.characters(codec="utf-8", exclude_characters="\\"), min_size=1)
paths = st.lists(keys, min_size=1, max_size=3).map(tuple)

literals = st.builds(
    ast.Literal,
    value=st.one_of(
        texts,
        st.integers(min_value=-(10**20), max_value=10**20),
        st.floats(allow_nan=False, allow_infinity=False),
    ),
)
durations = st.builds(
    ast.Duration, amount=st.integers(min_value=0, max_value=10**6), unit=st.sampled_from(ast.UNITS)
)
simple_values = st.one_of(
    literals,
    st.builds(ast.TraitRef, key=keys, path=st.lists(keys, max_size=2).map(tuple)),
    st.builds(ast.Property, path=paths),
    st.builds(ast.ParentRef, path=paths),
    st.builds(ast.ContextRef, path=paths),
)
reducer_args = st.one_of(
    st.builds(ast.Property, path=paths),
    st.builds(ast.ParentRef, path=paths),
    st.builds(ast.ContextRef, path=paths),
)


def filters(depth: int) -> st.SearchStrategy[ast.Filter]:
    options: list[st.SearchStrategy[ast.Filter]] = [
        st.builds(ast.Within, duration=durations, parent=st.booleans()),
        st.builds(ast.Between, start=durations, end=durations, parent=st.booleans()),
        st.builds(ast.ExpiresAfter, duration=durations),
        st.builds(ast.Sources, exclude=st.lists(texts, min_size=1, max_size=3).map(tuple)),
    ]
    if depth > 0:
        options.append(st.builds(ast.Where, condition=exprs(depth - 1)))
    return st.one_of(options)


def streams(depth: int) -> st.SearchStrategy[ast.EventStream]:
    return st.builds(
        ast.EventStream,
        name=names,
        filters=st.lists(filters(depth), max_size=3).map(tuple),
        source=st.sampled_from(("event", "entity")),
    )


@st.composite
def reducers(draw: st.DrawFn, depth: int) -> ast.Reducer:
    kind = draw(st.sampled_from(ast.REDUCERS))
    stream = draw(streams(depth))
    if kind == "count":
        return ast.Reducer(stream=stream, kind=kind)
    casts: tuple[ast.Cast | None, ...] = (None,)
    if kind in ("min", "max"):
        casts = (None, "number", "string")
    elif kind == "mode":
        casts = (None, "number", "string", "array")
    return ast.Reducer(
        stream=stream,
        kind=kind,
        arg=draw(reducer_args),
        cast=draw(st.sampled_from(casts)),
        min_count=draw(st.integers(0, 1000)) if kind == "mode" else None,
    )


def values(depth: int) -> st.SearchStrategy[ast.Value]:
    if depth <= 0:
        return simple_values
    return st.one_of(simple_values, reducers(depth))


def comparable(depth: int) -> st.SearchStrategy[ast.Value]:
    """Values that may stand on either side of a comparator (a unique() list may not)."""
    return values(depth).filter(lambda v: not (isinstance(v, ast.Reducer) and v.kind == "unique"))


@st.composite
def comparators(draw: st.DrawFn, depth: int) -> ast.Comparator:
    group = draw(st.sampled_from(sorted(_OPS_BY_ARGS)))
    op = draw(st.sampled_from(_OPS_BY_ARGS[group]))
    args: tuple[ast.Value | ast.Duration, ...]
    if group == "value":
        args = (draw(comparable(depth - 1)),)
    elif group == "none":
        args = ()
    elif group == "list":
        args = tuple(draw(st.lists(literals, min_size=1, max_size=3)))
    elif group == "one":
        args = (draw(literals),)
    else:
        args = (draw(durations),)
    return ast.Comparator(subject=draw(comparable(depth - 1)), op=op, args=args)


def exprs(depth: int) -> st.SearchStrategy[ast.Expr]:
    if depth <= 0:
        return st.one_of(comparators(0), simple_values)
    sub = exprs(depth - 1)
    operands = st.lists(sub, min_size=2, max_size=3).map(tuple)
    return st.one_of(
        comparators(depth),
        values(depth),
        st.builds(ast.And, operands=operands),
        st.builds(ast.Or, operands=operands),
        st.builds(ast.Not, operand=sub),
        st.builds(ast.Any, operand=sub),
        st.builds(ast.All, operand=sub),
    )


definitions = st.builds(
    ast.Definition,
    kind=st.sampled_from(("audience", "trait")),
    target=st.sampled_from(("users", "accounts")),
    body=exprs(3),
)

_SOUP = [
    "event('A')", "trait('t')", "property('p')", "property(parent: 'p')", "context('c')",
    "literal(1)", "entity('e')", ".", "(", ")", "[", "]", "{", "}", ",", ":", "'s'", '"d"',
    "1", "-2.5", ".5", "7 days", "1 hour", "2024-01-01", "=", "==", "!=", ">", ">=", "<", "<=",
    "AND", "OR", "NOT", "ANY", "ALL", "and", "not", "where", "within", "between", "sources",
    "expires_after", "count", "sum", "avg", "min", "max", "mode", "first", "last", "unique",
    "equals", "differs", "exists", "absent", "contains", "one_of", "none_of", "before_date",
    "within_last", "gte", "is_set", "parent", "as", "string", "exclude", "count()", "exists()",
    ".count()", ".within(7 days)", ".where(", "'", "\\", "\n", "#", "-", "days", "1e999",
]  # fmt: skip
token_soup = st.lists(st.sampled_from(_SOUP), max_size=30).flatmap(
    lambda parts: st.sampled_from(["", " "]).map(lambda sep: sep.join(parts))
)
