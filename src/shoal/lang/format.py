"""Canonical text of a definition: one line, current function names, infix comparisons.

``parse(format_definition(d)) == d`` for every tree the parser can produce (spans aside). The
formatter adds parentheses only where the grammar needs them: an ``OR`` inside an ``AND``, a
junction under ``NOT``/``ANY``/``ALL``, and a nested junction of the same kind (so that an
explicitly grouped ``(a AND b) AND c`` keeps its shape).
"""

from __future__ import annotations

from shoal.lang import ast

__all__ = ["format_definition", "format_expr", "format_literal", "quote"]


def quote(text: str) -> str:
    r"""Single-quoted string literal; backslashes and quotes are escaped.

    >>> quote("it's")
    "'it\\'s'"
    """
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def format_literal(value: str | int | float) -> str:
    """A bare literal as it appears on the right of a comparison."""
    if isinstance(value, str):
        return quote(value)
    # repr keeps every float digit and an exponent the tokenizer reads back (1e-05, 1e+20).
    return repr(value)


def _path(path: tuple[str, ...]) -> str:
    return quote(ast.join_path(path))


def _duration(duration: ast.Duration) -> str:
    unit = duration.unit[:-1] if duration.amount == 1 else duration.unit
    return f"{duration.amount} {unit}"


def _filter(flt: ast.Filter) -> str:
    if isinstance(flt, ast.Where):
        return f".where({format_expr(flt.condition)})"
    if isinstance(flt, ast.Sources):
        return ".sources({exclude: [" + ", ".join(quote(s) for s in flt.exclude) + "]})"
    parent = "parent: " if getattr(flt, "parent", False) else ""
    if isinstance(flt, ast.Within):
        return f".within({parent}{_duration(flt.duration)})"
    if isinstance(flt, ast.Between):
        return f".between({parent}{_duration(flt.start)}, {_duration(flt.end)})"
    return f".expires_after({_duration(flt.duration)})"


def _stream(stream: ast.EventStream) -> str:
    return f"{stream.source}({quote(stream.name)})" + "".join(_filter(f) for f in stream.filters)


def _reducer(node: ast.Reducer) -> str:
    head = _stream(node.stream)
    if node.kind == "count":
        return head + ".count()"
    assert node.arg is not None, "only count() has no argument"
    arg = _value(node.arg)
    if node.cast is not None:
        arg += f" as {node.cast}"
    if node.kind == "mode":
        arg += f", {node.min_count}"
    if node.kind == "unique_count":
        return f"{head}.unique({arg}).count()"
    return f"{head}.{node.kind}({arg})"


def _value(node: ast.Value) -> str:
    """A value at the start of a chain (a literal needs its ``literal(...)`` wrapper here)."""
    if isinstance(node, ast.Literal):
        return f"literal({format_literal(node.value)})"
    if isinstance(node, ast.TraitRef):
        return f"trait({_path((node.key, *node.path))})"
    if isinstance(node, ast.Property):
        return f"property({_path(node.path)})"
    if isinstance(node, ast.ParentRef):
        return f"property(parent: {_path(node.path)})"
    if isinstance(node, ast.ContextRef):
        return f"context({_path(node.path)})"
    return _reducer(node)


def _argument(arg: ast.Value | ast.Duration) -> str:
    if isinstance(arg, ast.Duration):
        return _duration(arg)
    if isinstance(arg, ast.Literal):
        return format_literal(arg.value)
    return _value(arg)


def _comparator(node: ast.Comparator) -> str:
    subject = _value(node.subject)
    infix = ast.INFIX.get(node.op)
    if infix is not None and len(node.args) == 1:
        return f"{subject} {infix} {_argument(node.args[0])}"
    return f"{subject}.{node.op}({', '.join(_argument(a) for a in node.args)})"


def _group(node: ast.Expr, parenthesize: bool) -> str:
    text = format_expr(node)
    return f"({text})" if parenthesize else text


def format_expr(node: ast.Expr) -> str:
    """Canonical text of one expression."""
    if isinstance(node, ast.Or):
        return " OR ".join(_group(op, isinstance(op, ast.Or)) for op in node.operands)
    if isinstance(node, ast.And):
        return " AND ".join(_group(op, isinstance(op, ast.And | ast.Or)) for op in node.operands)
    if isinstance(node, ast.Not | ast.Any | ast.All):
        keyword = type(node).__name__.upper()
        return f"{keyword} {_group(node.operand, isinstance(node.operand, ast.And | ast.Or))}"
    if isinstance(node, ast.Comparator):
        return _comparator(node)
    return _value(node)


def format_definition(definition: ast.Definition | ast.Expr) -> str:
    """Canonical text of a definition (its kind and target are not part of the text).

    >>> from shoal.lang.parser import parse
    >>> format_definition(parse("event('A').within(7 day).count()>=1 and trait('x').eq(\\"y\\")"))
    "event('A').within(7 days).count() >= 1 AND trait('x') = 'y'"
    """
    if isinstance(definition, ast.Definition):
        return format_expr(definition.body)
    return format_expr(definition)
