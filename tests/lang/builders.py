"""Short constructors for expected trees in tests."""

from __future__ import annotations

from shoal.lang import ast


def lit(value: str | int | float) -> ast.Literal:
    return ast.Literal(value=value)


def trait(key: str, *path: str) -> ast.TraitRef:
    return ast.TraitRef(key=key, path=path)


def prop(*path: str) -> ast.Property:
    return ast.Property(path=path)


def parent(*path: str) -> ast.ParentRef:
    return ast.ParentRef(path=path)


def ctx(*path: str) -> ast.ContextRef:
    return ast.ContextRef(path=path)


def dur(amount: int, unit: ast.Unit = "days") -> ast.Duration:
    return ast.Duration(amount=amount, unit=unit)


def event(name: str, *filters: ast.Filter) -> ast.EventStream:
    return ast.EventStream(name=name, filters=filters)


def count(stream: ast.EventStream) -> ast.Reducer:
    return ast.Reducer(stream=stream, kind="count")


def cmp(
    subject: ast.Value, op: ast.ComparatorOp, *args: ast.Value | ast.Duration
) -> ast.Comparator:
    return ast.Comparator(subject=subject, op=op, args=args)


def at_least(subject: ast.Value, value: int) -> ast.Comparator:
    return cmp(subject, "at_least", lit(value))
